"""First sign-in: confirm name and phone and accept the data-use consent (versioned)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.core import audit, clock
from app.core.errors import NotFound, ValidationError
from app.core.tenancy import Actor
from app.identity import service as identity
from app.identity.models import ConsentAcceptance, User

CONSENT_VERSION = "2026-11"
CONSENT_TEXT = """\
**How Cohort uses your data** (version 2026-11)

Your institute uses Cohort to run classes, attendance, fees, coursework and communication.

- **What is kept:** your name, contact details, role, and the records your institute keeps about
  classes you teach or attend: attendance, homework and test results, fees and payments, progress,
  badges, feedback and messages.
- **Who sees it:** staff of your institute, each only for their work; a student sees only their
  own records; guardians receive messages about their student. Nobody outside your institute can
  see its data.
- **Why:** to teach, to keep students and guardians informed, to bill and receive fees, and to
  notice early when a student needs help. Early-warning signals are advisory; a person decides.
- **Messages:** Telegram messages are sent only for your institute's purposes.
- **Your choices:** ask your institute's admin to correct your details or to explain what is
  kept. Exports of personal data are logged.
"""


def needs_onboarding(consent_version: str | None) -> bool:
    return consent_version != CONSENT_VERSION


def complete_onboarding(
    session: Session,
    *,
    actor: Actor,
    name: str,
    phone: str | None,
    accept: bool,
    version: str = CONSENT_VERSION,
) -> User:
    """Save the confirmed name and phone and the consent acceptance (time and version)."""
    if not accept:
        raise ValidationError(
            "Please read and accept how your data is used to continue.", field="accept"
        )
    if version != CONSENT_VERSION:
        raise ValidationError(
            "The consent text changed while you were reading it. Please read it again."
        )
    identity.update_my_account(session, actor=actor, name=name, phone=phone)
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotFound("Your account no longer exists.")
    now = clock.now()
    user.consent_version = version
    user.onboarded_at = user.onboarded_at or now
    session.add(user)
    session.add(
        ConsentAcceptance(
            institute_id=user.institute_id,
            user_id=user.id,
            version=version,
            accepted_at=now,
            source=actor.source,
        )
    )
    session.flush()
    audit.on(session, actor, "user.consent_accepted", user.id, {"version": version})
    return user


def consent_history(session: Session, *, actor: Actor) -> list[ConsentAcceptance]:
    """The actor's own acceptances, newest first."""
    return list(
        session.exec(
            select(ConsentAcceptance)
            .where(ConsentAcceptance.user_id == actor.user_id)
            .order_by(col(ConsentAcceptance.id).desc())
        )
    )
