"""One allocation rule for a payment: the named invoice first, then the earliest due, then the
older invoice; never more than a line or an invoice owes; the rest is credit — and an amount
above the balance is taken only when the person confirms it as advance credit."""

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from app.academics import service as academics
from app.core.errors import ValidationError
from app.core.money import allocate
from app.core.roles import Role
from app.fees import allocation
from app.fees import service as fees
from app.fees.models import Payment, PaymentAllocation
from tests import factories as f

_names = itertools.count(1)


@st.composite
def open_books(draw):
    n_invoices = draw(st.integers(0, 4))
    lines, invoice_open = [], {}
    line_id = itertools.count(1)
    for invoice_id in range(1, n_invoices + 1):
        due = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 400)))
        opens = draw(st.lists(st.integers(1, 50_000), min_size=1, max_size=4))
        for amount in opens:
            lines.append(allocation.OpenLine(next(line_id), invoice_id, due, amount))
        # A discounted invoice owes less than its lines add up to.
        invoice_open[invoice_id] = draw(st.integers(0, sum(opens)))
    named = draw(st.one_of(st.none(), st.integers(1, max(n_invoices, 1))))
    return lines, invoice_open, named


@given(books=open_books(), amount=st.integers(0, 300_000))
def test_allocation_properties(books, amount):
    lines, invoice_open, named = books
    plan = allocation.allocate_payment(amount, lines, invoice_open=invoice_open, invoice_id=named)
    applied = plan.applied_minor
    assert applied + plan.credit_minor == amount  # nothing lost, nothing made up
    assert plan.credit_minor >= 0
    for line, take in plan.parts:
        assert 0 < take <= line.open_minor  # never negative, never above the line's balance
    for invoice_id, taken in plan.by_invoice().items():
        assert taken <= invoice_open[invoice_id]  # never above what the invoice owes
    can_take = allocation.open_total(lines, invoice_open)
    assert applied == min(amount, can_take)  # credit only once everything open is paid
    if named is not None and named in invoice_open:
        # The named invoice is served before any other.
        named_can = min(
            sum(x.open_minor for x in lines if x.invoice_id == named), invoice_open[named]
        )
        if any(line.invoice_id != named for line, _ in plan.parts):
            assert plan.by_invoice().get(named, 0) == named_can
    # Among the others, an invoice is touched only when every earlier-due one is settled.
    others = [x for x in allocation.order(lines, named) if x.invoice_id != named]
    paid = plan.by_invoice()
    for a, b in itertools.combinations(
        sorted(
            {x.invoice_id for x in others},
            key=lambda i: next((x.due_on, x.invoice_id) for x in others if x.invoice_id == i),
        ),
        2,
    ):
        if paid.get(b):
            a_can = min(sum(x.open_minor for x in lines if x.invoice_id == a), invoice_open[a])
            assert paid.get(a, 0) == a_can


@given(
    total=st.integers(0, 10_000_000),
    percents=st.lists(st.integers(1, 100), min_size=1, max_size=4),
)
def test_instalments_split_by_the_money_rule(total, percents):
    steps = [(p, 10 * n) for n, p in enumerate(percents)]
    parts = fees.split_instalments(total, date(2026, 7, 1), steps)
    assert [a for _, a in parts] == allocate(total, percents)
    assert sum(a for _, a in parts) == total and all(a >= 0 for _, a in parts)
    assert [d for d, _ in parts] == [
        date(2026, 7, 1) + timedelta(days=10 * n) for n in range(len(steps))
    ]


def _setup(db):
    inst = f.institute(db, name=f"Allocation Institute {next(_names)}")
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    with db.scope(admin) as s:
        ids = [
            academics.create_student(s, actor=admin, enrollment_no=f"A-{n}", name=f"Payer {n}").id
            for n in range(2)
        ]
        structure = fees.create_structure(
            s, actor=admin, name="Term fees", items=[{"name": "Tuition", "amount_minor": 236_00}]
        ).id
        for period, issued in (("2026-T1", date(2026, 1, 5)), ("2026-T2", date(2026, 7, 5))):
            fees.invoice_run(
                s,
                actor=admin,
                structure_id=structure,
                period=period,
                student_ids=ids,
                issued_on=issued,
            )
    return inst, admin, ids


def test_bulk_pays_the_named_invoice_first_like_a_single_payment(db):
    inst, admin, ids = _setup(db)
    with db.scope(admin) as s:
        t2 = {
            i.student_id: i.id for i in fees.list_invoices(s, actor=admin) if i.period == "2026-T2"
        }
    with db.scope(admin, immediate=True) as s:
        fees.record_payment(
            s,
            actor=admin,
            student_id=ids[0],
            amount_minor=100_00,
            method="upi",
            reference="ONE-1",
            invoice_id=t2[ids[0]],
        )
        fees.record_payments_bulk(
            s,
            actor=admin,
            payments=[
                {
                    "student_id": ids[1],
                    "amount_minor": 100_00,
                    "method": "upi",
                    "reference": "BULK-1",
                    "invoice_id": t2[ids[1]],
                },
            ],
        )
    with db.scope(admin) as s:
        paid = {(i.student_id, i.period): i.paid_minor for i in fees.list_invoices(s, actor=admin)}
    for sid in ids:  # both ways: the named (newer) term is paid, the older one untouched
        assert (paid[(sid, "2026-T1")], paid[(sid, "2026-T2")]) == (0, 100_00)


def test_an_overpayment_needs_the_advance_credit_confirmation(db):
    inst, admin, ids = _setup(db)
    with (
        pytest.raises(
            ValidationError, match="more than the open balance of ₹472.00: ₹528.00 would be held"
        ),
        db.scope(admin, immediate=True) as s,
    ):
        fees.record_payment(
            s, actor=admin, student_id=ids[0], amount_minor=1000_00, method="cash", reference="C-1"
        )
    with (
        pytest.raises(ValidationError, match="advance credit"),
        db.scope(admin, immediate=True) as s,
    ):
        fees.record_payments_bulk(
            s,
            actor=admin,
            payments=[
                {"student_id": ids[1], "amount_minor": 10_00, "method": "cash", "reference": "C-2"},
                {
                    "student_id": ids[0],
                    "amount_minor": 1000_00,
                    "method": "cash",
                    "reference": "C-3",
                },
            ],
        )
    with db.scope(system=True) as s:  # refused before anything was written, receipts untouched
        assert s.exec(select(Payment).where(Payment.institute_id == inst.id)).all() == []
    with db.scope(admin, immediate=True) as s:
        paid = fees.record_payment(
            s,
            actor=admin,
            student_id=ids[0],
            amount_minor=1000_00,
            method="cash",
            reference="C-1",
            allow_credit=True,
        )
        balance = fees.student_balance(s, actor=admin, student_id=ids[0])
        parts = s.exec(
            select(PaymentAllocation.amount_minor).where(PaymentAllocation.payment_id == paid.id)
        ).all()
    assert (paid.receipt_no, paid.credit_minor, sum(parts)) == (1, 528_00, 472_00)
    assert (balance.owed_minor, balance.credit_minor) == (0, 528_00)
    with (
        pytest.raises(ValidationError, match="Nothing is owed"),
        db.scope(admin, immediate=True) as s,
    ):
        fees.record_payment(
            s, actor=admin, student_id=ids[0], amount_minor=5_00, method="cash", reference="C-4"
        )
