"""job_institute_runs: which institutes a per-institute job has done for a period

A per-institute job records each institute it finished, in that institute's own transaction, so
one institute's failure no longer skips the rest for the period, and a rerun of the period
retries only the institutes not done.

Revision ID: c1a5e0020e01
Revises: c1a5e0018e01
Create Date: 2026-12-04 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op
from app.core import rls

TENANT_TABLES: tuple[str, ...] = ("job_institute_runs",)

revision: str = "c1a5e0020e01"
down_revision: str | None = "c1a5e0018e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_institute_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institute_id", sa.Integer(), nullable=False),
        sa.Column("job", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["institute_id"],
            ["institutes.id"],
            name=op.f("fk_job_institute_runs_institute_id_institutes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_institute_runs")),
        sa.UniqueConstraint(
            "job",
            "period",
            "institute_id",
            name=op.f("uq_job_institute_runs_job_period_institute_id"),
        ),
    )
    with op.batch_alter_table("job_institute_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_job_institute_runs_institute_id"), ["institute_id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            for statement in rls.enable_rls(table):
                op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("job_institute_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_institute_runs_institute_id"))
    op.drop_table("job_institute_runs")
