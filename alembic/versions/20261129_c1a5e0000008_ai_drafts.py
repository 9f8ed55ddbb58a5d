"""AI drafting log

Revision ID: c1a5e0000008
Revises: c1a5e0000007
Create Date: 2026-11-29 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op
from app.core import rls

TENANT_TABLES: tuple[str, ...] = ("ai_drafts",)


revision: str = "c1a5e0000008"
down_revision: str | None = "c1a5e0000007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ai_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institute_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("raw_output", sa.Text(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("content", sa.JSON(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("homework_id", sa.Integer(), nullable=True),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("saved_text", sa.Text(), nullable=True),
        sa.Column("saved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('homework', 'quiz')", name=op.f("ck_ai_drafts_kind")),
        sa.CheckConstraint("duration_ms >= 0", name=op.f("ck_ai_drafts_duration_ms")),
        sa.CheckConstraint(
            "homework_id IS NULL OR assessment_id IS NULL", name=op.f("ck_ai_drafts_one_target")
        ),
        sa.CheckConstraint("questions > 0", name=op.f("ck_ai_drafts_questions")),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_ai_drafts_assessment_id_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_ai_drafts_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["homework_id"], ["homework.id"], name=op.f("fk_ai_drafts_homework_id_homework")
        ),
        sa.ForeignKeyConstraint(
            ["institute_id"], ["institutes.id"], name=op.f("fk_ai_drafts_institute_id_institutes")
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name=op.f("fk_ai_drafts_topic_id_topics")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_ai_drafts_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_drafts")),
    )
    with op.batch_alter_table("ai_drafts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ai_drafts_institute_id_created_at", ["institute_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_ai_drafts_institute_id_user_id_id",
            ["institute_id", "user_id", "id"],
            unique=False,
        )

    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            for statement in rls.enable_rls(table):
                op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("ai_drafts", schema=None) as batch_op:
        batch_op.drop_index("ix_ai_drafts_institute_id_user_id_id")
        batch_op.drop_index("ix_ai_drafts_institute_id_created_at")

    op.drop_table("ai_drafts")
