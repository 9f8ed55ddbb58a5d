"""Domain errors: each carries a message a person can act on; pages show it as it is."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: the operation was refused and nothing was written."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    """The input is wrong; `field` names the form field when there is one."""


class PermissionDenied(DomainError):
    """The actor may not do this."""

    def __init__(self, message: str = "You do not have permission to do that.", **kw: Any) -> None:
        super().__init__(message, **kw)


class NotFound(DomainError):
    """The thing does not exist in the actor's institute."""


class Conflict(DomainError):
    """The operation clashes with the current state (duplicate, already done, limit reached)."""


class AccessRevoked(DomainError):
    """The signed-in person may no longer use the app (disabled, expired subscription)."""
