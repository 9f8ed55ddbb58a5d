"""guardians choose whether they get the monthly progress report; inquiries auto-assigned

Issue 22. Reports home: each guardian with a Telegram chat gets a monthly progress summary of
their student unless they opted out; `guardians.progress_reports` is that choice (on by
default). CRM: with `institutes.auto_assign_inquiries` on, a new inquiry nobody took goes to
the counselor with the fewest open inquiries (off by default). Feedback: students also rate a
subject, the institute or its facilities.

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

FEEDBACK_TYPES_OLD = "feedback_type IN ('session', 'faculty')"
FEEDBACK_TYPES_NEW = "feedback_type IN ('session', 'faculty', 'subject', 'institute', 'facility')"


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
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_feedback_feedback_type"), type_="check")
        batch_op.create_check_constraint(op.f("ck_feedback_feedback_type"), FEEDBACK_TYPES_NEW)


def downgrade() -> None:
    # Feedback of the new kinds has nowhere to go in the old schema (every institute's rows:
    # row-level security would hide them from a plain session).
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT set_config('app.super', 'on', true)")
    op.execute("DELETE FROM feedback WHERE feedback_type IN ('subject', 'institute', 'facility')")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_feedback_feedback_type"), type_="check")
        batch_op.create_check_constraint(op.f("ck_feedback_feedback_type"), FEEDBACK_TYPES_OLD)
    with op.batch_alter_table("institutes", schema=None) as batch_op:
        batch_op.drop_column("auto_assign_inquiries")
    with op.batch_alter_table("guardians", schema=None) as batch_op:
        batch_op.drop_column("progress_reports")
