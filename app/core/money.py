"""Money in integer minor units (paise, cents). Never floats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from app.core.errors import ValidationError

_EXPONENTS = {"JPY": 0, "KRW": 0, "UGX": 0, "RWF": 0, "KWD": 3, "BHD": 3, "OMR": 3}
_SYMBOLS = {"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£", "KES": "KSh ", "NGN": "₦", "ZAR": "R "}


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


def format_money(minor: int, currency: str) -> str:
    """Display form, e.g. ₹1,250.50 or KSh 300.00."""
    digits = exponent(currency)
    value = from_minor(abs(minor), currency)
    body = f"{value:,.{digits}f}"
    sign = "-" if minor < 0 else ""
    symbol = _SYMBOLS.get(currency.upper())
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {currency.upper()}"


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
