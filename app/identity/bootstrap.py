"""First run: with no users at all, ADMIN_EMAILS (and AUTH_ADMIN_PHONE) become active admins.
Every start: each of SUPER_ADMIN_EMAILS becomes an active super admin if no user has that email
yet (the operator's way in on a production database, empty or not)."""

from __future__ import annotations

import logging

from sqlmodel import Session, col, select

from app.core import audit, clock
from app.core.config import Settings
from app.core.errors import NotFound
from app.core.phones import normalize_phone, region_for
from app.core.roles import Role
from app.core.tenancy import Actor
from app.core.validation import normalize_email
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
    phone = normalize_phone(settings.AUTH_ADMIN_PHONE, region_for(settings.DEFAULT_CURRENCY))
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
                role=Role.ADMIN.value,
                status=UserStatus.ACTIVE.value,
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
    session.flush()
    audit.on(
        session,
        None,
        "institute.bootstrap",
        institute.id,
        {"admins": len(contacts)},
        institute_id=institute.id,
        source="bootstrap",
    )
    log.warning(BOOTSTRAP_WARNING)
    return institute


class SuperAdminRefused(Exception):
    """The email belongs to a user of an institute: it cannot also be a super admin."""


def super_admin_warning(email: str) -> str:
    return (
        f"Super admin allowlisted from SUPER_ADMIN_EMAILS: {email} — remove it once they signed in"
    )


def create_super_admin(session: Session, *, email: str, source: str = "bootstrap") -> User | None:
    """Make `email` an active super admin (no institute); None when it already is one.
    Refuses (SuperAdminRefused) an email that belongs to an institute's user. Audited."""
    address = normalize_email(email)
    if address is None:
        raise SuperAdminRefused("Give the email address of the new super admin.")
    email = address
    existing = session.exec(select(User).where(User.email == email).order_by(col(User.id))).all()
    if any(u.role == Role.SUPER_ADMIN.value for u in existing):
        return None
    if existing:
        raise SuperAdminRefused(
            f"{email} is a user of an institute; a super admin needs an email of their own."
        )
    user = User(
        institute_id=None,
        name=email.split("@")[0],
        email=email,
        role=Role.SUPER_ADMIN.value,
        status=UserStatus.ACTIVE.value,
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    session.add(user)
    session.flush()
    audit.on(session, None, "user.super_admin_created", user.id, {"email": email}, source=source)
    return user


def bootstrap_super_admins(session: Session, *, settings: Settings) -> list[User]:
    """Each SUPER_ADMIN_EMAILS address without a user yet becomes an active super admin
    (idempotent: a restart creates nothing new). An address that belongs to an institute's
    user is skipped with an error in the log."""
    created = []
    for email in settings.SUPER_ADMIN_EMAILS:
        try:
            user = create_super_admin(session, email=email)
        except SuperAdminRefused as exc:
            log.error("SUPER_ADMIN_EMAILS: %s", exc)
            continue
        if user is not None:
            log.warning(super_admin_warning(str(user.email)))
            created.append(user)
    return created


def dismiss_bootstrap_warning(session: Session, *, actor: Actor) -> Institute:
    """An admin confirms the bootstrap allowlist has been reviewed."""
    actor.require(Role.ADMIN)
    institute = session.get(Institute, actor.institute_scope())
    if institute is None:
        raise NotFound("That institute does not exist.")
    institute.bootstrap_warning = False
    audit.save_audited(session, institute, "institute.bootstrap_warning_dismissed", actor=actor)
    return institute
