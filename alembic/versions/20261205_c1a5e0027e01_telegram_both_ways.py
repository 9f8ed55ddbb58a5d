"""Telegram both ways: link codes, updates received once, buttons and files on messages

Issue 23. `telegram_link_codes` holds the hash of each single-use code in a deep link
(t.me/<bot>?start=<code>) that links a user's or a guardian's chat; `telegram_updates` keeps
each update by Telegram's update_id so it is processed once (global: updates come before
anyone is known). Queued messages gain `buttons` (signed for the chat at delivery) and an
`attachment` built at delivery (the report card PDF). Chats are looked up by their id.

Revision ID: c1a5e0027e01
Revises: c1a5e0025e01
Create Date: 2026-12-05 04:37:21
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op
from app.core import rls

revision: str = "c1a5e0027e01"
down_revision: str | None = "c1a5e0025e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telegram_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("processed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_telegram_updates")),
    )
    op.create_index(
        "ix_telegram_updates_processed_at", "telegram_updates", ["processed_at"], unique=False
    )
    op.create_table(
        "telegram_link_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institute_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("guardian_id", sa.Integer(), nullable=True),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_telegram_link_codes_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["guardian_id"],
            ["guardians.id"],
            name=op.f("fk_telegram_link_codes_guardian_id_guardians"),
        ),
        sa.ForeignKeyConstraint(
            ["institute_id"],
            ["institutes.id"],
            name=op.f("fk_telegram_link_codes_institute_id_institutes"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_telegram_link_codes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_link_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_telegram_link_codes_code_hash")),
    )
    op.create_index(
        "ix_telegram_link_codes_institute_id_created_at",
        "telegram_link_codes",
        ["institute_id", "created_at"],
        unique=False,
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buttons", sa.JSON(none_as_null=True), nullable=True))
        batch_op.add_column(
            sa.Column("attachment", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )
    op.create_index("ix_users_telegram_chat_id", "users", ["telegram_chat_id"], unique=False)
    op.create_index(
        "ix_guardians_telegram_chat_id", "guardians", ["telegram_chat_id"], unique=False
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in rls.enable_rls("telegram_link_codes"):
            op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_guardians_telegram_chat_id", table_name="guardians")
    op.drop_index("ix_users_telegram_chat_id", table_name="users")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("attachment")
        batch_op.drop_column("buttons")
    op.drop_index(
        "ix_telegram_link_codes_institute_id_created_at", table_name="telegram_link_codes"
    )
    op.drop_table("telegram_link_codes")
    op.drop_index("ix_telegram_updates_processed_at", table_name="telegram_updates")
    op.drop_table("telegram_updates")
