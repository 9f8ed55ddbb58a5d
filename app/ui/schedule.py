"""How a student's class that is not held reads, on My schedule and My dashboard."""

from __future__ import annotations

from typing import Any

from app.attendance.models import SessionStatus
from app.ui.safe import esc


def not_held_words(c: Any) -> str:
    """ ":red[cancelled] — reason" or ":red[moved] — reason" for a class not held, else ""."""
    if c.held:
        return ""
    word = "moved" if c.status == SessionStatus.RESCHEDULED else "cancelled"
    return f":red[{word}]" + (f" — {esc(c.cancel_reason)}" if c.cancel_reason else "")
