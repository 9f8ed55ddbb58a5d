"""One billing-period rule: monthly → YYYY-MM, per term → the institute's term containing the day;
conversions, runs and the demo all use it, so a converted student is never billed twice."""

from datetime import UTC, date, datetime

import pytest

from app.academics import service as academics
from app.core import clock
from app.core.errors import ValidationError
from app.core.roles import Role
from app.core.text import plural
from app.crm import service as crm
from app.fees import periods
from app.fees import service as fees
from tests import factories as f

DECEMBER = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)  # 11:30 in Kolkata, Friday 4 Dec 2026


def test_billing_period_of_a_month_and_of_the_default_and_custom_terms():
    assert periods.billing_period("month", date(2026, 12, 4)) == "2026-12"
    assert periods.billing_period("term", date(2026, 12, 4)) == "2026-T2"
    assert periods.billing_period("term", date(2026, 6, 30)) == "2026-T1"
    assert periods.billing_period("term", date(2026, 7, 1)) == "2026-T2"
    # An academic year from April: January belongs to the second term of the year before.
    assert periods.billing_period("term", date(2027, 1, 15), "04-01,10-01") == "2026-T2"
    assert periods.billing_period("term", date(2026, 4, 1), "04-01,10-01") == "2026-T1"
    three = "01-06,05-04,08-31"  # three terms, as a Kenyan school keeps them
    assert periods.billing_period("term", date(2026, 1, 5), three) == "2025-T3"
    assert periods.billing_period("term", date(2026, 9, 1), three) == "2026-T3"
    assert periods.period_label("2026-T2") == "Term 2 2026 (1 Jul – 31 Dec 2026)"
    assert periods.period_label("2026-12") == "December 2026"
    assert periods.term_by_key("2026-T3") is None  # the default year has two terms
    for bad in ("13-01", "07-01,01-01", "02-30", "soon"):
        with pytest.raises(ValidationError):
            periods.parse_term_starts(bad)


def test_plural_counts():
    assert plural(1, "new invoice") == "1 new invoice"
    assert plural(2, "new invoice") == "2 new invoices"
    assert plural(0, "invoice") == "0 invoices"
    assert plural(3, "batch", "batches") == "3 batches"
    assert plural(1200, "student") == "1,200 students"


def _world(db):
    inst = f.institute(db, name="Term School")
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    counselor = f.actor_for(f.user(db, inst, Role.COUNSELOR))
    with clock.frozen(DECEMBER), db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Maths").id
        batch = academics.create_batch(s, actor=admin, name="Maths A", subject_id=subject).id
        structure = fees.create_structure(
            s,
            actor=admin,
            name="Term fees",
            period_kind="term",
            items=[{"name": "Tuition", "amount_minor": 20_000_00}],
        ).id
        monthly = fees.create_structure(
            s,
            actor=admin,
            name="Bus",
            period_kind="month",
            items=[{"name": "Bus", "amount_minor": 1_000_00}],
        ).id
    return inst, admin, counselor, batch, structure, monthly


def test_a_converted_inquiry_is_billed_the_term_so_the_term_run_skips_them(db):
    inst, admin, counselor, batch, structure, _ = _world(db)
    with clock.frozen(DECEMBER), db.scope(counselor) as s:
        inquiry = crm.create_inquiry(
            s, actor=counselor, student_name="Neha Kapoor", phone="+91 91234 56789"
        )
        done = crm.convert(
            s,
            actor=counselor,
            inquiry_id=inquiry.id,
            enrollment_no="ADM-1",
            batch_id=batch,
            structure_id=structure,
        )
        assert done.invoice.period == "2026-T2"  # the term containing December, not 2026-12
    with clock.frozen(DECEMBER), db.scope(admin) as s:
        # The run defaults to the period containing today: the same term.
        plan = fees.preview_invoice_run(s, actor=admin, structure_id=structure, batch_id=batch)
        assert (plan.period, plan.students, plan.already) == ("2026-T2", [], 1)
        assert fees.current_period(s, actor=admin, structure_id=structure) == "2026-T2"
        done = fees.invoice_run(s, actor=admin, structure_id=structure, batch_id=batch)
        assert done.students == []


def test_a_period_that_does_not_fit_the_structure_is_refused(db):
    inst, admin, _, batch, structure, monthly = _world(db)
    with clock.frozen(DECEMBER), db.scope(admin) as s:
        student = academics.create_student(s, actor=admin, enrollment_no="ADM-2", name="Ravi")
        with pytest.raises(ValidationError, match="billed per term"):
            fees.invoice_run(
                s, actor=admin, structure_id=structure, period="2026-12", student_ids=[student.id]
            )
        with pytest.raises(ValidationError, match="billed per month"):
            fees.invoice_run(
                s, actor=admin, structure_id=monthly, period="2026-T2", student_ids=[student.id]
            )
        # A lower-case key is the same period as the upper-case one: no second invoice.
        fees.invoice_run(
            s, actor=admin, structure_id=structure, period="2026-t2", student_ids=[student.id]
        )
        again = fees.invoice_run(
            s, actor=admin, structure_id=structure, period="2026-T2", student_ids=[student.id]
        )
        assert (again.students, again.already) == ([], 1)
        assert fees.current_period(s, actor=admin, structure_id=monthly) == "2026-12"


def test_an_institute_sets_its_own_terms(db):
    inst, admin, counselor, _, structure, _ = _world(db)
    with clock.frozen(DECEMBER), db.scope(admin) as s:
        assert fees.set_term_starts(s, actor=admin, starts="1-6, 5-4, 8-31") == "01-06,05-04,08-31"
        assert fees.current_period(s, actor=admin, structure_id=structure) == "2026-T3"
        with pytest.raises(ValidationError, match="order of the year"):
            fees.set_term_starts(s, actor=admin, starts="08-31,01-06")
    with db.scope(counselor) as s, pytest.raises(Exception, match="permission"):
        fees.set_term_starts(s, actor=counselor, starts="01-01")
