"""Passwords: argon2id hashes, a short policy, set from a one-time link, and bounded lockouts.

Policy: 8–128 characters, no composition rules, none of the 1,000 most common passwords.
Lockout: after AUTH_LOCKOUT_THRESHOLD failures within AUTH_LOCKOUT_WINDOW_MINUTES for the typed
identifier or for the account, sign-in waits 1, 2, 4 … minutes, never more than
AUTH_LOCKOUT_MAX_MINUTES, and the failures age out of the window: a stranger can slow a real
user down for minutes, never lock them out for good. Google and Telegram codes are unaffected.
"""

from __future__ import annotations

import math
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session, select

from app.core import audit, clock, ratelimit, weburl
from app.core.config import get_settings
from app.core.errors import NotFound, ValidationError
from app.core.ownership import owned, reach
from app.core.security import hash_password, needs_rehash, new_token, token_hash, verify_password
from app.core.tenancy import Actor
from app.core.validation import normalize_email
from app.identity import service as identity
from app.identity.models import Institute, PasswordLink, User, UserStatus
from app.identity.sessions import SignInOutcome, allowed_users

WRONG_CREDENTIALS = "Wrong email, phone or password."
MIN_LENGTH, MAX_LENGTH = 8, 128
LINK_INVALID = "This link is not valid. Ask your admin for a new one."
LINK_USED = "This link has already been used. Sign in, or ask your admin for a new link."
LINK_EXPIRED = "This link has expired. Ask your admin for a new one."


@lru_cache
def common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("data") / "common_passwords.txt"
    return frozenset(
        line.strip().lower()
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )


def check_password_policy(password: str) -> None:
    """Refuse a password a person should not use, saying why."""
    if len(password) < MIN_LENGTH:
        raise ValidationError(f"Use at least {MIN_LENGTH} characters.", field="password")
    if len(password) > MAX_LENGTH:
        raise ValidationError(f"Use at most {MAX_LENGTH} characters.", field="password")
    if password.lower() in common_passwords():
        raise ValidationError(
            "That is one of the most common passwords, which attackers try first. Choose another.",
            field="password",
        )


def _identifier_key(session: Session, identifier: str) -> tuple[str | None, dict[str, str], str]:
    """(email, the phone numbers it may be, rate key) for what was typed in the sign-in box."""
    text = identifier.strip()
    # What is recorded (rate key, audit) is the normalised email or phone, never the raw text:
    # a password typed into the wrong box must not end up in a log.
    opaque = "typed:" + token_hash(text.lower())[:16]
    if "@" in text:
        try:
            email = normalize_email(text)
        except ValidationError:
            return None, {}, f"pw:id:{opaque}"
        return email, {}, f"pw:id:{email}"
    try:
        numbers = identity.phone_sign_in_numbers(session, phone=text)
    except ValidationError:
        numbers = {}
    key = next(iter(numbers.values()), None)
    return None, numbers, f"pw:id:{key or opaque}"


def lock_remaining(session: Session, key: str) -> timedelta | None:
    """How long `key` must still wait, or None when it may try now."""
    settings = get_settings()
    failures, latest = ratelimit.recent(
        session, key, timedelta(minutes=settings.AUTH_LOCKOUT_WINDOW_MINUTES)
    )
    if failures < settings.AUTH_LOCKOUT_THRESHOLD or latest is None:
        return None
    wait = timedelta(
        minutes=min(
            2 ** (failures - settings.AUTH_LOCKOUT_THRESHOLD), settings.AUTH_LOCKOUT_MAX_MINUTES
        )
    )
    remaining = latest + wait - clock.now()
    return remaining if remaining > timedelta(0) else None


def _locked_message(remaining: timedelta) -> str:
    minutes = max(1, math.ceil(remaining.total_seconds() / 60))
    return f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def sign_in_with_password(
    session: Session, *, identifier: str, password: str, source: str
) -> SignInOutcome:
    """Check an email-or-phone and password; unknown user and wrong password get the same answer."""
    email, numbers, rate_key = _identifier_key(session, identifier or "")
    if not (identifier or "").strip() or not password:
        return SignInOutcome(error="Enter your email or phone and your password.")
    for k in [rate_key]:
        remaining = lock_remaining(session, k)
        if remaining:
            identity.record_denied_sign_in(
                session, identity=rate_key[6:], method="password", reason="locked", source=source
            )
            return SignInOutcome(error=_locked_message(remaining))
    if email:
        candidates = identity.users_for_email(session, email=email)
    else:
        candidates = identity.users_for_phone(session, numbers=numbers)
    for user in candidates:
        remaining = lock_remaining(session, f"pw:user:{user.id}")
        if remaining:
            identity.record_denied_sign_in(
                session, identity=rate_key[6:], method="password", reason="locked", source=source
            )
            return SignInOutcome(error=_locked_message(remaining))
    matched = [
        u for u in candidates if u.password_hash and verify_password(u.password_hash, password)
    ]
    if not candidates or not any(u.password_hash for u in candidates):
        verify_password(None, password)  # same cost as a real check
    if not matched:
        ratelimit.hit(session, rate_key)
        for user in candidates:
            ratelimit.hit(session, f"pw:user:{user.id}")
        identity.record_denied_sign_in(
            session,
            identity=rate_key[6:],
            method="password",
            reason="wrong credentials",
            source=source,
        )
        if lock_remaining(session, rate_key):
            audit.on(
                session,
                None,
                "auth.locked",
                rate_key[6:],
                {"method": "password"},
                target_type="identity",
                source=source,
            )
        return SignInOutcome(error=WRONG_CREDENTIALS)
    for user in matched:
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
            session.add(user)
    ratelimit.clear(session, rate_key)
    allowed, refusal = allowed_users(session, matched)
    if not allowed:
        identity.record_denied_sign_in(
            session, identity=rate_key[6:], method="password", reason=refusal, source=source
        )
        return SignInOutcome(error=refusal)
    return SignInOutcome(users=allowed)


# ------------------------------------------------------------------ one-time links to set a password


def create_password_link(
    session: Session, *, actor: Actor, user_id: int, purpose: str = "reset"
) -> str:
    """A one-time link (token) with which a user sets a password; for an invitation or a reset."""
    if purpose not in {"invitation", "reset"}:
        raise ValidationError("A password link is for an invitation or a reset.")
    user = owned(session, User, user_id, reach(actor), "user")
    identity.check_manageable(actor, user.role)  # the same rule as every user change
    if user.status == UserStatus.DISABLED.value:
        raise ValidationError("Activate the user before sending a password link.")
    token = new_token()
    now = clock.now()
    hours = get_settings().AUTH_PASSWORD_LINK_HOURS
    # A new link replaces any unused earlier one.
    for old in session.exec(
        select(PasswordLink).where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
    ):
        old.used_at = now
        session.add(old)
    session.add(
        PasswordLink(
            token_hash=token_hash(token),
            user_id=user.id,
            purpose=purpose,
            created_by=actor.user_id,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"user.password_{purpose}",
        target_type="user",
        target_id=user.id,
        institute_id=user.institute_id,
        detail={"valid_hours": hours},
    )
    return token


def password_link_url(token: str) -> str:
    return f"{weburl.base_url()}/?set_password={token}"


def _link(session: Session, token: str) -> tuple[PasswordLink | None, str | None]:
    link = session.exec(
        select(PasswordLink).where(PasswordLink.token_hash == token_hash(token or ""))
    ).first()
    if link is None:
        return None, LINK_INVALID
    if link.used_at is not None:
        return None, LINK_USED
    expires = clock.aware_utc(link.expires_at)
    if clock.now() >= expires:
        return None, LINK_EXPIRED
    institute = session.exec(
        select(Institute)
        .join(User, User.institute_id == Institute.id)
        .where(User.id == link.user_id)
    ).first()
    if institute is not None and institute.subscription_expired(clock.today_in(institute.timezone)):
        return None, identity.SUBSCRIPTION_EXPIRED
    return link, None


def describe_link(session: Session, *, token: str) -> tuple[str | None, str | None]:
    """(the user's name, or None and why the link cannot be used)."""
    link, error = _link(session, token)
    if error:
        return None, error
    user = session.get(User, link.user_id)
    if user is None or user.status == UserStatus.DISABLED.value:
        return None, identity.NOT_AUTHORIZED
    return user.name, None


def set_password_with_link(
    session: Session, *, token: str, password: str, confirm: str, source: str
) -> int:
    """Use a one-time link: set the password, consume the link; returns the user id."""
    link, error = _link(session, token)
    if error:
        raise ValidationError(error)
    if password != confirm:
        raise ValidationError("The two passwords differ.", field="confirm")
    check_password_policy(password)
    user = session.get(User, link.user_id)
    if user is None or user.status == UserStatus.DISABLED.value:
        raise ValidationError(identity.NOT_AUTHORIZED)
    user.password_hash = hash_password(password)
    user.password_set_at = clock.now()
    session.add(user)
    link.used_at = clock.now()
    session.add(link)
    identity.end_user_sessions(session, user_id=user.id, reason="password_set")
    audit.on(
        session,
        None,
        "user.password_set",
        user.id,
        {"via": link.purpose},
        institute_id=user.institute_id,
        source=source,
    )
    return user.id


def change_password(
    session: Session, *, actor: Actor, current: str, new: str, confirm: str
) -> None:
    """A signed-in user changes their own password (the current one is required if set)."""
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotFound("Your account no longer exists.")
    if user.password_hash and not verify_password(user.password_hash, current or ""):
        raise ValidationError("Your current password is not right.", field="current")
    if new != confirm:
        raise ValidationError("The two new passwords differ.", field="confirm")
    check_password_policy(new)
    user.password_hash = hash_password(new)
    user.password_set_at = clock.now()
    session.add(user)
    session.flush()
    audit.on(session, actor, "user.password_changed", user.id)
