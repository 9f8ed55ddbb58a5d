"""Export an institute's journal for an independent ledger tool (Beancount)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlmodel import Session, select

from app.core.money import exponent, from_minor
from app.fees.models import Account, JournalEntry, JournalLine
from app.identity.models import Institute

ROOTS = {
    "asset": "Assets",
    "liability": "Liabilities",
    "income": "Income",
    "expense": "Expenses",
    "equity": "Equity",
}


def _account_name(account: Account) -> str:
    words = re.sub(r"[^A-Za-z0-9 ]", " ", account.name).title().replace(" ", "")
    return f"{ROOTS[account.type]}:A{account.code}-{words or 'Account'}"


def beancount_lines_internal(session: Session, *, institute_id: int) -> Iterator[str]:
    """One `open` per account and one balanced transaction per journal entry (streamed)."""
    institute = session.get(Institute, institute_id)
    currency = institute.currency
    places = exponent(currency)
    accounts = {
        a.id: a for a in session.exec(select(Account).where(Account.institute_id == institute_id))
    }
    first = session.exec(
        select(JournalEntry.entry_date)
        .where(JournalEntry.institute_id == institute_id)
        .order_by(JournalEntry.entry_date)
    ).first()
    opened = first.isoformat() if first else "2000-01-01"
    yield f'option "title" "{institute.name} (Cohort)"'
    yield f'option "operating_currency" "{currency}"'
    yield ""
    for account in sorted(accounts.values(), key=lambda a: a.code):
        yield f"{opened} open {_account_name(account)} {currency}"
    yield ""
    lines_of: dict[int, list[JournalLine]] = {}
    entries = session.exec(
        select(JournalEntry)
        .where(JournalEntry.institute_id == institute_id)
        .order_by(JournalEntry.entry_date, JournalEntry.id)
    ).all()
    for line in session.exec(
        select(JournalLine)
        .where(JournalLine.institute_id == institute_id)
        .order_by(JournalLine.entry_id, JournalLine.id)
    ):
        lines_of.setdefault(line.entry_id, []).append(line)
    for entry in entries:
        memo = entry.memo.replace('"', "'")
        yield f'{entry.entry_date.isoformat()} * "{memo}" ^cohort-{entry.id}'
        for line in lines_of.get(entry.id, []):
            amount = line.debit_minor - line.credit_minor
            yield f"  {_account_name(accounts[line.account_id])}  {from_minor(amount, currency):.{places}f} {currency}"
        yield ""
