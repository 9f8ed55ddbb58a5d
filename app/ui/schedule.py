"""A student's class in words: cancelled or moved classes say so (with the reason and where a
moved class went) rather than showing a status value. Used by My schedule and My dashboard."""

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
    """Markdown for a class's state (escaped where it carries a reason), "" when nothing to say."""
    if c.status == SessionStatus.CANCELLED:
        return markup(":red[Cancelled") + (f" — {esc(c.reason)}" if c.reason else "") + "]"
    if c.status == SessionStatus.RESCHEDULED:
        where = f"Moved to {c.moved_to.astimezone(tz):%a %d %b, %H:%M}" if c.moved_to else "Moved"
        return markup(f":orange[{where}") + (f" — {esc(c.reason)}" if c.reason else "") + "]"
    if c.mark:
        return markup(MARKS.get(c.mark, "")) or esc(c.mark)
    if c.status == SessionStatus.MISSED:
        return markup(":gray[not taken]")
    return ""
