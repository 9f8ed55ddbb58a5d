"""Billing periods: which month or term a fee structure bills for on a given day.

One rule for every caller (invoice runs, inquiry conversion, the Ops desk, the demo): a monthly
structure bills `YYYY-MM`; a per-term structure bills the institute's term containing the day,
`YYYY-Tn`, where YYYY is the year the term starts and n its place in the year's list of terms.
An institute's terms are the days they start ("01-01,07-01": two terms, January to June and
July to December, the default). Pure: no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from app.core.errors import ValidationError

DEFAULT_TERM_STARTS = "01-01,07-01"
_MONTH_KEY = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
_TERM_KEY = re.compile(r"(\d{4})-T([1-9])")


def parse_term_starts(text: str | None) -> list[tuple[int, int]]:
    """(month, day) of each term's start, in year order; "04-01, 10-01" → [(4, 1), (10, 1)]."""
    raw = (text or "").strip() or DEFAULT_TERM_STARTS
    starts = []
    for part in re.split(r"[,;\s]+", raw):
        m = re.fullmatch(r"(\d{1,2})[-/](\d{1,2})", part)
        if not m:
            raise ValidationError(
                f"“{part}” is not a term start; write month-day, such as 01-01 or 07-15.",
                field="term_starts",
            )
        month, day = int(m.group(1)), int(m.group(2))
        try:
            date(2001, month, day)  # not a leap year: 29 February cannot start a term
        except ValueError:
            raise ValidationError(
                f"“{part}” is not a day of the year (month-day).", field="term_starts"
            ) from None
        starts.append((month, day))
    if len(starts) > 9:
        raise ValidationError("An institute has at most 9 terms a year.", field="term_starts")
    if starts != sorted(set(starts)):
        raise ValidationError(
            "List the term starts once each, in the order of the year.", field="term_starts"
        )
    return starts


def format_term_starts(starts: list[tuple[int, int]]) -> str:
    return ",".join(f"{m:02d}-{d:02d}" for m, d in starts)


@dataclass(frozen=True)
class Term:
    key: str  # "2026-T2"
    number: int
    starts_on: date
    ends_on: date

    @property
    def label(self) -> str:
        return f"Term {self.number} {self.starts_on.year}"


def _term_at(year: int, index: int, starts: list[tuple[int, int]]) -> Term:
    month, day = starts[index]
    begin = date(year, month, day)
    if index + 1 < len(starts):
        end = date(year, *starts[index + 1]) - timedelta(days=1)
    else:
        end = date(year + 1, *starts[0]) - timedelta(days=1)
    return Term(f"{year}-T{index + 1}", index + 1, begin, end)


def term_containing(on_date: date, term_starts: str | None = None) -> Term:
    """The term that contains `on_date` (before the first start of a year: last year's last)."""
    starts = parse_term_starts(term_starts)
    for index in range(len(starts) - 1, -1, -1):
        if on_date >= date(on_date.year, *starts[index]):
            return _term_at(on_date.year, index, starts)
    return _term_at(on_date.year - 1, len(starts) - 1, starts)


def term_by_key(key: str, term_starts: str | None = None) -> Term | None:
    """The term a key names ("2026-T2"), or None when the institute has no such term."""
    m = _TERM_KEY.fullmatch((key or "").strip())
    starts = parse_term_starts(term_starts)
    if not m or int(m.group(2)) > len(starts):
        return None
    return _term_at(int(m.group(1)), int(m.group(2)) - 1, starts)


def billing_period(period_kind: str, on_date: date, term_starts: str | None = None) -> str:
    """The period a structure billed per `period_kind` ("month" or "term") bills on `on_date`:
    2026-12 for a monthly structure, 2026-T2 (the term containing the day) for a per-term one."""
    if period_kind == "month":
        return f"{on_date:%Y-%m}"
    return term_containing(on_date, term_starts).key


def period_label(key: str, term_starts: str | None = None) -> str:
    """ "2026-T2" → "Term 2 2026 (1 Jul – 31 Dec 2026)"; "2026-12" → "December 2026"."""
    m = _MONTH_KEY.fullmatch(key)
    if m:
        return f"{date(int(m.group(1)), int(m.group(2)), 1):%B %Y}"
    term = term_by_key(key, term_starts)
    if term is None:
        return key
    return f"{term.label} ({term.starts_on:%-d %b} – {term.ends_on:%-d %b %Y})"


def check_period(period_kind: str, key: str, term_starts: str | None = None) -> str:
    """The period key, cleaned, if it fits a structure billed per `period_kind`; else a
    ValidationError saying what to write (so a per-term structure is never billed "2026-12")."""
    key = (key or "").strip().upper()
    if period_kind == "month":
        if not _MONTH_KEY.fullmatch(key):
            raise ValidationError(
                "This fee structure is billed per month: write the period as YYYY-MM, "
                "such as 2026-12.",
                field="period",
            )
        return key
    if not _TERM_KEY.fullmatch(key):
        raise ValidationError(
            "This fee structure is billed per term: write the period as YYYY-Tn, such as 2026-T1.",
            field="period",
        )
    return key
