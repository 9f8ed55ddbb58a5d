"""learning materials

Revision ID: c1a5e0000006
Revises: c1a5e0000005
Create Date: 2026-11-29 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op
from app.core import rls

TENANT_TABLES: tuple[str, ...] = ("materials",)


revision: str = "c1a5e0000006"
down_revision: str | None = "c1a5e0000005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "materials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institute_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("original_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("storage_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("deleted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("deleted_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(kind = 'file' AND storage_key IS NOT NULL AND url IS NULL) OR "
            "(kind = 'link' AND storage_key IS NULL AND url IS NOT NULL)",
            name=op.f("ck_materials_file_or_link"),
        ),
        sa.CheckConstraint("kind IN ('file', 'link')", name=op.f("ck_materials_kind")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_materials_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["deleted_by"], ["users.id"], name=op.f("fk_materials_deleted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["institute_id"], ["institutes.id"], name=op.f("fk_materials_institute_id_institutes")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_materials_subject_id_subjects")
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name=op.f("fk_materials_topic_id_topics")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["users.id"], name=op.f("fk_materials_uploaded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_materials")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_materials_storage_key")),
    )
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.create_index(
            "ix_materials_institute_id_batch_id", ["institute_id", "batch_id"], unique=False
        )
        batch_op.create_index(
            "ix_materials_institute_id_deleted_at", ["institute_id", "deleted_at"], unique=False
        )
        batch_op.create_index(
            "ix_materials_institute_id_subject_id", ["institute_id", "subject_id"], unique=False
        )

    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            for statement in rls.enable_rls(table):
                op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.drop_index("ix_materials_institute_id_subject_id")
        batch_op.drop_index("ix_materials_institute_id_deleted_at")
        batch_op.drop_index("ix_materials_institute_id_batch_id")

    op.drop_table("materials")
