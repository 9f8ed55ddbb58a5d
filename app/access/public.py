"""Asking to join an institute without an account: the institutes one may ask, the request
(rate-limited, honeypot, deduplicated) and its status link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, or_, select

from app.access.common import (
    DUPLICATE,
    MAX_MESSAGE,
    RATE_WINDOW,
    REQUESTABLE_ROLES,
    TOO_MANY,
    aware_utc,
    rate_key,
)
from app.access.models import AccessRequest
from app.core import audit, clock, phones, ratelimit, weburl
from app.core.config import get_settings
from app.core.db import lock_key
from app.core.errors import Conflict, DomainError, ValidationError
from app.core.rows import carry
from app.core.security import new_token, token_hash
from app.core.statuses import RequestStatus
from app.core.validation import normalize_email
from app.identity import service as identity
from app.identity.models import Institute

# ------------------------------------------------------------------ public side


@dataclass(frozen=True)
class PublicInstitute:
    id: int
    name: str


def public_institutes(session: Session) -> list[PublicInstitute]:
    """Institutes a person may ask to join (subscription not ended), by name (system context)."""
    out = []
    for inst in session.exec(select(Institute).order_by(Institute.name)):
        if not inst.subscription_expired(clock.today_in(inst.timezone)):
            out.append(PublicInstitute(id=inst.id, name=inst.name))
    return out


@dataclass(frozen=True)
class SubmitResult:
    """`token` for the status link when accepted; otherwise `error` (and the form field)."""

    token: str | None = None
    error: str | None = None
    field: str | None = None


def submit_access_request(
    session: Session,
    *,
    institute_id: int | None,
    name: str,
    email: str | None,
    phone: str | None,
    role: str,
    message: str | None,
    honeypot: str | None,
    client: str,
    source: str | None = None,
) -> SubmitResult:
    """Ask an institute for an account (public). Every attempt counts towards the rate limit, so
    refusals are returned, not raised: the attempt is recorded even when nothing else is."""
    if not ratelimit.admit_public_form(
        session,
        rate_key(client),
        RATE_WINDOW,
        get_settings().ACCESS_REQUESTS_PER_MINUTE,
        client=client,
        refused_action="access_request.rate_limited",
        source=source,
    ):
        return SubmitResult(error=TOO_MANY)
    if (honeypot or "").strip():
        # A bot filled the field people never see: answer as if accepted, keep nothing.
        return SubmitResult(token=new_token())
    try:
        return SubmitResult(
            token=_store_request(
                session, _Form(institute_id, name, email, phone, role, message, source)
            )
        )
    except DomainError as exc:
        return SubmitResult(error=exc.message, field=exc.field)


@dataclass(frozen=True)
class _Form:
    """An access request as the public form sent it."""

    institute_id: int | None
    name: str
    email: str | None
    phone: str | None
    role: str
    message: str | None
    source: str | None


def _store_request(session: Session, form: _Form) -> str:
    institute_id, name, role, source = form.institute_id, form.name, form.role, form.source
    # From here on the transaction works inside the chosen institute only (row-level security).
    institute = identity.enter_public_institute_internal(
        session, institute_id=institute_id, message="Choose the institute you want to join."
    )
    assert institute_id is not None  # refused above otherwise
    if not (name or "").strip():
        raise ValidationError("Tell us your name.", field="name")
    if role not in {r.value for r in REQUESTABLE_ROLES}:
        raise ValidationError("Ask to join as a student or as a teacher.", field="role")
    email_n = normalize_email(form.email)
    phone_n = phones.normalize_phone(
        form.phone, identity.phone_region_internal(session, institute_id)
    )
    if not email_n and not phone_n:
        raise ValidationError(
            "Give an email address or a phone number, so you can sign in once approved.",
            field="email",
        )
    text = (form.message or "").strip()
    if len(text) > MAX_MESSAGE:
        raise ValidationError(f"Keep the message under {MAX_MESSAGE} characters.", field="message")
    lock_key(session, f"access_request:{institute_id}:{email_n or phone_n}")
    same_contact = []
    if email_n:
        same_contact.append(AccessRequest.email == email_n)
    if phone_n:  # E.164, read in the institute's region: the same number matches exactly
        same_contact.append(AccessRequest.phone == phone_n)
    clash = session.exec(
        select(AccessRequest).where(
            AccessRequest.institute_id == institute_id,
            AccessRequest.status == RequestStatus.PENDING.value,
            or_(*same_contact),
        )
    ).first()
    if clash is not None:
        contact = "email" if email_n and clash.email == email_n else "phone number"
        raise Conflict(DUPLICATE.format(institute=institute.name, contact=contact), field="email")
    token = new_token()
    row = AccessRequest(
        institute_id=institute_id,
        name=name.strip()[:200],
        email=email_n,
        phone=phone_n,
        role=role,
        message=text or None,
        token_hash=token_hash(token),
        source=(source or "")[:120] or None,
    )
    session.add(row)
    session.flush()
    audit.on(
        session,
        None,
        "access_request.submit",
        row.id,
        {"role": role, "email": email_n, "phone": phone_n, "name": row.name},
        institute_id=institute_id,
        source=source,
    )
    return token


@dataclass(frozen=True)
class RequestStatusView:
    institute: str
    name: str
    role: str
    status: str
    created_at: datetime
    decided_at: datetime | None
    reason: str | None


def access_request_status(session: Session, *, token: str) -> RequestStatusView | None:
    """What became of a request, for whoever holds its status link (system context)."""
    if not token:
        return None
    row = session.exec(
        select(AccessRequest, Institute)
        .join(Institute, Institute.id == AccessRequest.institute_id)
        .where(AccessRequest.token_hash == token_hash(token))
    ).first()
    if row is None:
        return None
    req, inst = row
    return carry(
        RequestStatusView,
        req,
        institute=inst.name,
        created_at=aware_utc(req.created_at),
        decided_at=aware_utc(req.decided_at) if req.decided_at else None,
    )


def status_link_url(token: str) -> str:
    return f"{weburl.base_url()}/?access_request={token}"
