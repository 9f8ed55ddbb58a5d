"""institutes: when each billing term starts (per-term fee structures bill the term of a day)

Revision ID: c1a5e0000009
Revises: c1a5e0000008
Create Date: 2026-12-04 18:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "c1a5e0000009"
down_revision: str | None = "c1a5e0000008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("institutes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "term_starts",
                sqlmodel.sql.sqltypes.AutoString(length=60),
                nullable=False,
                server_default="01-01,07-01",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("institutes", schema=None) as batch_op:
        batch_op.drop_column("term_starts")
