"""Risk profiles leave room on each page for their own rewrites

Issue 17. The risk job rewrites every profile whenever the settings or the engine change (and
many of them whenever facts move). On PostgreSQL an update writes a new row version; with a
fill factor of 60 the new version fits on the same page and no index changes (a heap-only
update), so a full rewrite of 15,000 profiles costs about half as much. Existing pages keep
their layout until rewritten (a VACUUM FULL by an operator rewrites them at once). SQLite has no
such setting: nothing changes there.

Revision ID: c1a5e0030e01
Revises: c1a5e0029e01
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c1a5e0030e01"
down_revision: str | None = "c1a5e0029e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE student_risk_profiles SET (fillfactor = 60)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE student_risk_profiles RESET (fillfactor)")
