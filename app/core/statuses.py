"""Enumerations more than one domain shares."""

from __future__ import annotations

from enum import StrEnum


class RequestStatus(StrEnum):
    """Where a request stands that someone decides on: access, extra classes, badges."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class LabelledEnum(StrEnum):
    """A value that reads as words: "follow_up_scheduled" → "Follow up scheduled"."""

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()
