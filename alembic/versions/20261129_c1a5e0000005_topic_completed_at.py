"""topic progress: when a topic was first completed

Revision ID: c1a5e0000005
Revises: c1a5e0000004
Create Date: 2026-11-29 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "c1a5e0000005"
down_revision: str | None = "c1a5e0000004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("topic_progress", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("completed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    # Rows done before this column existed: their last class is the best date there is.
    op.execute(
        "UPDATE topic_progress SET completed_at = last_session_at "
        "WHERE status IN ('completed', 'mastered')"
    )


def downgrade() -> None:
    with op.batch_alter_table("topic_progress", schema=None) as batch_op:
        batch_op.drop_column("completed_at")
