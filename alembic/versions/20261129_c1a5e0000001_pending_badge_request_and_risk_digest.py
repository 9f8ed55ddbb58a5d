"""one pending badge request per student and badge; risk profile digest

Revision ID: c1a5e0000001
Revises: 7126f3cd0fb8
Create Date: 2026-11-29 17:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "c1a5e0000001"
down_revision: str | None = "7126f3cd0fb8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("student_risk_profiles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
    # Earlier duplicates (two pending requests for one badge) are closed before the index.
    op.execute(
        "UPDATE badge_requests SET status = 'rejected', reason = 'Duplicate of an earlier request.' "
        "WHERE status = 'pending' AND id NOT IN (SELECT min(id) FROM badge_requests "
        "WHERE status = 'pending' GROUP BY institute_id, student_id, badge_id)"
    )
    with op.batch_alter_table("badge_requests", schema=None) as batch_op:
        batch_op.create_index(
            "uq_badge_requests_one_pending",
            ["institute_id", "student_id", "badge_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("badge_requests", schema=None) as batch_op:
        batch_op.drop_index("uq_badge_requests_one_pending")
    with op.batch_alter_table("student_risk_profiles", schema=None) as batch_op:
        batch_op.drop_column("digest")
