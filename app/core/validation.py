"""Parsers for what people type: email addresses (phone numbers: `app.core.phones`)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

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
