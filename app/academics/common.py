"""What the academics modules share: who counts as staff and as a counselor, and the weekdays."""

from __future__ import annotations

from app.core.roles import Role

STAFF = (Role.ADMIN, Role.TEACHER, Role.COUNSELOR)


COUNSELLING = (Role.COUNSELOR, Role.ADMIN)  # who may be a student's counselor


WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
