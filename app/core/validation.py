"""Parsers for what people type: email addresses and phone numbers."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from app.core.errors import ValidationError

_PHONE_ALLOWED = re.compile(r"^[+\d\s().-]+$")


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
    """Phone as digits (with a leading + when an international prefix was typed), or None when blank.

    Accepts spaces, dashes, dots and brackets; needs 7–15 digits.
    """
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if not _PHONE_ALLOWED.match(text):
        raise ValidationError(
            f"'{text}' is not a phone number: use digits, optionally starting with + and a country code.",
            field=field,
        )
    international = text.startswith("+") or text.startswith("00")
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        digits = digits[2:]
    if not 7 <= len(digits) <= 15:
        raise ValidationError(
            f"'{text}' is not a phone number: it needs between 7 and 15 digits.", field=field
        )
    return f"+{digits}" if international else digits


def phone_key(phone: str | None) -> str | None:
    """The comparable tail of a phone number: '+91 98765 43210' and '9876543210' share it."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    return digits[-10:]
