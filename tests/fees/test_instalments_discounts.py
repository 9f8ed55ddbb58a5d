"""Discounts and scholarships show on the bill and in the ledger; instalments are due, aged and
chased part by part."""

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from app.academics import service as academics
from app.core import clock
from app.core.audit import AuditLog
from app.core.errors import Conflict, ValidationError
from app.fees import jobs, reports
from app.fees import service as fees
from app.fees.models import Invoice, Payment
from app.inbox.models import PendingAction
from app.notify.models import Notification
from tests.fees.test_ledger import books, setup_institute

GROSS = 700_00  # Tuition 500 + Activity 120 + Exam 80 (setup_institute)


def _invoice_of(db, admin, student_id, period="2026-T1"):
    with db.scope(admin) as s:
        invoice = s.exec(
            select(Invoice).where(Invoice.student_id == student_id, Invoice.period == period)
        ).one()
        return fees.invoice_detail(s, actor=admin, invoice_id=invoice.id)


def test_discounts_and_scholarships_reduce_the_bill_and_post_to_4900(db):
    inst, admin, ids, structure = setup_institute(db, students=3)
    with db.scope(admin) as s:
        fees.grant_discount(
            s, actor=admin, student_id=ids[0], percent=10, kind="scholarship", reason="Merit"
        )
        fees.grant_discount(
            s, actor=admin, student_id=ids[0], amount_minor=50_00, reason="Sibling discount"
        )
        fees.grant_discount(
            s, actor=admin, student_id=ids[1], percent=100, kind="scholarship", reason="Full aid"
        )
        plan = fees.preview_invoice_run(
            s, actor=admin, structure_id=structure, period="2026-T1", student_ids=ids
        )
        assert plan.discount_minor == 70_00 + 50_00 + GROSS
        assert plan.total_minor == 3 * GROSS - plan.discount_minor
        fees.invoice_run(s, actor=admin, structure_id=structure, period="2026-T1", student_ids=ids)

    invoice, lines, parts = _invoice_of(db, admin, ids[0])
    assert invoice.total_minor == GROSS - 70_00 - 50_00 and invoice.status == "issued"
    assert [(line.description, line.amount_minor) for line in lines if line.amount_minor < 0] == [
        ("Scholarship 10%: Merit", -70_00),
        ("Discount ₹50.00: Sibling discount", -50_00),
    ]
    assert sum(p.amount_minor for p in parts) == invoice.total_minor
    full, _, _ = _invoice_of(db, admin, ids[1])
    assert (full.total_minor, full.status) == (0, "paid")  # nothing to chase
    plain, _, _ = _invoice_of(db, admin, ids[2])
    assert plain.total_minor == GROSS

    balances, debit, credit, open_ar, bad = books(db, inst.id)
    assert debit == credit and not bad
    assert balances["4900"] == 70_00 + 50_00 + GROSS  # income stays gross; discounts debit 4900
    assert balances["1100"] == open_ar == (GROSS - 120_00) + GROSS

    # Paying ₹30 more than the discounted total settles it and holds ₹30 as credit.
    with db.scope(admin, immediate=True) as s:
        payment = fees.record_payment(
            s,
            actor=admin,
            student_id=ids[0],
            amount_minor=GROSS - 120_00 + 30_00,
            method="upi",
            reference="UPI-1",
            allow_credit=True,
        )
    assert payment.credit_minor == 30_00
    invoice, _, _ = _invoice_of(db, admin, ids[0])
    assert invoice.status == "paid"
    balances, debit, credit, open_ar, bad = books(db, inst.id)
    assert balances["1100"] == open_ar == GROSS and balances["2000"] == -30_00


def test_ending_a_discount_changes_only_later_invoices(db):
    inst, admin, ids, structure = setup_institute(db, students=1)
    with db.scope(admin) as s:
        discount = fees.grant_discount(
            s, actor=admin, student_id=ids[0], percent=25, reason="Staff child"
        )
        fees.invoice_run(s, actor=admin, structure_id=structure, period="2026-T1", student_ids=ids)
        fees.end_discount(s, actor=admin, discount_id=discount.id)
        assert fees.list_discounts(s, actor=admin, student_id=ids[0]) == []
        fees.invoice_run(s, actor=admin, structure_id=structure, period="2026-T2", student_ids=ids)
        actions = [
            a.action for a in s.exec(select(AuditLog).where(AuditLog.action.like("fees.discount%")))
        ]
    assert actions == ["fees.discount_grant", "fees.discount_end"]
    assert _invoice_of(db, admin, ids[0], "2026-T1")[0].total_minor == GROSS * 3 // 4
    assert _invoice_of(db, admin, ids[0], "2026-T2")[0].total_minor == GROSS


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"percent": 10, "amount_minor": 100, "reason": "x"}, "either a percent or an amount"),
        ({"reason": "x"}, "either a percent or an amount"),
        ({"percent": 120, "reason": "x"}, "between 1 and 100"),
        ({"percent": 10, "reason": " "}, "Say why"),
    ],
)
def test_bad_discounts_are_refused_plainly(db, kwargs, message):
    inst, admin, ids, structure = setup_institute(db, students=1)
    with pytest.raises(ValidationError, match=message), db.scope(admin) as s:
        fees.grant_discount(s, actor=admin, student_id=ids[0], **kwargs)


def test_instalment_plan_splits_ages_and_chases_each_part(db):
    inst, admin, ids, structure = setup_institute(db, students=2)
    with db.scope(admin) as s:
        academics.add_guardian(s, actor=admin, student_id=ids[0], name="Dad", telegram_chat_id="7")
        fees.set_instalment_plan(
            s, actor=admin, structure_id=structure, steps=[(50, 0), (30, 30), (20, 60)]
        )
        # An odd total (a ₹0.01 discount) still splits exactly, by money.allocate (the largest
        # remainders take the spare paise).
        fees.grant_discount(s, actor=admin, student_id=ids[0], amount_minor=1, reason="Rounding")
        fees.invoice_run(
            s,
            actor=admin,
            structure_id=structure,
            period="2026-T1",
            student_ids=ids,
            issued_on=date(2026, 1, 1),
        )
    invoice, _, parts = _invoice_of(db, admin, ids[0])
    assert [(p.due_on, p.amount_minor) for p in parts] == [
        (date(2026, 1, 1), 349_99),
        (date(2026, 1, 31), 210_00),
        (date(2026, 3, 2), 140_00),
    ]
    assert invoice.due_on == date(2026, 3, 2)  # the whole is due with the last part

    with db.scope(admin) as s:
        aging = reports.ar_aging(s, actor=admin, as_of=date(2026, 2, 5))
    # First parts are 35 days late, second parts 5 days, third parts not yet due.
    assert aging["31-60"] == 349_99 + 350_00
    assert aging["0-30"] == 210_00 + 210_00
    assert aging["current"] == 140_00 + 140_00

    with db.scope(admin, immediate=True) as s:  # pays the first part and a bit of the second
        fees.record_payment(
            s, actor=admin, student_id=ids[0], amount_minor=400_00, method="cash", reference="C1"
        )
    with db.scope(admin) as s:
        rows = {d.student_id: d for d in reports.defaulters(s, actor=admin, as_of=date(2026, 2, 5))}
    assert rows[ids[0]].overdue_minor == 349_99 + 210_00 - 400_00
    assert rows[ids[0]].oldest_due == date(2026, 1, 31)
    assert rows[ids[1]].overdue_minor == 350_00 + 210_00

    # Three days before the third part is due, the guardian hears about that part only.
    with clock.frozen(datetime(2026, 2, 27, 6, 0, tzinfo=UTC)):
        jobs.fee_alerts(engine=db.engine)
        jobs.fee_alerts(engine=db.engine)
    with db.scope(system=True) as s:
        texts = [n.text for n in s.exec(select(Notification).order_by(Notification.id))]
        actions = list(s.exec(select(PendingAction).where(PendingAction.type == "fee_overdue")))
    assert any(
        t.startswith(
            "Reminder: ₹140.00 of fees for Payer 0 (2026-T1, instalment 3) is due on 02 Mar"
        )
        for t in texts
    )
    assert any("₹159.99" in t and "instalment 2" in t and "still unpaid" in t for t in texts)
    assert len(actions) == 2  # one per overdue invoice, however many parts are late


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([(50, 0), (30, 30)], "add up to 80%"),
        ([(50, 30), (50, 0)], "before instalment 1"),
        ([(0, 0), (100, 10)], "between 1% and 100%"),
    ],
)
def test_bad_instalment_plans_are_refused(db, steps, message):
    inst, admin, ids, structure = setup_institute(db, students=1)
    with pytest.raises(ValidationError, match=message), db.scope(admin) as s:
        fees.set_instalment_plan(s, actor=admin, structure_id=structure, steps=steps)


def test_bulk_payments_match_one_by_one_and_are_idempotent(db):
    """A batch of payments (a bank statement) books exactly what recording them one by one
    would: the same allocations, credits, receipt numbers and ledger."""
    outcomes = []
    for mode in ("one_by_one", "bulk"):
        inst, admin, ids, structure = setup_institute(db, students=3)
        with db.scope(admin) as s:
            fees.grant_discount(s, actor=admin, student_id=ids[1], percent=50, reason="Aid")
            for period in ("2026-T1", "2026-T2"):
                fees.invoice_run(
                    s, actor=admin, structure_id=structure, period=period, student_ids=ids
                )
        batch = [
            {"student_id": ids[0], "amount_minor": 900_00, "method": "bank", "reference": "B1"},
            {"student_id": ids[1], "amount_minor": 800_00, "method": "upi", "reference": "B2"},
            {"student_id": ids[0], "amount_minor": 600_00, "method": "bank", "reference": "B3"},
            {"student_id": ids[2], "amount_minor": 100_00, "method": "cash", "reference": "B4"},
        ]
        with db.scope(admin, immediate=True) as s:
            if mode == "bulk":
                assert (
                    fees.record_payments_bulk(s, actor=admin, payments=batch, allow_credit=True)
                    == 4
                )
            else:
                for p in batch:
                    fees.record_payment(s, actor=admin, **p, allow_credit=True)
        with db.scope(admin) as s:
            invoices = [
                (i.student_id - ids[0], i.period, i.paid_minor, i.status)
                for i in sorted(fees.list_invoices(s, actor=admin), key=lambda i: i.id)
            ]
            paid = [
                (p.reference, p.receipt_no, p.credit_minor)
                for p in sorted(
                    s.exec(select(Payment).where(Payment.institute_id == inst.id)),
                    key=lambda p: p.reference,
                )
            ]
        balances, debit, credit, open_ar, bad = books(db, inst.id)
        assert debit == credit and not bad and balances["1100"] == open_ar
        outcomes.append((invoices, paid, balances))
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][1][1] == ("B2", 2, 100_00)  # ₹800 against ₹700 owed: ₹100 held

    # Replaying the statement records nothing; a changed amount refuses the whole batch.
    with db.scope(admin, immediate=True) as s:
        assert fees.record_payments_bulk(s, actor=admin, payments=batch, allow_credit=True) == 0
    changed = [dict(batch[0], reference="B5"), dict(batch[1], amount_minor=1)]
    with (
        pytest.raises(Conflict, match="Reference B2 was already used"),
        db.scope(admin, immediate=True) as s,
    ):
        fees.record_payments_bulk(s, actor=admin, payments=changed)
    with db.scope(system=True) as s:
        assert s.exec(select(Payment).where(Payment.reference == "B5")).first() is None
