"""guardians choose whether they get the monthly progress report; inquiries auto-assigned

Issue 22. Reports home: each guardian with a Telegram chat gets a monthly progress summary of
their student unless they opted out; `guardians.progress_reports` is that choice (on by
default). CRM: with `institutes.auto_assign_inquiries` on, a new inquiry nobody took goes to
the counselor with the fewest open inquiries (off by default). Feedback: students also rate a
subject, the institute or its facilities. Homework: students hand in text and files
(`hand_in_files`, in the materials storage) until it is marked.

Revision ID: c1a5e0025e01
Revises: c1a5e0024e01
Create Date: 2026-12-05 01:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op
from app.core import rls

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
    with op.batch_alter_table("homework_submissions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hand_in_text", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True)
        )
        batch_op.add_column(
            sa.Column("handed_in_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("hand_ins", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "hand_in_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institute_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("original_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("storage_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("uploaded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institute_id"],
            ["institutes.id"],
            name=op.f("fk_hand_in_files_institute_id_institutes"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["homework_submissions.id"],
            name=op.f("fk_hand_in_files_submission_id_homework_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hand_in_files")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_hand_in_files_storage_key")),
    )
    op.create_index(
        "ix_hand_in_files_institute_id_submission_id",
        "hand_in_files",
        ["institute_id", "submission_id"],
        unique=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in rls.enable_rls("hand_in_files"):
            op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_hand_in_files_institute_id_submission_id", table_name="hand_in_files")
    op.drop_table("hand_in_files")
    with op.batch_alter_table("homework_submissions", schema=None) as batch_op:
        batch_op.drop_column("hand_ins")
        batch_op.drop_column("handed_in_at")
        batch_op.drop_column("hand_in_text")
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
