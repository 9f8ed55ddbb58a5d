"""Fees and the ledger: idempotent runs and payments, reversals, and books that always balance."""

import itertools
import threading

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import text
from sqlmodel import func, select

from app.academics import service as academics
from app.core.errors import Conflict, ValidationError
from app.core.roles import Role
from app.fees import ledger, reports
from app.fees import service as fees
from app.fees.models import Invoice, JournalEntry, JournalLine, Payment
from tests import factories as f

_names = itertools.count(1)


def setup_institute(db, students=3):
    inst = f.institute(db, name=f"Fees Institute {next(_names)}")
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    with db.scope(admin) as s:
        ids = [
            academics.create_student(s, actor=admin, enrollment_no=f"F-{n}", name=f"Payer {n}").id
            for n in range(students)
        ]
        structure = fees.create_structure(
            s,
            actor=admin,
            name="Term fees",
            items=[
                {"name": "Tuition", "amount_minor": 500_00},
                {"name": "Activity", "amount_minor": 120_00},
                {"name": "Exam", "amount_minor": 80_00},
                {"name": "Transport", "amount_minor": 300_00, "optional": True},
            ],
        )
    return inst, admin, ids, structure.id


def books(db, institute_id):
    with db.scope(system=True) as s:
        rows = ledger.balances_internal(s, institute_id=institute_id)
        return (
            {r.code: r.balance for r in rows},
            sum(r.debit for r in rows),
            sum(r.credit for r in rows),
            fees.open_receivables_internal(s, institute_id=institute_id),
            ledger.unbalanced_entries_internal(s, institute_id=institute_id),
        )


def test_invoice_run_twice_creates_nothing_new(db):
    inst, admin, ids, structure = setup_institute(db)
    with db.scope(admin) as s:
        first = fees.invoice_run(
            s, actor=admin, structure_id=structure, period="2026-T1", student_ids=ids
        )
    with db.scope(admin) as s:
        again = fees.invoice_run(
            s, actor=admin, structure_id=structure, period="2026-T1", student_ids=ids
        )
        preview = fees.preview_invoice_run(
            s, actor=admin, structure_id=structure, period="2026-T2", student_ids=ids
        )
    assert (len(first.students), first.per_student_minor) == (3, 700_00)
    assert (again.students, again.already) == ([], 3)
    assert (len(preview.students), preview.total_minor) == (3, 2100_00)
    balances, debit, credit, open_ar, bad = books(db, inst.id)
    assert balances["1100"] == open_ar == 2100_00 and debit == credit and not bad
    assert balances["4000"] == -1500_00  # tuition income is a credit balance


def test_payment_retry_partial_allocation_credit_and_refusals(db):
    inst, admin, ids, structure = setup_institute(db, students=1)
    with db.scope(admin) as s:
        fees.invoice_run(s, actor=admin, structure_id=structure, period="2026-T1", student_ids=ids)
        fees.invoice_run(s, actor=admin, structure_id=structure, period="2026-T2", student_ids=ids)
    with db.scope(admin, immediate=True) as s:
        paid = fees.record_payment(
            s, actor=admin, student_id=ids[0], amount_minor=900_00, method="mpesa", reference="QX12"
        )
    with db.scope(admin, immediate=True) as s:
        retry = fees.record_payment(
            s, actor=admin, student_id=ids[0], amount_minor=900_00, method="mpesa", reference="QX12"
        )
    assert retry.id == paid.id and retry.receipt_no == paid.receipt_no == 1
    with (
        pytest.raises(
            Conflict,
            match="Reference QX12 was already used for a payment of ₹900.00 \\(receipt 1\\)",
        ),
        db.scope(admin, immediate=True) as s,
    ):
        fees.record_payment(
            s,
            actor=admin,
            student_id=ids[0],
            amount_minor=1000_00,
            method="mpesa",
            reference="QX12",
        )
    with db.scope(admin) as s:
        t1, t2 = sorted(
            fees.list_invoices(s, actor=admin, student_id=ids[0]), key=lambda i: i.period
        )
    assert (t1.status, t1.paid_minor) == ("paid", 700_00)  # the oldest first
    assert (t2.status, t2.paid_minor) == ("partially_paid", 200_00)
    with db.scope(admin, immediate=True) as s:
        over = fees.record_payment(
            s,
            actor=admin,
            student_id=ids[0],
            amount_minor=600_00,
            method="cash",
            reference="SLIP-7",
            allow_credit=True,
        )
        balance = fees.student_balance(s, actor=admin, student_id=ids[0])
    assert over.credit_minor == 100_00 and over.receipt_no == 2
    assert (balance.owed_minor, balance.credit_minor) == (0, 100_00)
    balances, debit, credit, open_ar, bad = books(db, inst.id)
    assert (
        balances["1000"] == 1500_00
        and balances["2000"] == -100_00
        and balances["1100"] == open_ar == 0
    )
    assert debit == credit and not bad
    for bad_input, match in [
        ({"amount_minor": 0}, "more than zero"),
        ({"reference": " "}, "reference"),
        ({"method": "cheque"}, "Choose cash"),
    ]:
        args = {
            "student_id": ids[0],
            "amount_minor": 100,
            "method": "cash",
            "reference": "R-9",
            **bad_input,
        }
        with pytest.raises(ValidationError, match=match), db.scope(admin) as s:
            fees.record_payment(s, actor=admin, **args)


def test_void_posts_a_reversal_and_posted_lines_never_change(db):
    inst, admin, ids, structure = setup_institute(db, students=1)
    with db.scope(admin) as s:
        fees.invoice_run(s, actor=admin, structure_id=structure, period="2026-T1", student_ids=ids)
        [invoice] = fees.list_invoices(s, actor=admin)
    with pytest.raises(ValidationError, match="Say why"), db.scope(admin) as s:
        fees.void_invoice(s, actor=admin, invoice_id=invoice.id, reason="")
    with db.scope(admin) as s:
        fees.void_invoice(s, actor=admin, invoice_id=invoice.id, reason="Duplicate student")
    with db.scope(system=True) as s:
        entries = s.exec(select(JournalEntry).order_by(JournalEntry.id)).all()
        assert [e.source_type for e in entries] == ["invoice", "void"] and entries[
            1
        ].reverses_id == entries[0].id
        assert s.get(Invoice, invoice.id).status == "void"
    balances, debit, credit, open_ar, bad = books(db, inst.id)
    assert all(v == 0 for v in balances.values()) and open_ar == 0 and not bad
    for statement in (
        "update journal_lines set debit_minor = debit_minor + 1",
        "delete from journal_entries",
    ):
        with pytest.raises(Exception, match="append-only"), db.scope(admin) as s:
            s.execute(text(statement))


def test_unbalanced_entry_is_refused(db):
    inst, admin, ids, structure = setup_institute(db, students=1)
    with db.scope(admin) as s:
        accounts = ledger.ensure_chart_internal(s, institute_id=inst.id)
        with pytest.raises(ValidationError, match="Unbalanced journal entry"):
            ledger.post_internal(
                s,
                institute_id=inst.id,
                entry_date=__import__("datetime").date(2026, 1, 1),
                memo="x",
                source_type="manual",
                source_id=None,
                postings=[
                    ledger.Posting(accounts["1000"].id, debit=100),
                    ledger.Posting(accounts["1100"].id, credit=99),
                ],
            )


def test_receipt_numbers_have_no_gaps_under_concurrent_payments(db):
    inst, admin, ids, structure = setup_institute(db, students=4)
    barrier = threading.Barrier(4)
    errors = []

    def pay(n):
        barrier.wait()
        try:
            for k in range(3):
                with db.scope(admin, immediate=True) as s:
                    fees.record_payment(
                        s,
                        actor=admin,
                        student_id=ids[n],
                        amount_minor=100_00 + k,
                        method="upi",
                        reference=f"UPI-{n}-{k}",
                        allow_credit=True,  # no invoices here: every payment is advance credit
                    )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=pay, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with db.scope(system=True) as s:
        numbers = sorted(s.exec(select(Payment.receipt_no).where(Payment.institute_id == inst.id)))
    assert numbers == list(range(1, 13))


class Books(RuleBasedStateMachine):
    """Any sequence of runs, payments (retries, partials, overpayments), voids, discounts and
    instalment plans keeps the books right: balanced, AR = open invoices = aged parts."""

    db = None

    @initialize()
    def setup(self):
        self.inst, self.admin, self.ids, self.structure = setup_institute(self.db, students=3)
        self.refs = []

    @rule(
        period=st.sampled_from(["2026-T1", "2026-T2", "2026-T3"]),
        who=st.integers(0, 3),
        transport=st.booleans(),
    )
    def run(self, period, who, transport):
        students = self.ids if who == 3 else [self.ids[who]]
        with self.db.scope(self.admin) as s:
            optional = [
                i.id
                for i in fees.structure_items(s, actor=self.admin, structure_id=self.structure)
                if i.optional
            ]
            fees.invoice_run(
                s,
                actor=self.admin,
                structure_id=self.structure,
                period=period,
                student_ids=students,
                optional_item_ids=optional if transport else [],
            )

    @rule(who=st.integers(0, 2), amount=st.integers(1, 2000_00), retry=st.booleans())
    def pay(self, who, amount, retry):
        if retry and self.refs:
            ref, student, amt = self.refs[-1]
        else:
            ref, student, amt = f"R{len(self.refs)}", self.ids[who], amount
            self.refs.append((ref, student, amt))
        with self.db.scope(self.admin, immediate=True) as s:
            fees.record_payment(
                s,
                actor=self.admin,
                student_id=student,
                amount_minor=amt,
                method="cash",
                reference=ref,
                allow_credit=True,
            )

    @rule(
        who=st.integers(0, 2),
        percent=st.one_of(st.none(), st.integers(1, 100)),
        amount=st.integers(1, 900_00),
        ended=st.booleans(),
    )
    def discount(self, who, percent, amount, ended):
        with self.db.scope(self.admin) as s:
            granted = fees.grant_discount(
                s,
                actor=self.admin,
                student_id=self.ids[who],
                percent=percent,
                amount_minor=None if percent else amount,
                kind="scholarship" if percent else "discount",
                reason="test",
            )
            if ended:
                fees.end_discount(s, actor=self.admin, discount_id=granted.id)

    @rule(
        steps=st.sampled_from([[], [(100, 10)], [(60, 0), (40, 30)], [(34, 0), (33, 20), (33, 40)]])
    )
    def plan(self, steps):
        with self.db.scope(self.admin) as s:
            fees.set_instalment_plan(s, actor=self.admin, structure_id=self.structure, steps=steps)

    @rule(pick=st.integers(0, 50))
    def void(self, pick):
        with self.db.scope(self.admin) as s:
            open_unpaid = [
                i
                for i in fees.list_invoices(s, actor=self.admin)
                if i.status == "issued" and not i.paid_minor
            ]
        if open_unpaid:
            with self.db.scope(self.admin) as s:
                fees.void_invoice(
                    s,
                    actor=self.admin,
                    invoice_id=open_unpaid[pick % len(open_unpaid)].id,
                    reason="test",
                )

    @invariant()
    def balanced(self):
        if not hasattr(self, "inst"):
            return
        balances, debit, credit, open_ar, bad = books(self.db, self.inst.id)
        assert debit == credit and not bad
        assert balances.get("1100", 0) == open_ar
        with self.db.scope(system=True) as s:
            held = s.exec(
                select(func.coalesce(func.sum(Payment.credit_minor), 0)).where(
                    Payment.institute_id == self.inst.id
                )
            ).one()
            lines = s.exec(
                select(func.count())
                .select_from(JournalLine)
                .where(JournalLine.institute_id == self.inst.id)
            ).one()
        assert -balances.get("2000", 0) == held
        with self.db.scope(self.admin) as s:
            aging = reports.ar_aging(s, actor=self.admin)
            for invoice in fees.list_invoices(s, actor=self.admin):
                _, invoice_lines, parts = fees.invoice_detail(
                    s, actor=self.admin, invoice_id=invoice.id
                )
                assert sum(p.amount_minor for p in parts) == invoice.total_minor
                assert sum(x.amount_minor for x in invoice_lines) == invoice.total_minor
                assert sum(x.paid_minor for x in invoice_lines) == invoice.paid_minor
                assert 0 <= invoice.paid_minor <= invoice.total_minor
        assert sum(aging.values()) == open_ar
        assert lines >= 0


def test_books_always_balance(db):
    Books.db = db
    Books.TestCase.settings = settings(
        max_examples=20,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    Books.TestCase().runTest()
