"""What the attendance modules share: the messages a sheet or link answers with, and done statuses."""

from __future__ import annotations

from datetime import UTC, datetime

WINDOW_CLOSED = "Attendance window closed for this class."


LINK_INVALID = "This attendance link is not valid."


LINK_USED = "This attendance link was already used."


LINK_EXPIRED = "This attendance link has expired. Open the sheet from Today instead."


LINK_SUBSCRIPTION = (
    "This institute's subscription has ended, so this attendance link no longer works."
)


DONE_STATUSES = ("completed", "mastered")  # topic statuses that count as done


def aware_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
