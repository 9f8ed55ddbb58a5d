"""otp_codes and rate_events keep keyed hashes only (no phone, chat id, email or address)

Both tables are global (no RLS: they guard actions before anyone is known), so they must not
hold personal data. Their rows live minutes; the ones present are dropped rather than rehashed
(a code in flight has to be asked for again, a rate window starts over).

Revision ID: c1a5e0018e01
Revises: c1a5e0000010
Create Date: 2026-12-04 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "c1a5e0018e01"
down_revision: str | None = "c1a5e0000010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM otp_codes")
    op.execute("DELETE FROM rate_events")
    with op.batch_alter_table("otp_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_otp_codes_phone_key_created_at")
        batch_op.drop_column("phone_key")
        batch_op.drop_column("phone")
        batch_op.drop_column("chat_id")
        batch_op.add_column(
            sa.Column("phone_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False)
        )
        batch_op.add_column(
            sa.Column("chat_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False)
        )
        batch_op.create_index(
            "ix_otp_codes_phone_hash_created_at", ["phone_hash", "created_at"], unique=False
        )


def downgrade() -> None:
    op.execute("DELETE FROM otp_codes")
    with op.batch_alter_table("otp_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_otp_codes_phone_hash_created_at")
        batch_op.drop_column("chat_hash")
        batch_op.drop_column("phone_hash")
        batch_op.add_column(
            sa.Column("phone_key", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "phone",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column(
                "chat_id",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default="",
            )
        )
        batch_op.create_index(
            "ix_otp_codes_phone_key_created_at", ["phone_key", "created_at"], unique=False
        )
