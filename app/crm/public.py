"""The public inquiry form: anyone may ask an institute about its courses without signing in.

Like the access request form it is rate-limited per client address (PUBLIC_INQUIRIES_PER_MINUTE)
and a filled honeypot field gets a polite answer and no row. The inquiry enters the Pipeline as
a new lead from the website, assigned like any other (automatically when the institute asks);
someone asking again is a duplicate the counselors merge as usual."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from app.core import audit, clock, ratelimit
from app.core.config import get_settings
from app.core.errors import DomainError, ValidationError
from app.crm.common import (
    assignee_internal,
    check_subjects_internal,
    clean_contact_internal,
    touch,
)
from app.crm.models import Inquiry, Source
from app.identity import service as identity
from app.identity.models import Institute

WINDOW = timedelta(minutes=1)
TOO_MANY = "Too many enquiries from here just now; wait a minute and send it again."
THANKS = "Thank you: the institute will contact you soon."
MAX_MESSAGE = 1000


@dataclass(frozen=True)
class Sent:
    """`ok` when the enquiry was accepted (or silently dropped as a bot's); else `error`."""

    ok: bool
    error: str | None = None
    field: str | None = None


def submit_public_inquiry(
    session: Session,
    *,
    institute_id: int | None,
    student_name: str,
    phone: str | None,
    email: str | None,
    subject_ids: list[int] | None,
    message: str | None,
    honeypot: str | None,
    client: str,
    source: str | None = None,
) -> Sent:
    """Record a website enquiry (public, system session). Every attempt counts towards the
    rate limit, so refusals are returned, not raised: the attempt is kept either way."""
    if not ratelimit.admit_public_form(
        session,
        f"public_inquiry:{client}",
        WINDOW,
        get_settings().PUBLIC_INQUIRIES_PER_MINUTE,
        client=client,
        refused_action="crm.public_inquiry_rate_limited",
        source=source,
    ):
        return Sent(ok=False, error=TOO_MANY)
    if (honeypot or "").strip():
        return Sent(ok=True)  # a bot filled the field people never see: keep nothing
    try:
        with session.begin_nested():
            form = _Form(institute_id, student_name, phone, email, subject_ids, message, source)
            _store(session, form)
    except DomainError as exc:
        return Sent(ok=False, error=exc.message, field=exc.field)
    return Sent(ok=True)


@dataclass(frozen=True)
class _Form:
    """An enquiry as the website's form sent it."""

    institute_id: int | None
    student_name: str
    phone: str | None
    email: str | None
    subject_ids: list[int] | None
    message: str | None
    source: str | None


def _store(session: Session, form: _Form) -> None:
    institute_id, message = form.institute_id, form.message
    # From here on the transaction works inside the chosen institute only (row-level security).
    identity.enter_public_institute_internal(
        session, institute_id=institute_id, message="Choose the institute you are asking."
    )
    assert institute_id is not None  # refused above otherwise
    name = " ".join((form.student_name or "").split())
    if not name:
        raise ValidationError("Tell us the student's name.", field="student_name")
    if len(name) > 200:
        raise ValidationError("The name is longer than 200 characters.", field="student_name")
    if len(message or "") > MAX_MESSAGE:
        raise ValidationError(
            f"The message is longer than {MAX_MESSAGE} characters.", field="message"
        )
    phone_n, email_n = clean_contact_internal(session, institute_id, form.phone, form.email)
    inquiry = Inquiry(
        institute_id=institute_id,
        counselor_user_id=assignee_internal(session, institute_id=institute_id),
        student_name=name,
        phone=phone_n,
        email=email_n,
        interested_subjects=check_subjects_internal(session, institute_id, form.subject_ids),
        source=Source.WEBSITE.value,
        notes=(message or "").strip() or None,
    )
    session.add(inquiry)
    session.flush()
    audit.on(
        session,
        None,
        "crm.public_inquiry",
        inquiry.id,
        target_type="inquiry",
        institute_id=institute_id,
        source=form.source,
    )
    touch(session, inquiry)


def offered_subjects(session: Session, *, institute_id: int) -> list[tuple[int, str]]:
    """The subjects a visitor may ask about (not archived), by name; none for an institute
    that takes no enquiries (unknown, or its subscription ended)."""
    from sqlmodel import col, select

    from app.academics.models import Subject

    institute = session.get(Institute, institute_id)
    if institute is None or institute.subscription_expired(clock.today_in(institute.timezone)):
        return []
    return [
        (sid, name)
        for sid, name in session.exec(
            select(Subject.id, Subject.name)
            .where(Subject.institute_id == institute_id, col(Subject.archived_at).is_(None))
            .order_by(Subject.name)
        ).all()
        if sid is not None
    ]
