"""Access requests match a phone number exactly (E.164), no longer by its last ten digits

Issue 20. The public access form now reads a national number in the chosen institute's region
(it used the deployment's default region, so a UK institute's "07400 123456" became an Indian
number) and finds a pending request of the same person by the E.164 number itself, as every
other part of Cohort does. `phone_key` (the last ten digits) and its index go; an index on the
number replaces it.

Revision ID: c1a5e0029e01
Revises: c1a5e0028e01
Create Date: 2026-12-05 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "c1a5e0029e01"
down_revision: str | None = "c1a5e0028e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_access_requests_institute_id_phone_key")
        batch_op.drop_column("phone_key")
        batch_op.create_index("ix_access_requests_institute_id_phone", ["institute_id", "phone"])


def downgrade() -> None:
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_access_requests_institute_id_phone")
        batch_op.add_column(
            sa.Column("phone_key", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.create_index(
            "ix_access_requests_institute_id_phone_key", ["institute_id", "phone_key"]
        )
    last_ten = "substr(replace(phone, '+', ''), -10)"
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT set_config('app.super', 'on', true)")  # every institute's rows
        last_ten = "right(replace(phone, '+', ''), 10)"
    op.execute(f"UPDATE access_requests SET phone_key = {last_ten} WHERE phone IS NOT NULL")
