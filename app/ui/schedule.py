"""A student's class in words, for My schedule and My dashboard: a cancelled or moved class says
so with the reason it was told ("Cancelled — reason", "Moved to Tue 10 Nov, 15:00 — reason"),
never as a status value; a held one shows the student's own mark."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from app.attendance.models import SessionStatus
from app.attendance.service import MyClass
from app.ui.safe import esc, markup

MARKS = {
    "present": ":green[present]",
    "late": ":orange[late]",
    "absent": ":red[absent]",
    "no_show": ":red[absent (no-show)]",
    "excused": ":gray[excused]",
}


def class_state(c: MyClass, tz: ZoneInfo) -> str:
    """Markdown for a class's state (the reason escaped), or "" when there is nothing to say."""
    why = f" — {esc(c.cancel_reason)}" if c.cancel_reason else ""
    if c.status == SessionStatus.RESCHEDULED:
        where = f"Moved to {c.moved_to.astimezone(tz):%a %d %b, %H:%M}" if c.moved_to else "Moved"
        return markup(f":orange[{where}") + why + "]"
    if not c.held:
        return markup(":red[Cancelled") + why + "]"
    if c.mark:
        return markup(MARKS.get(c.mark, "")) or esc(c.mark)
    if c.status == SessionStatus.MISSED:
        return markup(":gray[not taken]")
    return ""
