"""Sign-in with a one-time code sent by Telegram.

The allowlist is checked before any code is sent. A code is 6 random digits, stored only as a
keyed hash, valid AUTH_OTP_EXPIRY_MINUTES, single use, dead after AUTH_OTP_MAX_ATTEMPTS wrong
tries; a phone may ask for at most AUTH_OTP_MAX_REQUESTS codes per AUTH_OTP_REQUEST_WINDOW_MINUTES.
Only the newest code of a phone is valid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from app.core import audit, clock, events, ratelimit
from app.core.clock import aware_utc
from app.core.config import get_settings
from app.core.db import lock_key
from app.core.errors import ValidationError
from app.core.security import constant_time_equal, keyed_hash, random_digits
from app.identity import service as identity
from app.identity.models import OtpCode, User
from app.identity.sessions import SignInOutcome, allowed_users
from app.integrations import telegram

SEND_FAILED = "The code could not be sent by Telegram just now. Try again in a minute."
CODE_WRONG = "That code is not right, or it has expired or been used. {left} tr{plural} left."
CODE_DEAD = "Too many wrong tries. Request a new code."


@dataclass(frozen=True)
class CodeRequest:
    sent: bool
    error: str | None = None


# The one answer to a code request for any number (see request_code).
REQUESTED = CodeRequest(sent=True)


def _audit(
    session: Session, action: str, key: str, source: str, detail: dict | None = None
) -> None:
    """Audit a code event against the masked phone (never the code)."""
    audit.record(
        session,
        actor=None,
        action=action,
        target_type="phone",
        target_id=_masked(key),
        detail=detail,
        source=source,
    )


def _phone_hash(key: str) -> str:
    return keyed_hash(f"otp-phone:{key}")


def _chat_hash(chat_id: str) -> str:
    return keyed_hash(f"otp-chat:{chat_id}")


def _masked(key: str) -> str:
    return f"…{key[-4:]}"


DEV_LOG_CHAT = "dev-log"


def _fallback_chat() -> str | None:
    settings = get_settings()
    if settings.AUTH_OTP_FALLBACK_CHAT_ID:
        return settings.AUTH_OTP_FALLBACK_CHAT_ID
    if settings.is_dev and not telegram.configured():
        return DEV_LOG_CHAT  # development without a bot: the code goes to the server log
    return None


def _chat_of(user: User) -> str | None:
    """Where a user's codes go: their own chat, else (a student) a guardian's chat, else the fallback."""
    if user.telegram_chat_id:
        return user.telegram_chat_id
    if user.role == "student" and user.institute_id is not None:
        # Academics (above identity) answers: the student's family chat, if a guardian linked one.
        session = Session.object_session(user)
        if session is not None:
            answers = events.publish(
                session, events.StudentChatWanted(institute_id=user.institute_id, user_id=user.id)
            )
            chat = next((c for c in answers.values() if c), None)
            if chat:
                return chat
    return _fallback_chat()


def _numbers(session: Session, phone: str) -> tuple[dict[str, str], str | None]:
    """What the typed phone may mean (see identity.phone_sign_in_numbers) and the one E.164
    number its codes, rate limits and audit entries are kept under; or an error to show."""
    try:
        numbers = identity.phone_sign_in_numbers(session, phone=phone)
    except ValidationError as exc:
        return {}, exc.message
    if not numbers:
        return {}, "Enter your phone number."
    return numbers, None


def request_code(
    session: Session, *, phone: str, source: str, client: str = "unknown"
) -> CodeRequest:
    """Send a sign-in code to an allowlisted phone's Telegram chat.

    Every number gets the same answer (REQUESTED), allowlisted or not, with or without a linked
    chat, so the form cannot be used to learn who is on an allowlist; the audit log keeps the
    real reason. Requests are limited per (number, requester address) and per address, so a
    stranger asking for codes cannot lock the owner out."""
    settings = get_settings()
    numbers, error = _numbers(session, phone)
    if error:
        return CodeRequest(sent=False, error=error)
    key = next(iter(numbers.values()))
    stored_key = _phone_hash(key)
    window = timedelta(minutes=settings.AUTH_OTP_REQUEST_WINDOW_MINUTES)
    pair, address = f"otp-request:{key}:{client}", f"otp-request-from:{client}"
    for limit_key, limit in (
        (pair, settings.AUTH_OTP_MAX_REQUESTS),
        (address, settings.AUTH_OTP_MAX_REQUESTS_PER_ADDRESS),
    ):
        count, oldest = ratelimit.oldest_within(session, limit_key, window)
        if count >= limit:
            wait = oldest + window - clock.now()
            minutes = max(1, math.ceil(wait.total_seconds() / 60))
            _audit(session, "auth.otp_rate_limited", key, source)
            return CodeRequest(
                sent=False,
                error=(
                    "Too many codes requested from here. "
                    f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
                ),
            )
    ratelimit.hit(session, pair)
    ratelimit.hit(session, address)
    lock_key(session, f"otp:{key}")
    users = identity.users_for_phone(session, numbers=numbers)
    allowed, refusal = allowed_users(session, users)
    if not allowed:
        _audit(session, "auth.otp_refused", key, source, {"reason": refusal})
        return REQUESTED
    allowed_ids = {u.id for u in allowed}
    # One code goes to one chat; the code later signs in only the people that chat belongs to.
    chat_id = next((c for c in (_chat_of(u) for u in users if u.id in allowed_ids) if c), None)
    if not chat_id:
        _audit(session, "auth.otp_refused", key, source, {"reason": "no telegram chat"})
        return REQUESTED
    now = clock.now()
    for older in session.exec(
        select(OtpCode).where(OtpCode.phone_hash == stored_key, col(OtpCode.consumed_at).is_(None))
    ):
        older.consumed_at = now  # superseded: only the newest code works
        session.add(older)
    code = random_digits(6)
    row = OtpCode(
        phone_hash=stored_key,
        chat_hash=_chat_hash(chat_id),
        code_hash=keyed_hash(f"{key}:{code}"),
        created_at=now,
        expires_at=now + timedelta(minutes=settings.AUTH_OTP_EXPIRY_MINUTES),
    )
    session.add(row)
    session.flush()
    text = (
        f"Your Cohort sign-in code is {code}. It expires in {settings.AUTH_OTP_EXPIRY_MINUTES} minutes. "
        "Never share it with anyone."
    )
    try:
        telegram.get_sender().send(chat_id, text)
    except telegram.SendFailed as exc:
        session.delete(row)
        session.flush()
        _audit(session, "auth.otp_send_failed", key, source, {"error": str(exc)[:200]})
        return CodeRequest(sent=False, error=SEND_FAILED)
    _audit(session, "auth.otp_requested", key, source)
    return REQUESTED


def verify_code(session: Session, *, phone: str, code: str, source: str) -> SignInOutcome:
    """Check a code for a phone; the right code signs in once."""
    settings = get_settings()
    numbers, error = _numbers(session, phone)
    if error:
        return SignInOutcome(error=error)
    key = next(iter(numbers.values()))
    lock_key(session, f"otp:{key}")
    query = (
        select(OtpCode)
        .where(OtpCode.phone_hash == _phone_hash(key))
        .order_by(col(OtpCode.id).desc())
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.exec(query).first()

    def refuse(message: str, reason: str) -> SignInOutcome:
        _audit(
            session,
            "auth.sign_in_refused",
            key,
            source,
            {"method": "telegram_code", "reason": reason},
        )
        return SignInOutcome(error=message)

    now = clock.now()
    live = (
        row is not None
        and row.consumed_at is None
        and row.attempts < settings.AUTH_OTP_MAX_ATTEMPTS
        and now < aware_utc(row.expires_at)
    )
    typed = "".join(ch for ch in (code or "") if ch.isdigit())
    if not (live and constant_time_equal(keyed_hash(f"{key}:{typed}"), row.code_hash)):
        # Every failure reads alike whether or not a code was ever sent to this number (no
        # code, used, expired or wrong), so answers do not tell who is on an allowlist.
        if live:
            row.attempts += 1
            session.add(row)
            session.flush()
            tries, reason = row.attempts, "wrong code"
        elif row is not None and row.attempts >= settings.AUTH_OTP_MAX_ATTEMPTS:
            tries, reason = row.attempts, "too many tries"
        else:
            reason = "no code" if row is None else "code used or expired"
            ratelimit.hit(session, f"otp-try:{key}")
            tries, _ = ratelimit.recent(
                session, f"otp-try:{key}", timedelta(minutes=settings.AUTH_OTP_EXPIRY_MINUTES)
            )
        left = settings.AUTH_OTP_MAX_ATTEMPTS - tries
        if left <= 0:
            if live:
                _audit(session, "auth.locked", key, source, {"method": "telegram_code"})
            return refuse(CODE_DEAD, reason)
        return refuse(CODE_WRONG.format(left=left, plural="y" if left == 1 else "ies"), reason)
    row.consumed_at = clock.now()
    session.add(row)
    session.flush()
    # Only the people whose codes go to the chat that received this one.
    users = [
        u
        for u in identity.users_for_phone(session, numbers=numbers)
        if (chat := _chat_of(u)) and constant_time_equal(_chat_hash(chat), row.chat_hash)
    ]
    allowed, refusal = allowed_users(session, users)
    if not allowed:
        return refuse(refusal, "no access")
    return SignInOutcome(users=allowed)


def purge_expired(session: Session, *, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete codes past use (for the daily cleanup job)."""
    from sqlalchemy import delete

    result = session.execute(
        delete(OtpCode).where(col(OtpCode.expires_at) < clock.now() - older_than)
    )
    return result.rowcount or 0
