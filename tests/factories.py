"""Plain factory functions for tests: build rows directly under the system context."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from app.core import clock
from app.core.phones import DEFAULT_REGION, normalize_phone, region_for
from app.core.roles import Role
from app.core.security import hash_password
from app.core.tenancy import Actor
from app.identity.models import Institute, User, UserStatus
from app.identity.onboarding import CONSENT_VERSION

_counter = itertools.count(1)


def institute(
    db,
    *,
    name: str | None = None,
    max_teachers: int | None = None,
    subscription_end: date | None = None,
    timezone: str = "Asia/Kolkata",
    currency: str = "INR",
) -> Institute:
    with db.scope(system=True) as s:
        inst = Institute(
            name=name or f"Institute {next(_counter)}",
            timezone=timezone,
            currency=currency,
            max_teachers=max_teachers,
            subscription_end=subscription_end or (clock.now().date() + timedelta(days=365)),
        )
        s.add(inst)
        s.flush()
        return inst


def user(
    db,
    inst: Institute | None,
    role: Role | str,
    *,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    status: str = UserStatus.ACTIVE.value,
    consent_version: str | None = CONSENT_VERSION,
    password: str | None = None,
    telegram_chat_id: str | None = None,
) -> User:
    n = next(_counter)
    with db.scope(system=True) as s:
        u = User(
            institute_id=inst.id if inst else None,
            name=name or f"{Role(role).label} {n}",
            email=email if email is not None else f"{Role(role).value}{n}@example.com",
            phone=normalize_phone(phone, region_for(inst.currency) if inst else DEFAULT_REGION),
            role=Role(role).value,
            status=status,
            consent_version=consent_version,
            password_hash=hash_password(password) if password else None,
            telegram_chat_id=telegram_chat_id,
        )
        s.add(u)
        s.flush()
        return u


def actor_for(u: User) -> Actor:
    return Actor(
        user_id=u.id, role=Role(u.role), institute_id=u.institute_id, name=u.name, source="test"
    )
