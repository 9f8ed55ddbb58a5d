"""A learning material: a stored file (or a link) shared with a subject, a topic or a batch.

The file itself lives in the materials store under a random key; this row says who may see it.
`subject_id` is always filled (a topic's or a batch's subject too), so "what may a student see"
is one query: materials of their batches, and batch-less materials on their batches' subjects.
Soft delete sets `deleted_at`; the stored object stays until the cleanup job removes it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field

from app.core import clock, models_base  # noqa: F401  (naming convention first)
from app.core.models_base import InstituteRow, one_of


class MaterialKind(StrEnum):
    FILE = "file"
    LINK = "link"


class Material(InstituteRow, table=True):
    """One shared file or link, with its target and the facts checked when it was uploaded."""

    __tablename__ = "materials"
    __table_args__ = (
        Index("ix_materials_institute_id_subject_id", "institute_id", "subject_id"),
        Index("ix_materials_institute_id_batch_id", "institute_id", "batch_id"),
        Index("ix_materials_institute_id_deleted_at", "institute_id", "deleted_at"),
        UniqueConstraint("storage_key"),
        one_of("kind", MaterialKind),
        CheckConstraint(
            "(kind = 'file' AND storage_key IS NOT NULL AND url IS NULL) OR "
            "(kind = 'link' AND storage_key IS NULL AND url IS NOT NULL)",
            name="file_or_link",
        ),
    )

    uploaded_by: int | None = Field(default=None, foreign_key="users.id")
    kind: str = Field(max_length=10)
    title: str = Field(max_length=200)
    original_name: str | None = Field(default=None, max_length=255)
    url: str | None = Field(default=None, max_length=2000)
    size_bytes: int = Field(default=0)
    content_type: str | None = Field(default=None, max_length=120)
    sha256: str | None = Field(default=None, max_length=64)
    storage_key: str | None = Field(default=None, max_length=200)
    subject_id: int = Field(foreign_key="subjects.id")
    topic_id: int | None = Field(default=None, foreign_key="topics.id")
    batch_id: int | None = Field(default=None, foreign_key="batches.id")
    created_at: datetime = Field(default_factory=clock.now)
    deleted_at: datetime | None = Field(default=None)
    deleted_by: int | None = Field(default=None, foreign_key="users.id")
