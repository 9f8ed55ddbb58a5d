"""Random tokens, keyed hashes and password hashing (argon2id with argon2-cffi's defaults)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.core.config import get_settings


def new_token() -> str:
    """A URL-safe random token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database stores for a token: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 under SECRET_KEY: for short secrets (6-digit codes) that a plain hash would not protect."""
    return hmac.new(get_settings().SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def random_digits(n: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(n))


@lru_cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, the library's current recommended parameters


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash still costs one verification (no timing hint)."""
    if not stored_hash:
        _burn(password)
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)


@lru_cache
def _DUMMY_HASH() -> str:  # noqa: N802
    return _hasher().hash("cohort-dummy-password")


def _burn(password: str) -> None:
    with contextlib.suppress(VerifyMismatchError, VerificationError):
        _hasher().verify(_DUMMY_HASH(), password + "\x00")
