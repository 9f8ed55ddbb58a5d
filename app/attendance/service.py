"""Class sessions and attendance: generation from schedules, the lifecycle, the sheet, the submit.

Lifecycle: scheduled → open (ATTENDANCE_OPEN_BEFORE_MINUTES before the start) → submitted →
closed (class end + ATTENDANCE_AUTO_CLOSE_GRACE_MINUTES); a session nobody submitted by then
becomes missed and opens a `missed_session` action. Closed and missed sessions refuse marks
with "Attendance window closed for this class."; an admin can reopen one.

A submission bumps the session's version with a conditional UPDATE, so of two people submitting
the same sheet at once exactly one wins and the other is told who did. The post-class pipeline
runs in the same transaction, once per submission.

This module gathers the subdomain modules' names (`app.attendance.common`,
`app.attendance.lifecycle`, `app.attendance.pipeline`, `app.attendance.schedule`,
`app.attendance.sheet`, `app.attendance.student`, `app.attendance.calendar` (holidays,
cancelling and moving a class), `app.attendance.holidays`, `app.attendance.completion`) so
callers keep one import.

Classes not held (`cancelled`, `rescheduled`) keep their rows and never count in attendance,
risk, utilization or the missed-class job; a no-show (one-to-one sessions) counts as absent."""

from __future__ import annotations

from app.attendance.calendar import (
    HELD,
    HolidayRow,
    add_holiday,
    cancel_session,
    list_holidays,
    remove_holiday,
    reschedule_session,
    tell_class_internal,
)
from app.attendance.common import (
    DONE_STATUSES,
    LINK_EXPIRED,
    LINK_INVALID,
    LINK_SUBSCRIPTION,
    LINK_USED,
    WINDOW_CLOSED,
    aware_utc,
)
from app.attendance.completion import enrolment_completion_internal
from app.attendance.extra import (
    ExtraClassRow,
    decide_extra_class,
    decide_extra_class_for_action,
    my_extra_class_requests,
    request_extra_class,
    set_teachers_add_classes,
    teachers_add_classes,
)
from app.attendance.holidays import holiday_map_internal, is_holiday
from app.attendance.lifecycle import (
    NOT_HELD_MESSAGE,
    auto_close,
    live_status,
    reopen_session,
)
from app.attendance.pipeline import (
    ASSESSMENT_WEIGHT,
    apply_assessment_internal,
    post_class_pipeline,
)
from app.attendance.schedule import (
    create_adhoc_session,
    generate_for,
    generate_sessions_internal,
    new_session_internal,
)
from app.attendance.sheet import (
    STUDENT_NOTE_MAX,
    SessionCard,
    Sheet,
    attendance_sheet,
    create_link,
    deliver_link,
    link_url,
    open_link,
    sessions_for_day,
    submit_attendance,
)
from app.attendance.student import (
    PLANNED,
    AttendanceTally,
    ClassSlot,
    MyAttendance,
    MyClass,
    MyMark,
    calendar_ics,
    classes_between_internal,
    mark_sums,
    my_attendance,
    my_calendar_ics,
    my_sessions,
    session_mark_counts,
)

__all__ = [
    "ExtraClassRow",
    "decide_extra_class",
    "decide_extra_class_for_action",
    "my_extra_class_requests",
    "request_extra_class",
    "set_teachers_add_classes",
    "teachers_add_classes",
    "HELD",
    "HolidayRow",
    "NOT_HELD_MESSAGE",
    "add_holiday",
    "cancel_session",
    "holiday_map_internal",
    "is_holiday",
    "list_holidays",
    "new_session_internal",
    "remove_holiday",
    "reschedule_session",
    "tell_class_internal",
    "ASSESSMENT_WEIGHT",
    "AttendanceTally",
    "ClassSlot",
    "DONE_STATUSES",
    "LINK_EXPIRED",
    "LINK_INVALID",
    "LINK_SUBSCRIPTION",
    "LINK_USED",
    "MyAttendance",
    "MyClass",
    "MyMark",
    "PLANNED",
    "SessionCard",
    "Sheet",
    "WINDOW_CLOSED",
    "enrolment_completion_internal",
    "apply_assessment_internal",
    "attendance_sheet",
    "auto_close",
    "aware_utc",
    "calendar_ics",
    "classes_between_internal",
    "create_adhoc_session",
    "create_link",
    "deliver_link",
    "generate_for",
    "generate_sessions_internal",
    "link_url",
    "live_status",
    "my_attendance",
    "my_calendar_ics",
    "my_sessions",
    "open_link",
    "post_class_pipeline",
    "reopen_session",
    "mark_sums",
    "session_mark_counts",
    "sessions_for_day",
    "STUDENT_NOTE_MAX",
    "submit_attendance",
]
