"""payments: what the student still owed right after the payment (shown on the receipt)

Revision ID: c1a5e0000010
Revises: c1a5e0000009
Create Date: 2026-12-04 19:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "c1a5e0000010"
down_revision: str | None = "c1a5e0000009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owed_after_minor", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("owed_after_minor")
