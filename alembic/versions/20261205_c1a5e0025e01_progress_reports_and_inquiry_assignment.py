"""guardians choose whether they get the monthly progress report; inquiries auto-assigned

Issue 22. Reports home: each guardian with a Telegram chat gets a monthly progress summary of
their student unless they opted out; `guardians.progress_reports` is that choice (on by
default). CRM: with `institutes.auto_assign_inquiries` on, a new inquiry nobody took goes to
the counselor with the fewest open inquiries (off by default).

Revision ID: c1a5e0025e01
Revises: c1a5e0024e01
Create Date: 2026-12-05 01:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "c1a5e0025e01"
down_revision: str | None = "c1a5e0024e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("guardians", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("progress_reports", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    with op.batch_alter_table("institutes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "auto_assign_inquiries", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("institutes", schema=None) as batch_op:
        batch_op.drop_column("auto_assign_inquiries")
    with op.batch_alter_table("guardians", schema=None) as batch_op:
        batch_op.drop_column("progress_reports")
