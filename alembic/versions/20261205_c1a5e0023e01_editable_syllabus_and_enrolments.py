"""an editable syllabus and enrolments with a life

Subjects and topics can be archived (hidden from pickers, kept for the attendance and marks that
name them); a subject's code is unique per institute (stored in capitals); a topic has
objectives. An enrolment has a teacher, a status checked to active / paused / dropped /
completed, the day and reason of its last status change and its completion day. Students in a
batch with no enrolment in the batch's subject get one (joining a batch now creates it).

Revision ID: c1a5e0023e01
Revises: c1a5e0022e01
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "c1a5e0023e01"
down_revision: str | None = "c1a5e0022e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The data fixes below touch every institute's rows (row-level security is forced).
        op.execute("SELECT set_config('app.super', 'on', true)")

    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("archived_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    # Codes in capitals, blanks none; a code repeated in an institute keeps its first subject
    # and the others get their id appended, so the unique index can be built.
    op.execute("UPDATE subjects SET code = NULL WHERE code IS NOT NULL AND TRIM(code) = ''")
    op.execute("UPDATE subjects SET code = UPPER(TRIM(code)) WHERE code IS NOT NULL")
    op.execute(
        "UPDATE subjects SET code = SUBSTR(code, 1, 12) || '-' || CAST(id AS VARCHAR(8)) "
        "WHERE id IN (SELECT s.id FROM subjects s JOIN subjects o ON o.institute_id = "
        "s.institute_id AND o.code = s.code AND o.id < s.id)"
    )
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.create_index(
            "uq_subjects_institute_id_code",
            ["institute_id", "code"],
            unique=True,
            sqlite_where=sa.text("code IS NOT NULL"),
            postgresql_where=sa.text("code IS NOT NULL"),
        )

    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("objectives", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True)
        )
        batch_op.add_column(
            sa.Column("archived_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )

    op.execute(
        "UPDATE enrollments SET status = 'active' "
        "WHERE status NOT IN ('active', 'paused', 'dropped', 'completed')"
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("teacher_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("status_changed_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("status_reason", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True)
        )
        batch_op.add_column(sa.Column("completed_on", sa.Date(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_enrollments_teacher_user_id_users"), "users", ["teacher_user_id"], ["id"]
        )
        batch_op.create_check_constraint(
            op.f("ck_enrollments_status"),
            "status IN ('active', 'paused', 'dropped', 'completed')",
        )
    # Current members without an enrolment in their batch's subject get one, as a join now makes.
    op.execute(
        "INSERT INTO enrollments (institute_id, student_id, subject_id, started_on, "
        "completion_pct, status, teacher_user_id) "
        "SELECT m.institute_id, m.student_id, b.subject_id, MIN(m.joined_on), 0, 'active', "
        "MIN(b.teacher_user_id) "
        "FROM batch_memberships m JOIN batches b ON b.id = m.batch_id "
        "WHERE m.left_on IS NULL AND NOT EXISTS (SELECT 1 FROM enrollments e "
        "WHERE e.institute_id = m.institute_id AND e.student_id = m.student_id "
        "AND e.subject_id = b.subject_id) "
        "GROUP BY m.institute_id, m.student_id, b.subject_id"
    )


def downgrade() -> None:
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_enrollments_status"), type_="check")
        batch_op.drop_constraint(op.f("fk_enrollments_teacher_user_id_users"), type_="foreignkey")
        batch_op.drop_column("completed_on")
        batch_op.drop_column("status_reason")
        batch_op.drop_column("status_changed_on")
        batch_op.drop_column("teacher_user_id")
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
        batch_op.drop_column("objectives")
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.drop_index("uq_subjects_institute_id_code")
        batch_op.drop_column("archived_at")
