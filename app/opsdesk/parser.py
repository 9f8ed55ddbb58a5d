"""The Ops desk's rules: plain requests → an intent and its arguments. Pure (no database).

The parser only reads words; it never decides who a student or batch is. It hands back the text
it found ("Math X", "ADM-001", "Riya Sharma") and the service resolves it in the institute.
Anything it cannot place is `unknown`; missing details stay out of `args` so the desk can ask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

GENERATE_INVOICES = "generate_invoices"
RECORD_PAYMENT = "record_payment"
NOTIFY_BALANCES = "notify_balances"
LIST_RISK = "list_risk"
MARK_ABSENT = "mark_absent"
STUDENT_SUMMARY = "student_summary"
HELP = "help"
UNKNOWN = "unknown"

# What the desk can do, in the words a person would use (the help text and the model's prompt).
EXAMPLES = {
    GENERATE_INVOICES: "generate invoices for batch Math X for December",
    RECORD_PAYMENT: "record payment 5000 for ADM-001 by M-Pesa ref QX12",
    NOTIFY_BALANCES: "notify guardians about fee balances",
    LIST_RISK: "who is at high risk in Physics XI",
    MARK_ABSENT: "mark ADM-001 absent today",
    STUDENT_SUMMARY: "summary of Riya Sharma",
}

MONTHS = {
    name: n
    for n, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_WORD = "|".join(sorted(MONTHS, key=len, reverse=True))

# Payment methods as people say them → the fee service's method codes.
METHOD_WORDS: list[tuple[str, str]] = [
    (r"m[\s-]?pesa", "mpesa"),
    (r"upi|g\s?pay|google\s+pay|phone\s?pe|paytm|bhim", "upi"),
    (r"bank\s+transfer|bank\s+deposit|wire\s+transfer|bank|neft|rtgs|imps|eft", "bank"),
    (r"(?:credit|debit)\s+card|card|pos|swipe", "card"),
    (r"cash", "cash"),
    (r"cheque|check|dd|demand\s+draft", "other"),
]
_CURRENCY = r"(?:₹|\$|€|£|₦|ksh\.?|kes|inr|rs\.?|usd|eur|gbp|ngn|zar)"
_AMOUNT = re.compile(
    rf"(?<![\w-]){_CURRENCY}?\s?(\d{{1,3}}(?:,\d{{2,3}})+(?:\.\d+)?|\d+(?:\.\d+)?)\s?(k\b|/-|{_CURRENCY})?(?![\w-])",
    re.IGNORECASE,
)
# Enrollment numbers: letters, a separator, digits ("ADM-001", "STU/2024/17", "F-3", "A12").
ENROLLMENT = re.compile(r"\b[A-Za-z]{1,6}[-/]?\d[\w/-]*\b")
REFERENCE = re.compile(
    r"\b(?:ref(?:erence)?|txn|transaction(?:\s+(?:id|no|number))?|receipt(?:\s+no)?|slip(?:\s+no)?"
    r"|code|utr)\b\s*(?:no\.?|number|id)?\s*[:#=-]?\s*([A-Za-z0-9][A-Za-z0-9/_-]*)",
    re.IGNORECASE,
)
_STOP = (
    r"(?=\s+(?:by|via|through|using|with|in|on|ref|reference|txn|transaction|paid|for|from|today"
    r"|amount|of|cash|upi|card|bank|mpesa|m-pesa|is|was|has|absent)\b|\s*[,.;:!?]|\s*$)"
)


@dataclass(frozen=True)
class Parsed:
    """What the rules understood: an intent and the arguments found (missing ones are absent)."""

    intent: str
    args: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ pieces


def parse_amount(text: str) -> str | None:
    """The first amount of money in the text, as a plain decimal string ("5000", "12500.50").

    Commas, currency symbols and codes (₹, $, KSh, Rs., INR…) and a trailing "k" or "/-" are
    understood. Numbers that are part of a code (ADM-001, QX12) are not amounts."""
    for match in _AMOUNT.finditer(text):
        whole = match.group(0)
        number, suffix = match.group(1), (match.group(2) or "").lower()
        try:
            value = Decimal(number.replace(",", ""))
        except InvalidOperation:
            continue
        if suffix == "k":
            value *= 1000
        if value <= 0:
            continue
        # A bare small number next to a month or "term" is a date, not money.
        if not re.search(_CURRENCY, whole, re.IGNORECASE) and _looks_like_date(text, match):
            continue
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return None


def _looks_like_date(text: str, match: re.Match) -> bool:
    before = text[: match.start()].lower()
    after = text[match.end() :].lower()
    return bool(
        re.search(rf"(?:\b(?:{_MONTH_WORD}|term|t|ref|reference|no\.?)|#)\s*$", before)
        or re.match(rf"\s*(?:{_MONTH_WORD})\b", after)
        or re.match(r"\s*(?:days?|weeks?|months?|students?|invoices?)\b", after)
    )


def parse_method(text: str) -> str | None:
    """The payment method named in the text, as the fee service's code (cash, upi, mpesa…)."""
    lowered = text.lower()
    found: list[tuple[int, str]] = []
    for pattern, code in METHOD_WORDS:
        m = re.search(rf"\b(?:{pattern})\b", lowered)
        if m:
            found.append((m.start(), code))
    return min(found)[1] if found else None


def parse_reference(text: str) -> str | None:
    """A transaction reference after "ref", "reference", "txn", "UTR"…"""
    m = REFERENCE.search(text)
    return m.group(1) if m else None


def parse_period(text: str, today: date) -> tuple[str, str] | None:
    """(period key, label) for a month or a term: "December" → ("2026-12", "December 2026").

    A month without a year is this year's, unless it is more than two months past (then next
    year's: in December, "January" means the coming one). "next month", "this month", "last
    month", "2026-12", "12/2026", "term 1 2027" and "T2" are understood too."""
    lowered = text.lower()
    rel = re.search(r"\b(next|this|current|coming|last|previous)\s+month\b", lowered)
    if rel:
        shift = {"next": 1, "coming": 1, "last": -1, "previous": -1}.get(rel.group(1), 0)
        month_index = today.year * 12 + today.month - 1 + shift
        return _month(month_index // 12, month_index % 12 + 1)
    m = re.search(r"\b(20\d{2})[-/.](0?[1-9]|1[0-2])\b", lowered) or None
    if m:
        return _month(int(m.group(1)), int(m.group(2)))
    m = re.search(r"\b(0?[1-9]|1[0-2])[-/.](20\d{2})\b", lowered)
    if m:
        return _month(int(m.group(2)), int(m.group(1)))
    m = re.search(rf"\b({_MONTH_WORD})\b\.?(?:[\s,]+(?:of\s+)?(20\d{{2}}))?", lowered)
    if m and not (m.group(1) == "may" and not m.group(2) and _may_is_a_verb(lowered, m)):
        month = MONTHS[m.group(1)]
        year = int(m.group(2)) if m.group(2) else today.year
        if not m.group(2) and (today.year * 12 + today.month) - (year * 12 + month) > 2:
            year += 1
        return _month(year, month)
    m = re.search(r"\b(?:term|t)\s*-?\s*([1-4])\b(?:[\s,]+(?:of\s+)?(20\d{2}))?", lowered)
    if m:
        year = int(m.group(2)) if m.group(2) else today.year
        return f"{year}-T{m.group(1)}", f"Term {m.group(1)} {year}"
    return None


def _may_is_a_verb(lowered: str, m: re.Match) -> bool:
    return bool(re.match(r"\s+(?:i|we|you|the|be|have)\b", lowered[m.end() :]))


def _month(year: int, month: int) -> tuple[str, str]:
    names = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
    return f"{year}-{month:02d}", f"{names[month - 1]} {year}"


def parse_target(text: str) -> dict[str, str]:
    """Who a request is about: {"target_kind": …, "target": "Math X"} or {}.

    Kinds: "batch" (the word batch was used), "level" (the word level), "class" (class, grade,
    standard, form: a batch or a level, the service decides — an exact batch name wins),
    "any" (a bare name) and "all". The whole name is kept ("class Grade 4 East" → "Grade 4
    East"); after grade/standard/form the word is part of the name ("grade 4" → "grade 4")."""
    if re.search(
        r"\b(?:all|every|each)\s+(?:active\s+)?(?:students?|batch(?:es)?|learners?)\b|\beveryone\b",
        text,
        re.IGNORECASE,
    ):
        return {"target_kind": "all"}
    name = r"(?!(?:for|by|in|on|from|to|about|with|of)\b)['\"]?([\w][\w .&'-]*?)['\"]?" + _TAIL
    patterns = [
        ("batch", r"\bbatch(?:\s+(?:called|named))?\s+" + name),
        ("batch", r"\b(?:for|of|in|to|from)\s+(?:the\s+)?([\w][\w .&'-]*?)\s+batch\b"),
        ("batch", r"\bthe\s+([\w][\w .&'-]*?)\s+batch\b"),
        ("level", r"\blevel\s+" + name),
        ("class", r"\bclass\s+" + name),
        ("class", r"\b((?:grade|standard|std\.?|form)\s+[\w][\w .&'-]*?)" + _TAIL),
        ("any", r"\b(?:in|of|for|from)\s+(?:the\s+)?([A-Z0-9][\w.&'-]*(?:\s+[\w.&'-]+)*?)" + _TAIL),
    ]
    for kind, pattern in patterns:
        for m in re.finditer(pattern, text, re.IGNORECASE if kind != "any" else 0):
            value = m.group(1).strip(" .'\"")
            if value and not _is_filler(value):
                return {"target_kind": kind, "target": value}
    return {}


_TAIL = (
    r"(?=\s+(?:for|by|in|on|from|to|about|with|this|next|last|today|term|t\d)\b|\s*[,.;:!?]|\s*$)"
)
_FILLER = {
    "the",
    "a",
    "me",
    "us",
    "fee",
    "fees",
    "dues",
    "balance",
    "balances",
    "risk",
    "high risk",
    "medium risk",
    "today",
    "guardians",
    "parents",
    "students",
    "invoices",
    "payment",
    "this month",
    "next month",
    "last month",
}


def _is_filler(value: str) -> bool:
    lowered = value.lower()
    return (
        lowered in _FILLER
        or lowered in MONTHS
        or bool(
            re.fullmatch(rf"(?:{_MONTH_WORD})\s+20\d{{2}}|20\d{{2}}(?:-\d+)?|term\s*\d", lowered)
        )
    )


def parse_student(text: str) -> str | None:
    """The student a request names: an enrollment number if there is one, else a name."""
    for m in ENROLLMENT.finditer(text):
        token = m.group(0)
        if re.fullmatch(r"(?i)t[1-4]|20\d{2}.*|\d+k?", token) or _in_reference(text, m):
            continue
        if token.lower() in MONTHS:
            continue
        return token.upper()
    return None


def _in_reference(text: str, m: re.Match) -> bool:
    ref = REFERENCE.search(text)
    return bool(ref and ref.start(1) <= m.start() < ref.end(1))


def _name_after(text: str, words: str) -> str | None:
    m = re.search(
        rf"\b(?:{words})\s+([A-Za-z][A-Za-z.'-]*(?:\s+[A-Za-z][A-Za-z.'-]*){{0,3}}?){_STOP}",
        text,
        re.IGNORECASE,
    )
    if not m:
        return None
    name = m.group(1).strip()
    return None if name.lower() in _FILLER or name.lower() in MONTHS else name


# ------------------------------------------------------------------ intents


def parse(text: str, *, today: date) -> Parsed:
    """Read one request. `today` (the institute's local date) anchors "next month"."""
    clean = " ".join((text or "").split()).strip()
    lowered = clean.lower()
    if not clean:
        return Parsed(UNKNOWN)
    if re.fullmatch(
        r"(?:help|\?|commands|menu|what can you do\??|what do you do\??|how does this work\??)",
        lowered,
    ):
        return Parsed(HELP)
    if _is_payment(lowered):
        return Parsed(RECORD_PAYMENT, _payment_args(clean))
    if re.search(r"\b(?:invoic(?:e|es|ing)|bill(?:s|ing)?)\b", lowered) and re.search(
        r"\b(?:generate|create|raise|issue|run|make|prepare|send out|bill|billing)\b"
        r"|^(?:please\s+)?invoice\b",
        lowered,
    ):
        args: dict[str, Any] = parse_target(clean)
        period = parse_period(clean, today)
        if period:
            args["period"], args["period_label"] = period
        return Parsed(GENERATE_INVOICES, args)
    if re.search(
        r"\b(?:notify|remind|reminders?|message|alert|tell|text|inform|send)\b", lowered
    ) and (
        re.search(r"\b(?:guardians?|parents?|famil(?:y|ies))\b", lowered)
        or re.search(r"\b(?:balances?|dues|fees?|outstanding|owing)\b", lowered)
    ):
        if re.search(r"\b(?:balances?|dues|fees?|outstanding|owing|owe|arrears|unpaid)\b", lowered):
            return Parsed(NOTIFY_BALANCES, parse_target(clean))
    if re.search(r"\brisk\b|\bstruggling\b|\bslipping\b", lowered):
        args = {"level": "MEDIUM" if re.search(r"\bmedium\b|\bmoderate\b", lowered) else "HIGH"}
        args.update(_risk_target(clean))
        return Parsed(LIST_RISK, args)
    if re.search(r"\babsent\b", lowered):
        args = {}
        student = parse_student(clean) or _absent_name(clean)
        if student:
            args["student"] = student
        batch = re.search(r"\b(?:in|from|for)\s+(?:the\s+)?([A-Z0-9][\w .&'-]*?)" + _TAIL, clean)
        if batch and not _is_filler(batch.group(1)):
            args["batch"] = batch.group(1).strip()
        return Parsed(MARK_ABSENT, args)
    if re.search(
        r"\b(?:summary|summarise|summarize|profile|overview|details|how is|how's|tell me about|"
        r"show(?: me)?|look up|lookup|info(?:rmation)?)\b",
        lowered,
    ):
        student = parse_student(clean) or _summary_name(clean)
        if student:
            return Parsed(STUDENT_SUMMARY, {"student": student})
    return Parsed(UNKNOWN)


def _is_payment(lowered: str) -> bool:
    if re.search(r"\binvoic", lowered):
        return False
    said = re.search(r"\b(?:payments?|paid|pays|received|receive|deposited)\b", lowered)
    verb = re.search(r"\b(?:record|log|take|add|enter|post|note)\b", lowered)
    if said and verb:
        return True
    taken = said or re.search(r"\b(?:take|took|collect|collected)\b", lowered)
    return bool(taken and parse_amount(REFERENCE.sub(" ", lowered)))


def _payment_args(text: str) -> dict[str, Any]:
    args: dict[str, Any] = {}
    reference = parse_reference(text)
    # The amount is read with the reference and enrollment codes taken out, so "ref 778" or
    # "ADM-001" is never mistaken for money.
    without = REFERENCE.sub(" ", text)
    without = ENROLLMENT.sub(lambda m: " " if parse_student(m.group(0)) else m.group(0), without)
    amount = parse_amount(without)
    if amount:
        args["amount"] = amount
    student = parse_student(text) or _payment_name(text)
    if student:
        args["student"] = student
    method = parse_method(REFERENCE.sub(" ", text))
    if method:
        args["method"] = method
    if reference:
        args["reference"] = reference
    return args


def _payment_name(text: str) -> str | None:
    name = _name_after(text, "from|for|of")
    if name:
        return name
    m = re.match(r"\s*([A-Z][a-z.'-]+(?:\s+[A-Z][a-z.'-]+){0,3})\s+(?:paid|has paid|pays)\b", text)
    return m.group(1) if m else None


def _absent_name(text: str) -> str | None:
    m = re.search(
        r"\bmark\s+(?!as\b)([A-Za-z][A-Za-z.'-]*(?:\s+[A-Za-z][A-Za-z.'-]*){0,3}?)\s+(?:as\s+)?absent\b",
        text,
        re.IGNORECASE,
    )
    if m:
        return m.group(1)
    m = re.match(
        r"\s*([A-Z][A-Za-z.'-]*(?:\s+[A-Z][A-Za-z.'-]*){0,3})\s+(?:is|was)\s+absent\b", text
    )
    if m:
        return m.group(1)
    return _name_after(text, r"absent:?|absentee:?")


def _summary_name(text: str) -> str | None:
    name = _name_after(
        text,
        r"summary\s+(?:of|for)|profile\s+(?:of|for)|details\s+(?:of|for)|"
        r"about|how is|how's|show(?:\s+me)?|look\s*up|info(?:rmation)?\s+(?:on|about|for)|summary|profile",
    )
    if name and name.lower() in ("summary", "profile", "details", "student"):
        return None
    if name:
        name = re.sub(r"(?i)^(?:student|the student)\s+", "", name)
        name = re.sub(r"(?i)\s+doing$", "", name)
        if re.match(r"(?i)(?:the|a|an|my|our|all|every|some|any|me|us|it|this|that)\b", name):
            return None  # "show me the fees page" is not about a student
    return name or None


def _risk_target(text: str) -> dict[str, str]:
    target = parse_target(text)
    if target.get("target_kind") == "all":
        return {}
    return target
