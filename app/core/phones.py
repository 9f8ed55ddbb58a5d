"""Phone numbers through `phonenumbers` (Google's libphonenumber): parsed in a region, stored E.164.

Every stored phone is E.164 ("+919876543210"), so "098765 43210", "+91 98765-43210" and
"9876543210" typed at an Indian institute are one number, and numbers match by plain equality.
A number typed without a country code is read in the institute's region (`region_for` its
currency, the same source as its money locale); with "+" or "00" it stands on its own.
"""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from app.core.errors import ValidationError
from app.core.money import locale_for

DEFAULT_REGION = "IN"

# The example in error messages where a familiar number reads better than the library's own.
_EXAMPLES = {"IN": "+91 98765 43210"}


def region_for(currency: str | None) -> str:
    """The region a national number is read in, from the institute's currency (INR → "IN")."""
    _, _, territory = locale_for(currency or "").partition("_")
    return territory or DEFAULT_REGION


def example(region: str) -> str:
    """A valid mobile number of `region`, written internationally, for messages and placeholders."""
    if region in _EXAMPLES:
        return _EXAMPLES[region]
    number = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    if number is None:
        return _EXAMPLES[DEFAULT_REGION]
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def normalize_phone(raw: str | None, region: str, *, field: str = "phone") -> str | None:
    """The number in E.164 ("+919876543210"), or None when blank; a number that is not a real
    phone number of `region` (or of the country its "+" code names) raises ValidationError."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    number = _parse(text, region)
    if number is None:
        raise ValidationError(
            f"'{text}' is not a phone number we can use. Enter a phone number like "
            f"{example(region)} (a number from another country needs its + code).",
            field=field,
        )
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def phone_candidates(raw: str | None, regions: Iterable[str]) -> dict[str, str]:
    """The E.164 number `raw` means in each of `regions` where it is valid (region → number).

    For look-ups that do not know the institute yet (sign-in): a number with its country code
    means the same everywhere; a national one may mean a different number in each region."""
    if raw is None or not raw.strip():
        return {}
    out = {}
    for region in regions:
        number = _parse(raw.strip(), region)
        if number is not None:
            out[region] = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return out


def format_phone(e164: str | None, region: str) -> str:
    """A stored number for people to read: national in the institute's own region
    ("098765 43210"), international otherwise ("+44 7400 123456"); anything unparseable as is."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, region)
    except NumberParseException:
        return e164
    own = phonenumbers.region_code_for_number(number) == region
    return phonenumbers.format_number(
        number, PhoneNumberFormat.NATIONAL if own else PhoneNumberFormat.INTERNATIONAL
    )


def search_digits(text: str | None) -> str | None:
    """The digits of a search to look for inside stored E.164 numbers ("098765 43" → "9876543"),
    or None when it has fewer than three; a national leading 0 is not in E.164, so it goes."""
    digits = "".join(ch for ch in (text or "") if ch.isdigit()).lstrip("0")
    return digits if len(digits) >= 3 else None
