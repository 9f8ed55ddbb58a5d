"""Conversion: inquiry → student (+ guardian) → batch place → first invoice, all or nothing."""

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.academics import service as academics
from app.academics.models import BatchMembership, Guardian, Student
from app.core import clock
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.crm import service as crm
from app.crm.models import Inquiry
from app.feedback.models import PointsEntry
from app.fees import service as fees
from app.fees.models import Invoice, InvoiceLine, JournalEntry, JournalLine
from tests import factories as f
from tests.crm.world import NOW, build


def _inquiry(db, w, **kw):
    kw.setdefault("student_name", "Neha Kapoor")
    kw.setdefault("phone", "+91 91234 56789")
    with clock.frozen(NOW), db.scope(w.counselor) as s:
        return crm.create_inquiry(s, actor=w.counselor, **kw).id


def _convert(s, w, iid, **kw):
    kw.setdefault("enrollment_no", "ADM-00002")
    kw.setdefault("batch_id", w.batch)
    kw.setdefault("structure_id", w.structure)
    kw.setdefault("period", "2026-11")
    kw.setdefault("guardian_name", "Vikram Kapoor")
    kw.setdefault("guardian_phone", "9123400000")
    return crm.convert(s, actor=w.counselor, inquiry_id=iid, **kw)


def _counts(db, w) -> dict:
    with db.scope(w.admin) as s:

        def n(model):
            return s.exec(
                select(func.count()).select_from(model).where(model.institute_id == w.institute.id)
            ).one()

        return {
            "students": n(Student),
            "guardians": n(Guardian),
            "memberships": n(BatchMembership),
            "invoices": n(Invoice),
            "journal": n(JournalEntry),
        }


def test_conversion_creates_one_student_membership_and_invoice_and_rewards_the_referrer(db):
    w = build(db)
    iid = _inquiry(db, w, source="referral", referrer_student_id=w.referrer)
    before = _counts(db, w)
    with clock.frozen(NOW), db.scope(w.counselor) as s:
        done = _convert(s, w, iid)
        assert done.referral_points and done.referral_points > 0
    after = _counts(db, w)
    assert {k: after[k] - before[k] for k in after} == {
        "students": 1,
        "guardians": 1,
        "memberships": 1,
        "invoices": 1,
        "journal": 1,
    }
    with db.scope(w.admin) as s:
        inq = s.get(Inquiry, iid)
        student = s.get(Student, inq.student_id)
        assert (inq.status, inq.lead_score, inq.next_follow_up_date) == ("enrolled", 100, None)
        assert inq.closed_at is not None
        assert (student.name, student.phone, student.enrollment_no) == (
            "Neha Kapoor",
            "+919123456789",
            "ADM-00002",
        )
        assert student.counselor_user_id == w.counselor.user_id
        invoice = s.exec(select(Invoice).where(Invoice.student_id == student.id)).one()
        assert (invoice.total_minor, invoice.period, invoice.status) == (
            5_500_00,
            "2026-11",
            "issued",
        )
        lines = s.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
        assert sorted(line.amount_minor for line in lines) == [500_00, 5_000_00]
        entry = s.exec(
            select(JournalEntry).where(
                JournalEntry.source_type == "invoice", JournalEntry.source_id == invoice.id
            )
        ).one()
        postings = s.exec(select(JournalLine).where(JournalLine.entry_id == entry.id)).all()
        assert sum(p.debit_minor for p in postings) == sum(p.credit_minor for p in postings)
        reward = s.exec(select(PointsEntry).where(PointsEntry.student_id == w.referrer)).one()
        assert "Neha Kapoor" in reward.reason
    # Converting again is refused, and nothing more is created.
    with (
        clock.frozen(NOW),
        db.scope(w.counselor) as s,
        pytest.raises(Conflict, match="already enrolled"),
    ):
        _convert(s, w, iid, enrollment_no="ADM-00003")
    assert _counts(db, w) == after


def test_a_full_batch_refuses_the_conversion_and_writes_nothing(db):
    w = build(db, capacity=1)
    with db.scope(w.admin) as s:
        academics.join_batch(s, actor=w.admin, batch_id=w.batch, student_id=w.referrer)
    iid = _inquiry(db, w)
    before = _counts(db, w)
    with (
        clock.frozen(NOW),
        db.scope(w.counselor) as s,
        pytest.raises(Conflict, match="Physics A is full"),
    ):
        _convert(s, w, iid)
    assert _counts(db, w) == before
    with db.scope(w.admin) as s:
        assert s.get(Inquiry, iid).status == "new"


def test_an_invalid_structure_or_period_refuses_the_conversion_and_writes_nothing(db):
    w = build(db)
    elsewhere = f.institute(db, name="Elsewhere")
    their_admin = f.actor_for(f.user(db, elsewhere, "admin"))
    with db.scope(their_admin) as s:
        foreign = fees.create_structure(
            s, actor=their_admin, name="Theirs", items=[{"name": "Tuition", "amount_minor": 100}]
        ).id
    iid = _inquiry(db, w)
    before = _counts(db, w)
    with clock.frozen(NOW), db.scope(w.counselor) as s:
        with pytest.raises(NotFound, match="fee structure does not exist"):
            _convert(s, w, iid, structure_id=foreign)
        with pytest.raises(ValidationError, match="billing period"):
            _convert(s, w, iid, period=" ")
        with pytest.raises(Conflict, match="ADM-00001 is already used"):
            _convert(s, w, iid, enrollment_no="ADM-00001")
    assert _counts(db, w) == before


def test_a_failure_in_a_late_step_undoes_the_earlier_steps(db, monkeypatch):
    """The student, guardian and batch place are written before the invoice; when invoicing
    fails, the savepoint takes them back even though the caller's transaction goes on."""
    w = build(db)
    iid = _inquiry(db, w)
    before = _counts(db, w)

    def refuse(*args, **kwargs):
        raise ValidationError("The ledger is closed for maintenance.")

    monkeypatch.setattr(fees, "invoice_student", refuse)
    with clock.frozen(NOW), db.scope(w.counselor) as s:
        with pytest.raises(ValidationError, match="ledger is closed"):
            _convert(s, w, iid)
        # Same transaction, after the refusal: nothing of the conversion is there.
        assert s.exec(select(Student).where(Student.enrollment_no == "ADM-00002")).first() is None
        assert s.get(Inquiry, iid).status == "new"
    assert _counts(db, w) == before


def test_counselors_bill_one_student_but_run_no_invoice_runs(db):
    w = build(db)
    with clock.frozen(NOW), db.scope(w.counselor) as s:
        invoice = fees.invoice_student(
            s, actor=w.counselor, student_id=w.referrer, structure_id=w.structure, period="2026-12"
        )
        assert invoice.total_minor == 5_500_00
        with pytest.raises(Conflict, match="already has an invoice"):
            fees.invoice_student(
                s,
                actor=w.counselor,
                student_id=w.referrer,
                structure_id=w.structure,
                period=" 2026-12 ",
            )
        with pytest.raises(PermissionDenied):
            fees.invoice_run(
                s, actor=w.counselor, structure_id=w.structure, period="2027-01", student_ids=[]
            )
