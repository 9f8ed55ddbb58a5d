"""What the academics modules share: who counts as staff and as a counselor, and the weekdays."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from app.academics.models import BatchMembership
from app.core import clock
from app.core.roles import Role
from app.identity.models import Institute

STAFF = (Role.ADMIN, Role.TEACHER, Role.COUNSELOR)


COUNSELLING = (Role.COUNSELOR, Role.ADMIN)  # who may be a student's counselor


WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def local_today_internal(session: Session, institute_id: int) -> date:
    """Today in the institute's timezone."""
    institute = session.get(Institute, institute_id)
    return clock.today_in(institute.timezone if institute else "UTC")


def current_members(institute_id: int, batch_id: int) -> Any:
    """The batch's current members (membership not ended), as a subquery-ready select."""
    return select(BatchMembership.student_id).where(
        BatchMembership.institute_id == institute_id,
        BatchMembership.batch_id == batch_id,
        col(BatchMembership.left_on).is_(None),
    )
