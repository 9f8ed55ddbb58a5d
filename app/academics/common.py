"""What the academics modules share: who counts as staff and as a counselor, and the weekdays."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

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
