"""What the badge modules share: who counts as staff, the parent kinds, credential ids."""

from __future__ import annotations

import secrets

from app.badges.models import (
    BadgeKind,
)
from app.core.roles import Role

STAFF = (Role.ADMIN, Role.TEACHER)


PARENT_KIND = {
    BadgeKind.PROGRAM: None,
    BadgeKind.SKILL: BadgeKind.PROGRAM,
    BadgeKind.CAPSTONE: BadgeKind.PROGRAM,
    BadgeKind.MINI: BadgeKind.SKILL,
}


REDACTED = "[redacted]"


def new_credential_id() -> str:
    """An unguessable public id for an award (256 bits of randomness)."""
    return secrets.token_urlsafe(32)
