"""The same holiday cannot be entered twice

Issue 22. Two partial unique indexes: one holiday per day for the whole institute
(batch_id NULL), and one per day and batch. Rows that already repeat one (the service refused
them, but two admins at the same moment could both pass its check) are removed first, keeping
the earliest.

Revision ID: c1a5e0028e01
Revises: c1a5e0027e01
Create Date: 2026-12-05 05:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "c1a5e0028e01"
down_revision: str | None = "c1a5e0027e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT set_config('app.super', 'on', true)")  # every institute's rows
    op.execute(
        "DELETE FROM holidays WHERE id NOT IN (SELECT min(id) FROM holidays "
        "GROUP BY institute_id, date, coalesce(batch_id, 0))"
    )
    op.create_index(
        "uq_holidays_institute_id_date_all",
        "holidays",
        ["institute_id", "date"],
        unique=True,
        sqlite_where=sa.text("batch_id IS NULL"),
        postgresql_where=sa.text("batch_id IS NULL"),
    )
    op.create_index(
        "uq_holidays_institute_id_date_batch_id",
        "holidays",
        ["institute_id", "date", "batch_id"],
        unique=True,
        sqlite_where=sa.text("batch_id IS NOT NULL"),
        postgresql_where=sa.text("batch_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_holidays_institute_id_date_batch_id", table_name="holidays")
    op.drop_index("uq_holidays_institute_id_date_all", table_name="holidays")
