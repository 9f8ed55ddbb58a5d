"""Badges react at once to a class's attendance and to marks (app.core.events): the rules
those may now meet are evaluated for those students, not overnight."""

from __future__ import annotations

from app.badges import rules
from app.core import events


def _after_attendance(session, event: events.AttendanceSubmitted) -> dict:
    return rules.after_attendance_internal(
        session, institute_id=event.institute_id, student_ids=set(event.student_ids)
    )


def _after_marks(session, event: events.MarksEntered) -> dict:
    return rules.after_marks_internal(
        session, institute_id=event.institute_id, student_ids=set(event.student_ids)
    )


events.subscribe(events.AttendanceSubmitted, "badges", _after_attendance)
events.subscribe(events.MarksEntered, "badges", _after_marks)
