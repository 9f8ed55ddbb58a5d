"""Parsers for what people type: email addresses (phone numbers: `app.core.phones`)."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from app.core import phones
from app.core.errors import ValidationError


def normalize_email(raw: str | None, *, field: str = "email") -> str | None:
    """Lower-cased, syntax-checked email, or None when blank."""
    if raw is None or not raw.strip():
        return None
    try:
        result = validate_email(raw.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValidationError(
            f"'{raw.strip()}' is not a valid email address: {exc}", field=field
        ) from exc
    return result.normalized.lower()


def normalize_phone(raw: str | None, *, field: str = "phone") -> str | None:
    """E.164 read in the default region: only for app.access, until it passes its institute's
    region to `app.core.phones.normalize_phone` (which everything else calls)."""
    return phones.normalize_phone(raw, phones.DEFAULT_REGION, field=field)


def phone_key(phone: str | None) -> str | None:
    """The last ten digits: only app.access still keys its requests on them (as its
    `access_requests.phone_key` column does); everything else matches E.164 numbers exactly."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    return digits[-10:]
