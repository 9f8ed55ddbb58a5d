"""Parsers for what people type: email addresses and Telegram chat ids (phone numbers:
`app.core.phones`)."""

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


def telegram_chat_id(raw: str | None, *, field: str = "telegram_chat_id") -> str | None:
    """A Telegram chat id as typed (a number, negative for groups), or None when blank."""
    chat = (raw or "").strip() or None
    if chat is not None and not chat.lstrip("-").isdigit():
        raise ValidationError("A Telegram chat id is a number, such as 123456789.", field=field)
    return chat
