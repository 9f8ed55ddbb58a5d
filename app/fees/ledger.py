"""The double-entry ledger: a chart of accounts per institute, balanced append-only entries.

Invoice: DR 1100 Accounts Receivable (net) and DR 4900 Discounts and scholarships / CR income
(per line, gross). Payment: DR 1000 Cash & Bank /
CR 1100 (and CR 2000 Unearned Revenue for money beyond what is owed). A void posts the exact
reverse of the original entry; nothing posted is ever changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from app.core import clock
from app.core.errors import Conflict, ValidationError
from app.core.roles import Role
from app.core.tenancy import Actor
from app.fees.models import Account, JournalEntry, JournalLine

CASH, RECEIVABLE, UNEARNED, DISCOUNTS = "1000", "1100", "2000", "4900"
DEFAULT_CHART = [
    (CASH, "Cash & Bank", "asset"),
    (RECEIVABLE, "Accounts Receivable", "asset"),
    (UNEARNED, "Unearned Revenue", "liability"),
    ("4000", "Tuition income", "income"),
    # Contra-income: discounts and scholarships are debited here, so income stays gross.
    (DISCOUNTS, "Discounts and scholarships", "income"),
    ("5000", "General expenses", "expense"),
]


def ensure_chart_internal(session: Session, *, institute_id: int) -> dict[str, Account]:
    """The institute's accounts by code, creating the default chart the first time."""
    accounts = {
        a.code: a for a in session.exec(select(Account).where(Account.institute_id == institute_id))
    }
    missing = [(code, name, kind) for code, name, kind in DEFAULT_CHART if code not in accounts]
    for code, name, kind in missing:
        account = Account(institute_id=institute_id, code=code, name=name, type=kind)
        session.add(account)
        accounts[code] = account
    if missing:
        session.flush()
    return accounts


def add_account(session: Session, *, actor: Actor, code: str, name: str, type: str) -> Account:
    """Admin: open another account (income 4000+, expenses 5000+, …)."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    ensure_chart_internal(session, institute_id=institute_id)
    code = (code or "").strip()
    if not code.isdigit() or len(code) != 4:
        raise ValidationError("An account code is four digits, such as 4100.", field="code")
    if type not in {"asset", "liability", "income", "expense", "equity"}:
        raise ValidationError("Choose asset, liability, income, expense or equity.", field="type")
    if type == "income" and not code.startswith("4"):
        raise ValidationError("Income accounts are numbered 4000 and up.", field="code")
    if type == "expense" and not code.startswith("5"):
        raise ValidationError("Expense accounts are numbered 5000 and up.", field="code")
    if session.exec(
        select(Account.id).where(Account.institute_id == institute_id, Account.code == code)
    ).first():
        raise Conflict(f"Account {code} already exists.", field="code")
    if not (name or "").strip():
        raise ValidationError("The account needs a name.", field="name")
    account = Account(institute_id=institute_id, code=code, name=name.strip(), type=type)
    session.add(account)
    session.flush()
    return account


@dataclass(frozen=True)
class Posting:
    account_id: int
    debit: int = 0
    credit: int = 0


def post_internal(
    session: Session,
    *,
    institute_id: int,
    entry_date: date,
    memo: str,
    source_type: str,
    source_id: int | None,
    postings: list[Posting],
    reverses_id: int | None = None,
) -> JournalEntry:
    """Post one entry; refused unless debits equal credits and every amount is positive."""
    _check(postings)
    entry = JournalEntry(
        institute_id=institute_id,
        posted_at=clock.now(),
        entry_date=entry_date,
        memo=memo[:200],
        source_type=source_type,
        source_id=source_id,
        reverses_id=reverses_id,
    )
    session.add(entry)
    session.flush()
    session.execute(
        insert(JournalLine),
        [
            {
                "institute_id": institute_id,
                "entry_id": entry.id,
                "account_id": p.account_id,
                "debit_minor": p.debit,
                "credit_minor": p.credit,
            }
            for p in postings
        ],
    )
    return entry


def _check(postings: list[Posting]) -> None:
    if not postings:
        raise ValidationError("A journal entry needs lines.")
    for p in postings:
        if p.debit < 0 or p.credit < 0 or (p.debit == 0) == (p.credit == 0):
            raise ValidationError(
                "Each journal line is either a debit or a credit, of a positive amount."
            )
    debits, credits = sum(p.debit for p in postings), sum(p.credit for p in postings)
    if debits != credits:
        raise ValidationError(f"Unbalanced journal entry: debits {debits} ≠ credits {credits}.")


@dataclass(frozen=True)
class Entry:
    entry_date: date
    memo: str
    source_id: int
    postings: list[Posting]


def post_many_internal(
    session: Session, *, institute_id: int, source_type: str, entries: list[Entry]
) -> None:
    """Post many entries of one source (an invoice run, a batch of payments) in three
    statements; each is checked exactly as `post_internal` checks one."""
    if not entries:
        return
    for e in entries:
        _check(e.postings)
    now = clock.now()
    session.execute(
        insert(JournalEntry),
        [
            {
                "institute_id": institute_id,
                "posted_at": now,
                "entry_date": e.entry_date,
                "memo": e.memo[:200],
                "source_type": source_type,
                "source_id": e.source_id,
            }
            for e in entries
        ],
    )
    ids = dict(
        session.exec(
            select(JournalEntry.source_id, JournalEntry.id).where(
                JournalEntry.institute_id == institute_id,
                JournalEntry.source_type == source_type,
                col(JournalEntry.source_id).in_([e.source_id for e in entries]),
            )
        ).all()
    )
    session.execute(
        insert(JournalLine),
        [
            {
                "institute_id": institute_id,
                "entry_id": ids[e.source_id],
                "account_id": p.account_id,
                "debit_minor": p.debit,
                "credit_minor": p.credit,
            }
            for e in entries
            for p in e.postings
        ],
    )


def payment_postings(accounts: dict[str, Account], amount: int, credit: int) -> list[Posting]:
    """DR Cash & Bank the amount; CR Receivable what settled invoices, Unearned the rest."""
    postings = [Posting(accounts[CASH].id, debit=amount)]
    if amount - credit:
        postings.append(Posting(accounts[RECEIVABLE].id, credit=amount - credit))
    if credit:
        postings.append(Posting(accounts[UNEARNED].id, credit=credit))
    return postings


def reverse(session: Session, *, entry: JournalEntry, entry_date: date, memo: str) -> JournalEntry:
    """Post the mirror image of an entry (debits become credits)."""
    lines = session.exec(
        select(JournalLine).where(
            JournalLine.institute_id == entry.institute_id, JournalLine.entry_id == entry.id
        )
    ).all()
    return post_internal(
        session,
        institute_id=entry.institute_id,
        entry_date=entry_date,
        memo=memo,
        source_type="void",
        source_id=entry.source_id,
        reverses_id=entry.id,
        postings=[
            Posting(line.account_id, debit=line.credit_minor, credit=line.debit_minor)
            for line in lines
        ],
    )


@dataclass(frozen=True)
class BalanceRow:
    code: str
    name: str
    type: str
    debit: int
    credit: int

    @property
    def balance(self) -> int:
        """Debit-positive balance."""
        return self.debit - self.credit


def trial_balance(session: Session, *, actor: Actor) -> list[BalanceRow]:
    """Every account with its debit and credit totals, in one grouped query (admin)."""
    actor.require(Role.ADMIN)
    return balances_internal(session, institute_id=actor.institute_scope())


def balances_internal(session: Session, *, institute_id: int) -> list[BalanceRow]:
    totals = (
        select(
            JournalLine.account_id,
            func.sum(JournalLine.debit_minor).label("d"),
            func.sum(JournalLine.credit_minor).label("c"),
        )
        .where(JournalLine.institute_id == institute_id)
        .group_by(JournalLine.account_id)
        .subquery()
    )
    rows = session.exec(
        select(Account, totals.c.d, totals.c.c)
        .outerjoin(totals, totals.c.account_id == Account.id)
        .where(Account.institute_id == institute_id)
        .order_by(Account.code)
    ).all()
    return [BalanceRow(a.code, a.name, a.type, int(d or 0), int(c or 0)) for a, d, c in rows]


@dataclass(frozen=True)
class LedgerRow:
    entry_id: int
    entry_date: date
    memo: str
    debit: int
    credit: int
    running: int  # debit-positive balance after this line


def account_ledger(
    session: Session, *, actor: Actor, code: str, limit: int = 1000
) -> list[LedgerRow]:
    """One account's lines in date order with a running balance (admin)."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    account = session.exec(
        select(Account).where(Account.institute_id == institute_id, Account.code == code)
    ).first()
    if account is None:
        from app.core.errors import NotFound

        raise NotFound(f"There is no account {code}.")
    rows = session.exec(
        select(
            JournalEntry.id,
            JournalEntry.entry_date,
            JournalEntry.memo,
            JournalLine.debit_minor,
            JournalLine.credit_minor,
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.institute_id == institute_id, JournalLine.account_id == account.id)
        .order_by(JournalEntry.entry_date, JournalEntry.id, JournalLine.id)
        .limit(limit)
    ).all()
    out, running = [], 0
    for entry_id, entry_date, memo, debit, credit in rows:
        running += debit - credit
        out.append(LedgerRow(entry_id, entry_date, memo, debit, credit, running))
    return out


def unbalanced_entries_internal(session: Session, *, institute_id: int) -> list[int]:
    """Ids of entries whose lines do not balance (should always be empty)."""
    return list(
        session.exec(
            select(JournalLine.entry_id)
            .where(JournalLine.institute_id == institute_id)
            .group_by(JournalLine.entry_id)
            .having(func.sum(JournalLine.debit_minor) != func.sum(JournalLine.credit_minor))
        )
    )
