"""First run: with no users at all, ADMIN_EMAILS (and AUTH_ADMIN_PHONE) become active admins."""

from __future__ import annotations

import logging

from sqlmodel import Session

from app.core import audit, clock
from app.core.config import Settings
from app.core.errors import NotFound
from app.core.roles import Role
from app.core.tenancy import Actor
from app.core.validation import normalize_email, normalize_phone, phone_key
from app.identity import service as identity
from app.identity.models import Institute, User, UserStatus

log = logging.getLogger("cohort")
BOOTSTRAP_WARNING = "Default admin allowlisted — remove after setup"
DEFAULT_INSTITUTE_NAME = "My Institute"


def bootstrap_admins(session: Session, *, settings: Settings) -> Institute | None:
    """On an empty database, make the configured emails/phone admins of a default institute."""
    if identity.count_users(session):
        return None
    emails = [normalize_email(e) for e in settings.ADMIN_EMAILS]
    phone = normalize_phone(settings.AUTH_ADMIN_PHONE) if settings.AUTH_ADMIN_PHONE else None
    if not emails and not phone:
        return None
    institute = Institute(
        name=DEFAULT_INSTITUTE_NAME,
        timezone=settings.DEFAULT_TIMEZONE,
        currency=settings.DEFAULT_CURRENCY,
        bootstrap_warning=True,
    )
    session.add(institute)
    session.flush()
    contacts = [(e, phone if i == 0 else None) for i, e in enumerate(emails)] or [(None, phone)]
    for email, ph in contacts:
        session.add(
            User(
                institute_id=institute.id,
                name=(email or ph).split("@")[0],
                email=email,
                phone=ph,
                phone_key=phone_key(ph),
                role=Role.ADMIN.value,
                status=UserStatus.ACTIVE.value,
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
    session.flush()
    audit.record(
        session,
        actor=None,
        action="institute.bootstrap",
        target_type="institute",
        target_id=institute.id,
        institute_id=institute.id,
        detail={"admins": len(contacts)},
        source="bootstrap",
    )
    log.warning(BOOTSTRAP_WARNING)
    return institute


def dismiss_bootstrap_warning(session: Session, *, actor: Actor) -> Institute:
    """An admin confirms the bootstrap allowlist has been reviewed."""
    actor.require(Role.ADMIN)
    institute = session.get(Institute, actor.institute_scope())
    if institute is None:
        raise NotFound("That institute does not exist.")
    institute.bootstrap_warning = False
    session.add(institute)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="institute.bootstrap_warning_dismissed",
        target_type="institute",
        target_id=institute.id,
    )
    return institute
