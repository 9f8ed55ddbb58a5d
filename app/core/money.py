"""Money in integer minor units (paise, cents). Never floats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel import UnknownLocaleError, numbers

from app.core.errors import ValidationError

_EXPONENTS = {"JPY": 0, "KRW": 0, "UGX": 0, "RWF": 0, "KWD": 3, "BHD": 3, "OMR": 3}


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor(amount: str | int | Decimal, currency: str) -> int:
    """Parse a typed amount ("1,250.50") into minor units; refuse more decimals than the currency has."""
    text = str(amount).replace(",", "").replace("_", "").strip()
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError(f"'{amount}' is not an amount of money.") from exc
    if not value.is_finite():
        raise ValidationError(f"'{amount}' is not an amount of money.")
    scale = Decimal(10) ** exponent(currency)
    minor = value * scale
    if minor != minor.to_integral_value():
        raise ValidationError(
            f"{currency} amounts have at most {exponent(currency)} decimal places."
        )
    return int(minor.to_integral_value(rounding=ROUND_HALF_UP))


def from_minor(minor: int, currency: str) -> Decimal:
    return Decimal(minor) / (Decimal(10) ** exponent(currency))


# The locale whose conventions an institute's money is written in, by its currency (Babel's
# data does the rest: ₹18,47,726.00 in en_IN, Ksh1,847,726.00 in en_KE, R1 847 726,00 in en_ZA).
LOCALES = {
    "INR": "en_IN",
    "KES": "en_KE",
    "UGX": "en_UG",
    "TZS": "en_TZ",
    "RWF": "en_RW",
    "NGN": "en_NG",
    "GHS": "en_GH",
    "ZAR": "en_ZA",
    "USD": "en_US",
    "GBP": "en_GB",
    "EUR": "en_IE",
    "AED": "en_AE",
    "SGD": "en_SG",
    "AUD": "en_AU",
    "CAD": "en_CA",
    "NZD": "en_NZ",
    "PKR": "en_PK",
    "LKR": "en_LK",
    "BDT": "en_BD",
    "NPR": "en_NP",
}


def locale_for(currency: str) -> str:
    """The locale an institute billing in `currency` writes its money in ("en" if unknown)."""
    return LOCALES.get((currency or "").upper(), "en")


def format_money(
    minor: int,
    currency: str,
    *,
    locale: str | None = None,
    compact: bool = False,
    plain: bool = False,
) -> str:
    """The one money formatter (Babel, the institute's locale): ₹18,47,726.00 for INR,
    $1,847,726.00 for USD. `compact` gives a short figure for a metric (₹18.5L, $1.8M);
    `plain` writes the currency code instead of its symbol (INR 18,47,726.00), for the PDF core
    font that has no ₹. A negative amount keeps its minus sign."""
    code = (currency or "").upper()
    return _formatted(int(minor), code, locale or locale_for(code), compact, plain)


@lru_cache(maxsize=8192)
def _formatted(minor: int, code: str, loc: str, compact: bool, plain: bool) -> str:
    # Babel parses the locale's pattern on every call (~70 µs); a page or the risk job formats
    # the same few fee amounts thousands of times.
    value = from_minor(minor, code)
    try:
        if compact:
            text = numbers.format_compact_currency(value, code, locale=loc, fraction_digits=1)
        else:
            text = numbers.format_currency(value, code, locale=loc)
    except (UnknownLocaleError, ValueError):
        text = f"{value:,.{exponent(code)}f} {code}"
    if plain:
        symbol = numbers.get_currency_symbol(code, locale=loc)
        if symbol != code and symbol in text:
            text = text.replace(symbol, f"{code} ", 1)
    return text.replace("\xa0", " ").replace("\u200f", "")


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split `total` minor units across weights without losing a unit (largest remainder)."""
    if not weights or sum(weights) <= 0:
        raise ValueError("weights must be positive")
    whole = sum(weights)
    shares = [total * w // whole for w in weights]
    remainders = sorted(
        range(len(weights)), key=lambda i: (total * weights[i]) % whole, reverse=True
    )
    for i in remainders[: total - sum(shares)]:
        shares[i] += 1
    return shares
