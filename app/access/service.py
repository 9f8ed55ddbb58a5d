"""Access requests and password change requests: asked for in public or on My account, decided by
the institute's admins, every step audited.

Access requests come from people without an account, so the public form runs before anyone is
known: the service sets the chosen institute's tenant scope itself before it writes, rate-limits
by client address, and a filled honeypot field gets a polite answer and no row. The requester
keeps a status link (`?access_request=<token>`; only the token's hash is stored).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, func, or_, select

from app.access.models import AccessRequest, PasswordChangeRequest, RequestStatus
from app.core import audit, clock, ratelimit, weburl
from app.core.config import get_settings
from app.core.db import lock_key
from app.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from app.core.roles import Role
from app.core.security import hash_password, new_token, token_hash
from app.core.tenancy import Actor
from app.core.validation import normalize_email, normalize_phone, phone_key
from app.identity import credentials
from app.identity import service as identity
from app.identity.models import Institute, User, UserStatus
from app.notify import service as notify
from app.notify.models import Channel

REQUESTABLE_ROLES = (Role.STUDENT, Role.TEACHER)
RATE_WINDOW = timedelta(minutes=1)
TOO_MANY = (
    "Too many requests from your network in the last minute. Please wait a minute and try again."
)
DUPLICATE = (
    "You already asked {institute} for access with this {contact}; the request is waiting for an "
    "admin. Use the status link you were given to follow it."
)
MAX_MESSAGE = 1000
MAX_REASON = 500


# ------------------------------------------------------------------ client address


def client_address(
    headers: Mapping[str, str] | None, remote_ip: str | None, *, hops: int | None = None
) -> str:
    """The requester's address for rate limits and the audit log.

    With `hops` (default TRUSTED_PROXY_HOPS) reverse proxies of our own in front of the app, the
    address is the one that many entries from the right of X-Forwarded-For: each of our proxies
    appends the address it saw, and anything further left was written by the client. With 0
    hops, or a header shorter than the configured hops, the header is ignored and the socket's
    peer counts. A client can never choose its own address."""
    if hops is None:
        hops = get_settings().TRUSTED_PROXY_HOPS
    forwarded = ""
    for key, value in (headers or {}).items():
        if key.lower() == "x-forwarded-for":
            forwarded = value or ""
            break
    chain = [part.strip() for part in forwarded.split(",") if part.strip()]
    chosen = chain[-hops] if hops > 0 and len(chain) >= hops else ""
    return (chosen or (remote_ip or "").strip() or "unknown")[:80]


def _rate_key(client: str) -> str:
    return f"access_request:{client}"


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
    limit = get_settings().ACCESS_REQUESTS_PER_MINUTE
    key = _rate_key(client)
    count, _ = ratelimit.recent(session, key, RATE_WINDOW)
    if count >= limit:
        audit.record(
            session,
            actor=None,
            action="access_request.rate_limited",
            target_type="client",
            target_id=client,
            source=source,
        )
        return SubmitResult(error=TOO_MANY)
    ratelimit.hit(session, key)
    if (honeypot or "").strip():
        # A bot filled the field people never see: answer as if accepted, keep nothing.
        return SubmitResult(token=new_token())
    try:
        return SubmitResult(
            token=_store_request(
                session,
                institute_id=institute_id,
                name=name,
                email=email,
                phone=phone,
                role=role,
                message=message,
                source=source,
            )
        )
    except DomainError as exc:
        return SubmitResult(error=exc.message, field=exc.field)


def _store_request(
    session: Session,
    *,
    institute_id: int | None,
    name: str,
    email: str | None,
    phone: str | None,
    role: str,
    message: str | None,
    source: str | None,
) -> str:
    # From here on the transaction works inside the chosen institute only (row-level security).
    institute = identity.enter_public_institute_internal(
        session, institute_id=institute_id, message="Choose the institute you want to join."
    )
    assert institute_id is not None  # refused above otherwise
    if not (name or "").strip():
        raise ValidationError("Tell us your name.", field="name")
    if role not in {r.value for r in REQUESTABLE_ROLES}:
        raise ValidationError("Ask to join as a student or as a teacher.", field="role")
    email_n = normalize_email(email)
    phone_n = normalize_phone(phone)
    if not email_n and not phone_n:
        raise ValidationError(
            "Give an email address or a phone number, so you can sign in once approved.",
            field="email",
        )
    text = (message or "").strip()
    if len(text) > MAX_MESSAGE:
        raise ValidationError(f"Keep the message under {MAX_MESSAGE} characters.", field="message")
    key = phone_key(phone_n)
    lock_key(session, f"access_request:{institute_id}:{email_n or key}")
    same_contact = []
    if email_n:
        same_contact.append(AccessRequest.email == email_n)
    if key:
        same_contact.append(AccessRequest.phone_key == key)
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
        phone_key=key,
        role=role,
        message=text or None,
        token_hash=token_hash(token),
        source=(source or "")[:120] or None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=None,
        action="access_request.submit",
        target_type="access_request",
        target_id=row.id,
        institute_id=institute_id,
        detail={"role": role, "email": email_n, "phone": phone_n, "name": row.name},
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
    return RequestStatusView(
        institute=inst.name,
        name=req.name,
        role=req.role,
        status=req.status,
        created_at=_aware(req.created_at),
        decided_at=_aware(req.decided_at) if req.decided_at else None,
        reason=req.reason,
    )


def status_link_url(token: str) -> str:
    return f"{weburl.base_url()}/?access_request={token}"


# ------------------------------------------------------------------ admins decide


def _require_admin(actor: Actor) -> None:
    actor.require(Role.ADMIN, Role.SUPER_ADMIN)


def list_access_requests(
    session: Session, *, actor: Actor, status: str | None = None, institute_id: int | None = None
) -> list[AccessRequest]:
    """Access requests to the admin's institute, pending first, newest first."""
    _require_admin(actor)
    scope = actor.institute_scope(institute_id)
    query = select(AccessRequest).where(AccessRequest.institute_id == scope)
    if status:
        query = query.where(AccessRequest.status == status)
    pending_first = col(AccessRequest.status) != RequestStatus.PENDING.value
    return list(
        session.exec(query.order_by(pending_first, col(AccessRequest.id).desc()).limit(500))
    )


def pending_counts(
    session: Session, *, actor: Actor, institute_id: int | None = None
) -> dict[str, int]:
    """How many access and password requests wait for the admin: {"access": n, "password": m}."""
    _require_admin(actor)
    scope = actor.institute_scope(institute_id)
    access = session.exec(
        select(func.count())
        .select_from(AccessRequest)
        .where(
            AccessRequest.institute_id == scope,
            AccessRequest.status == RequestStatus.PENDING.value,
        )
    ).one()
    password = session.exec(
        select(func.count())
        .select_from(PasswordChangeRequest)
        .where(
            PasswordChangeRequest.institute_id == scope,
            PasswordChangeRequest.status == RequestStatus.PENDING.value,
        )
    ).one()
    return {"access": int(access), "password": int(password)}


def _access_request(session: Session, actor: Actor, request_id: int) -> AccessRequest:
    row = session.get(AccessRequest, request_id)
    if row is None or (not actor.is_super_admin and row.institute_id != actor.institute_id):
        raise NotFound("That access request does not exist.")
    return row


def _claim(session: Session, model, row, *, actor: Actor, status: str, reason: str | None) -> None:
    """Move a pending request to its decision exactly once (a second decider loses)."""
    now = clock.now()
    won = session.execute(
        update(model)
        .where(model.id == row.id, model.status == RequestStatus.PENDING.value)
        .values(status=status, decided_by=actor.user_id, decided_at=now, reason=reason)
    ).rowcount
    if won != 1:
        session.refresh(row)
        raise Conflict(f"This request was already {row.status}.")
    session.refresh(row)


@dataclass(frozen=True)
class Approval:
    request: AccessRequest
    user: User
    token: str  # the invitation's one-time password link


def approve_access_request(session: Session, *, actor: Actor, request_id: int) -> Approval:
    """Approve: the requester goes on the allowlist (invited, with the role asked for) and an
    invitation password link is made, exactly as when inviting from the Users page."""
    _require_admin(actor)
    row = _access_request(session, actor, request_id)
    if row.status != RequestStatus.PENDING.value:
        raise Conflict(f"This request was already {row.status}.")
    _claim(
        session, AccessRequest, row, actor=actor, status=RequestStatus.APPROVED.value, reason=None
    )
    user = identity.invite_user(
        session,
        actor=actor,
        name=row.name,
        role=row.role,
        email=row.email,
        phone=row.phone,
        institute_id=row.institute_id,
    )
    token = credentials.create_password_link(
        session, actor=actor, user_id=user.id, purpose="invitation"
    )
    row.user_id = user.id
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="access_request.approve",
        target_type="access_request",
        target_id=row.id,
        institute_id=row.institute_id,
        detail={"user_id": user.id, "role": row.role},
    )
    return Approval(request=row, user=user, token=token)


def _clean_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationError("Give a reason: the requester will read it.", field="reason")
    if len(text) > MAX_REASON:
        raise ValidationError(f"Keep the reason under {MAX_REASON} characters.", field="reason")
    return text


def reject_access_request(
    session: Session, *, actor: Actor, request_id: int, reason: str
) -> AccessRequest:
    """Reject with a reason the requester sees on their status page."""
    _require_admin(actor)
    row = _access_request(session, actor, request_id)
    text = _clean_reason(reason)
    _claim(
        session, AccessRequest, row, actor=actor, status=RequestStatus.REJECTED.value, reason=text
    )
    audit.record(
        session,
        actor=actor,
        action="access_request.reject",
        target_type="access_request",
        target_id=row.id,
        institute_id=row.institute_id,
        detail={"reason": text},
    )
    return row


# ------------------------------------------------------------------ password change requests


def request_password_change(
    session: Session, *, actor: Actor, note: str | None = None
) -> PasswordChangeRequest:
    """A signed-in user asks their admins for a password reset (one open request at a time)."""
    if actor.user_id is None or actor.institute_id is None:
        raise PermissionDenied(
            "Password requests go to an institute's admins; your account has no institute."
        )
    lock_key(session, f"password_request:{actor.user_id}")
    open_row = session.exec(
        select(PasswordChangeRequest).where(
            PasswordChangeRequest.user_id == actor.user_id,
            PasswordChangeRequest.status == RequestStatus.PENDING.value,
        )
    ).first()
    if open_row is not None:
        raise Conflict("You already asked for a password reset; an admin will decide soon.")
    text = (note or "").strip()
    if len(text) > MAX_REASON:
        raise ValidationError(f"Keep the note under {MAX_REASON} characters.", field="note")
    row = PasswordChangeRequest(
        institute_id=actor.institute_id, user_id=actor.user_id, note=text or None
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="password_request.submit",
        target_type="password_change_request",
        target_id=row.id,
    )
    return row


def my_password_request(session: Session, *, actor: Actor) -> PasswordChangeRequest | None:
    """The user's latest password request, if any."""
    if actor.user_id is None:
        return None
    return session.exec(
        select(PasswordChangeRequest)
        .where(PasswordChangeRequest.user_id == actor.user_id)
        .order_by(col(PasswordChangeRequest.id).desc())
    ).first()


@dataclass(frozen=True)
class PasswordRequestRow:
    request: PasswordChangeRequest
    user_name: str
    user_contact: str
    user_role: str


def list_password_requests(
    session: Session, *, actor: Actor, status: str | None = None, institute_id: int | None = None
) -> list[PasswordRequestRow]:
    """Password requests of the admin's institute with who asked, pending first."""
    _require_admin(actor)
    scope = actor.institute_scope(institute_id)
    query = (
        select(PasswordChangeRequest, User)
        .join(User, User.id == PasswordChangeRequest.user_id)
        .where(PasswordChangeRequest.institute_id == scope)
    )
    if status:
        query = query.where(PasswordChangeRequest.status == status)
    pending_first = col(PasswordChangeRequest.status) != RequestStatus.PENDING.value
    rows = session.exec(
        query.order_by(pending_first, col(PasswordChangeRequest.id).desc()).limit(500)
    ).all()
    return [
        PasswordRequestRow(
            request=req,
            user_name=user.name,
            user_contact=user.email or user.phone or "",
            user_role=Role(user.role).label,
        )
        for req, user in rows
    ]


def _password_request(session: Session, actor: Actor, request_id: int) -> PasswordChangeRequest:
    row = session.get(PasswordChangeRequest, request_id)
    if row is None or (not actor.is_super_admin and row.institute_id != actor.institute_id):
        raise NotFound("That password request does not exist.")
    if row.user_id == actor.user_id:
        raise PermissionDenied("Another admin must decide your own password request.")
    return row


def _tell_user(session: Session, row: PasswordChangeRequest, text: str) -> None:
    notify.enqueue_internal(
        session,
        institute_id=row.institute_id,
        channel=Channel.IN_APP.value,
        recipient=None,
        recipient_user_id=row.user_id,
        subject="Password reset",
        text=text,
        dedupe_key=f"password_request:{row.id}:{row.status}",
    )


def approve_password_request(
    session: Session, *, actor: Actor, request_id: int
) -> tuple[PasswordChangeRequest, str | None]:
    """Approve: the user must set a new password at their next sign-in. When the admin manages
    the user's role a one-time reset link is made too (for a user who cannot sign in at all)."""
    _require_admin(actor)
    row = _password_request(session, actor, request_id)
    user = session.get(User, row.user_id)
    if user is None or user.status == UserStatus.DISABLED.value:
        raise ValidationError("Activate the user before approving their password request.")
    _claim(
        session,
        PasswordChangeRequest,
        row,
        actor=actor,
        status=RequestStatus.APPROVED.value,
        reason=None,
    )
    token = None
    try:
        # Refused before anything is written when the actor does not manage the user's role
        # (an admin's own request, decided by another admin): the next-sign-in step still applies.
        token = credentials.create_password_link(
            session, actor=actor, user_id=user.id, purpose="reset"
        )
    except PermissionDenied:
        token = None
    audit.record(
        session,
        actor=actor,
        action="password_request.approve",
        target_type="password_change_request",
        target_id=row.id,
        institute_id=row.institute_id,
        detail={"user_id": user.id, "link": token is not None},
    )
    _tell_user(
        session,
        row,
        "Your password reset was approved: you will choose a new password when you next sign in.",
    )
    return row, token


def reject_password_request(
    session: Session, *, actor: Actor, request_id: int, reason: str
) -> PasswordChangeRequest:
    """Reject with a reason the user sees on My account."""
    _require_admin(actor)
    row = _password_request(session, actor, request_id)
    text = _clean_reason(reason)
    _claim(
        session,
        PasswordChangeRequest,
        row,
        actor=actor,
        status=RequestStatus.REJECTED.value,
        reason=text,
    )
    audit.record(
        session,
        actor=actor,
        action="password_request.reject",
        target_type="password_change_request",
        target_id=row.id,
        institute_id=row.institute_id,
        detail={"reason": text},
    )
    _tell_user(session, row, f"Your password reset was not approved: {text}")
    return row


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _outstanding(session: Session, user_id: int) -> PasswordChangeRequest | None:
    """The approved request still waiting for a new password (a password set since clears it)."""
    row = session.exec(
        select(PasswordChangeRequest)
        .where(
            PasswordChangeRequest.user_id == user_id,
            PasswordChangeRequest.status == RequestStatus.APPROVED.value,
            col(PasswordChangeRequest.completed_at).is_(None),
        )
        .order_by(col(PasswordChangeRequest.id).desc())
    ).first()
    if row is None:
        return None
    user = session.get(User, user_id)
    if user is not None and user.password_set_at is not None and row.decided_at is not None:
        if _aware(user.password_set_at) >= _aware(row.decided_at):
            return None  # set through the reset link or My account meanwhile
    return row


def must_set_new_password(session: Session, *, user_id: int) -> bool:
    """Whether this user must choose a new password before anything else (system context)."""
    return _outstanding(session, user_id) is not None


def set_new_password(
    session: Session, *, actor: Actor, new: str, confirm: str
) -> PasswordChangeRequest:
    """Choose the new password an approved request asks for; the request is then complete."""
    row = _outstanding(session, actor.user_id) if actor.user_id else None
    if row is None:
        raise ValidationError("There is no approved password reset waiting for you.")
    if new != confirm:
        raise ValidationError("The two passwords differ.", field="confirm")
    credentials.check_password_policy(new)
    user = session.get(User, actor.user_id)
    now = clock.now()
    user.password_hash = hash_password(new)
    user.password_set_at = now
    session.add(user)
    row.completed_at = now
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="password_request.complete",
        target_type="password_change_request",
        target_id=row.id,
    )
    audit.record(
        session,
        actor=actor,
        action="user.password_set",
        target_type="user",
        target_id=user.id,
        detail={"via": "password_request"},
    )
    return row
