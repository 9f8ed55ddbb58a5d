"""Receipts print the right number, amount and student; reports agree with the invoices."""

import io
from datetime import date

import pytest
from pypdf import PdfReader

from app.core.errors import NotFound
from app.core.roles import Role
from app.fees import receipts, reports
from app.fees import service as fees
from tests import factories as f
from tests.fees.test_ledger import setup_institute


def test_receipt_pdf_has_number_amount_and_student(db):
    inst, admin, ids, structure = setup_institute(db, students=2)
    with db.scope(admin) as s:
        fees.invoice_run(
            s,
            actor=admin,
            structure_id=structure,
            period="2026-T1",
            student_ids=ids,
            issued_on=date(2026, 1, 5),
        )
    with db.scope(admin, immediate=True) as s:
        fees.record_payment(
            s, actor=admin, student_id=ids[0], amount_minor=100_00, method="cash", reference="C-1"
        )
        payment = fees.record_payment(
            s, actor=admin, student_id=ids[1], amount_minor=450_50, method="mpesa", reference="QX12"
        )
    with db.scope(admin) as s:
        pdf = receipts.receipt_pdf(s, actor=admin, payment_id=payment.id)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert (
        "Receipt No. 2" in text
        and "Payer 1 (F-1)" in text
        and "INR 450.50" in text
        and "QX12" in text
    )
    assert "2026-T1 Tuition" in text
    assert "Balance still owed after this payment: INR 249.50" in text
    # Another institute's admin cannot print it.
    stranger = f.actor_for(f.user(db, f.institute(db), Role.ADMIN))
    with pytest.raises(NotFound), db.scope(stranger) as s:
        receipts.receipt_pdf(s, actor=stranger, payment_id=payment.id)


def test_aging_collections_and_defaulters(db):
    inst, admin, ids, structure = setup_institute(db, students=3)
    with db.scope(admin) as s:
        fees.invoice_run(
            s,
            actor=admin,
            structure_id=structure,
            period="2026-T1",
            student_ids=ids,
            issued_on=date(2026, 1, 1),
        )  # due 15 Jan
        fees.invoice_run(
            s,
            actor=admin,
            structure_id=structure,
            period="2026-T2",
            student_ids=ids[:1],
            issued_on=date(2026, 4, 1),
        )  # due 15 Apr
    with db.scope(admin, immediate=True) as s:
        fees.record_payment(
            s,
            actor=admin,
            student_id=ids[1],
            amount_minor=700_00,
            method="upi",
            reference="U1",
            received_on=date(2026, 1, 10),
        )
        fees.record_payment(
            s,
            actor=admin,
            student_id=ids[2],
            amount_minor=200_00,
            method="cash",
            reference="C1",
            received_on=date(2026, 2, 3),
        )
    with db.scope(admin) as s:
        aging = reports.ar_aging(s, actor=admin, as_of=date(2026, 4, 20))
        late = reports.defaulters(s, actor=admin, as_of=date(2026, 4, 20))
        money = reports.collections(s, actor=admin, start=date(2026, 1, 1), end=date(2026, 12, 31))
    assert aging == {"current": 0, "0-30": 700_00, "31-60": 0, "61-90": 0, "90+": 700_00 + 500_00}
    assert [(d.name, d.overdue_minor, d.days_overdue) for d in late] == [
        ("Payer 0", 1400_00, 95),
        ("Payer 2", 500_00, 95),
    ]
    assert [(c.period, c.method, c.amount_minor) for c in money] == [
        ("2026-01", "upi", 700_00),
        ("2026-02", "cash", 200_00),
    ]


def test_admin_adds_accounts_by_the_numbering_rules(db):
    inst, admin, ids, structure = setup_institute(db, students=1)
    from app.core.errors import Conflict, ValidationError
    from app.fees import ledger

    with db.scope(admin) as s:
        rent = ledger.add_account(s, actor=admin, code="5100", name="Rent", type="expense")
    assert (rent.code, rent.type) == ("5100", "expense")
    for code, kind, match in [
        ("4100", "expense", "5000 and up"),
        ("51", "expense", "four digits"),
        ("5100", "expense", "already exists"),
    ]:
        with pytest.raises((ValidationError, Conflict), match=match), db.scope(admin) as s:
            ledger.add_account(s, actor=admin, code=code, name="X", type=kind)


def test_account_ledger_runs_a_balance(db):
    inst, admin, ids, structure = setup_institute(db, students=2)
    from app.fees import ledger

    with db.scope(admin) as s:
        fees.invoice_run(
            s,
            actor=admin,
            structure_id=structure,
            period="2026-T1",
            student_ids=ids,
            issued_on=date(2026, 1, 1),
        )
    with db.scope(admin, immediate=True) as s:
        fees.record_payment(
            s,
            actor=admin,
            student_id=ids[0],
            amount_minor=300_00,
            method="cash",
            reference="L-1",
            received_on=date(2026, 1, 9),
        )
    with db.scope(admin) as s:
        rows = ledger.account_ledger(s, actor=admin, code="1100")
    assert [(r.debit, r.credit, r.running) for r in rows] == [
        (700_00, 0, 700_00),
        (700_00, 0, 1400_00),
        (0, 300_00, 1100_00),
    ]


def test_a_receipt_prints_names_in_any_script(db):
    """The payer's and the institute's names print as typed on the receipt, not as "?"."""
    import unicodedata

    from app.academics.models import Student
    from app.identity.models import Institute

    inst, admin, ids, structure = setup_institute(db, students=1)
    with db.scope(system=True) as s:
        student = s.get(Student, ids[0])
        student.name = "முருகன் க்ருஷ்ணன்"
        institute = s.get(Institute, inst.id)
        institute.name = "विद्या कोचिंग — Zoë"
        s.add_all([student, institute])
    with db.scope(admin) as s:
        fees.invoice_run(s, actor=admin, structure_id=structure, period="2026-T1", student_ids=ids)
    with db.scope(admin, immediate=True) as s:
        payment = fees.record_payment(
            s, actor=admin, student_id=ids[0], amount_minor=100_00, method="upi", reference="U-1"
        )
    with db.scope(admin) as s:
        pdf = receipts.receipt_pdf(s, actor=admin, payment_id=payment.id)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    text = "".join(c for c in text if c == "\n" or unicodedata.category(c) != "Cc")
    assert "विद्या कोचिंग — Zoë" in text
    assert "Received from: முருகன் க்ருஷ்ணன் (F-0)" in text
    assert "?" not in text
