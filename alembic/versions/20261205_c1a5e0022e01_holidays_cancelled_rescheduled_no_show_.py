"""holidays, cancelled and rescheduled classes, no_show marks, extra class requests

Issue 22: an institute holiday calendar (one row per batch, or NULL for the whole institute),
class sessions that are `cancelled` or `rescheduled` (with the reason and the new session),
a `no_show` mark for one-to-one sessions, teachers' requests for an extra class, and the
institute rule that lets teachers add extra classes without an admin's approval.

Revision ID: c1a5e0022e01
Revises: c1a5e0020e01
Create Date: 2026-12-05 00:23:07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op
from app.core import rls

TENANT_TABLES: tuple[str, ...] = ("holidays", "extra_class_requests")

SESSION_STATUSES_OLD = "status IN ('scheduled', 'open', 'submitted', 'closed', 'missed')"
SESSION_STATUSES_NEW = (
    "status IN ('scheduled', 'open', 'submitted', 'closed', 'missed', 'cancelled', 'rescheduled')"
)
MARKS_OLD = "status IN ('present', 'absent', 'late', 'excused')"
MARKS_NEW = "status IN ('present', 'absent', 'late', 'excused', 'no_show')"

revision: str = "c1a5e0022e01"
down_revision: str | None = "c1a5e0020e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "holidays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institute_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_holidays_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_holidays_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["institute_id"], ["institutes.id"], name=op.f("fk_holidays_institute_id_institutes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holidays")),
    )
    with op.batch_alter_table("holidays", schema=None) as batch_op:
        batch_op.create_index(
            "ix_holidays_institute_id_date", ["institute_id", "date"], unique=False
        )

    op.create_table(
        "extra_class_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institute_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("decision_note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')",
            name=op.f("ck_extra_class_requests_status"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_extra_class_requests_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_extra_class_requests_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["institute_id"],
            ["institutes.id"],
            name=op.f("fk_extra_class_requests_institute_id_institutes"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_extra_class_requests_requested_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["class_sessions.id"],
            name=op.f("fk_extra_class_requests_session_id_class_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extra_class_requests")),
    )
    with op.batch_alter_table("extra_class_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_extra_class_requests_institute_id_status", ["institute_id", "status"], unique=False
        )

    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cancel_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
        batch_op.add_column(sa.Column("rescheduled_to_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_class_sessions_rescheduled_to_id_class_sessions"),
            "class_sessions",
            ["rescheduled_to_id"],
            ["id"],
        )
        batch_op.drop_constraint(op.f("ck_class_sessions_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_class_sessions_status"), SESSION_STATUSES_NEW)

    with op.batch_alter_table("attendance_records", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_attendance_records_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_attendance_records_status"), MARKS_NEW)

    with op.batch_alter_table("institutes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "teachers_add_classes", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )

    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            for statement in rls.enable_rls(table):
                op.execute(statement)


def downgrade() -> None:
    # The old schema knows neither state nor mark: a class not held reads as closed without
    # marks ("not taken"), a no-show as absent.
    op.execute("UPDATE attendance_records SET status = 'absent' WHERE status = 'no_show'")
    op.execute(
        "UPDATE class_sessions SET status = 'closed' WHERE status IN ('cancelled', 'rescheduled')"
    )
    with op.batch_alter_table("institutes", schema=None) as batch_op:
        batch_op.drop_column("teachers_add_classes")

    with op.batch_alter_table("attendance_records", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_attendance_records_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_attendance_records_status"), MARKS_OLD)

    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_class_sessions_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_class_sessions_status"), SESSION_STATUSES_OLD)
        batch_op.drop_constraint(
            batch_op.f("fk_class_sessions_rescheduled_to_id_class_sessions"), type_="foreignkey"
        )
        batch_op.drop_column("rescheduled_to_id")
        batch_op.drop_column("cancel_reason")

    with op.batch_alter_table("extra_class_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_extra_class_requests_institute_id_status")
    op.drop_table("extra_class_requests")
    with op.batch_alter_table("holidays", schema=None) as batch_op:
        batch_op.drop_index("ix_holidays_institute_id_date")
    op.drop_table("holidays")
