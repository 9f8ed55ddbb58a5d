"""Enumerations more than one domain shares."""

from __future__ import annotations

from enum import StrEnum


class RequestStatus(StrEnum):
    """Where a request someone decides on stands: access, extra classes, badges."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
