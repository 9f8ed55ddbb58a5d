"""ops desk: chat history per user

Revision ID: c1a5e0000004
Revises: c1a5e0000003
Create Date: 2026-11-29 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op
from app.core import rls

TENANT_TABLES: tuple[str, ...] = ("ops_desk_messages",)


revision: str = "c1a5e0000004"
down_revision: str | None = "c1a5e0000003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ops_desk_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institute_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("intent", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=8000), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("acted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("author IN ('user', 'desk')", name=op.f("ck_ops_desk_messages_author")),
        sa.CheckConstraint(
            "kind IN ('request', 'preview', 'question', 'answer', 'result', 'error', 'model')",
            name=op.f("ck_ops_desk_messages_kind"),
        ),
        sa.CheckConstraint(
            "status IS NULL OR status IN ('pending', 'done', 'cancelled', 'failed', 'expired', 'open', 'answered')",
            name=op.f("ck_ops_desk_messages_status"),
        ),
        sa.ForeignKeyConstraint(
            ["institute_id"],
            ["institutes.id"],
            name=op.f("fk_ops_desk_messages_institute_id_institutes"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ops_desk_messages_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_desk_messages")),
    )
    with op.batch_alter_table("ops_desk_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ops_desk_messages_institute_id_user_id_id",
            ["institute_id", "user_id", "id"],
            unique=False,
        )

    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            for statement in rls.enable_rls(table):
                op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("ops_desk_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_ops_desk_messages_institute_id_user_id_id")

    op.drop_table("ops_desk_messages")
