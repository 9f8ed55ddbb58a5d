"""a holiday once per day (whole institute, or per batch); classes remember the holiday that
cancelled them

Issue 22. Two admins (or one double click) could enter the same holiday twice; two partial
unique indexes now refuse it: (institute, date) where the holiday is for the whole institute,
(institute, date, batch) where it is for one batch. Repeats already stored are removed first
(the oldest row stays). `class_sessions.holiday_id` links a class to the holiday that cancelled
it, so removing the holiday puts exactly those classes back on; it is filled for classes already
cancelled by a holiday (their reason reads "Holiday: <name>").

Revision ID: c1a5e0022e02
Revises: c1a5e0025e01
Create Date: 2026-12-05 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "c1a5e0022e02"
down_revision: str | None = "c1a5e0025e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Data fixes see every institute's rows (row-level security is forced on these tables).
        op.execute("SELECT set_config('app.super', 'on', true)")
    op.execute(
        """
        DELETE FROM holidays WHERE EXISTS (
            SELECT 1 FROM holidays AS older
            WHERE older.institute_id = holidays.institute_id
              AND older.date = holidays.date
              AND (older.batch_id = holidays.batch_id
                   OR (older.batch_id IS NULL AND holidays.batch_id IS NULL))
              AND older.id < holidays.id
        )
        """
    )
    with op.batch_alter_table("holidays", schema=None) as batch_op:
        batch_op.create_index(
            "uq_holidays_institute_id_date_all",
            ["institute_id", "date"],
            unique=True,
            sqlite_where=sa.text("batch_id IS NULL"),
            postgresql_where=sa.text("batch_id IS NULL"),
        )
        batch_op.create_index(
            "uq_holidays_institute_id_date_batch_id",
            ["institute_id", "date", "batch_id"],
            unique=True,
            sqlite_where=sa.text("batch_id IS NOT NULL"),
            postgresql_where=sa.text("batch_id IS NOT NULL"),
        )
    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holiday_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_class_sessions_holiday_id_holidays"), "holidays", ["holiday_id"], ["id"]
        )
    op.execute(
        """
        UPDATE class_sessions SET holiday_id = (
            SELECT min(h.id) FROM holidays AS h
            WHERE h.institute_id = class_sessions.institute_id
              AND h.date = class_sessions.date
              AND (h.batch_id IS NULL OR h.batch_id = class_sessions.batch_id)
              AND class_sessions.cancel_reason = 'Holiday: ' || h.name
        )
        WHERE status = 'cancelled' AND cancel_reason LIKE 'Holiday: %'
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_class_sessions_holiday_id_holidays"), type_="foreignkey"
        )
        batch_op.drop_column("holiday_id")
    with op.batch_alter_table("holidays", schema=None) as batch_op:
        batch_op.drop_index("uq_holidays_institute_id_date_batch_id")
        batch_op.drop_index("uq_holidays_institute_id_date_all")
