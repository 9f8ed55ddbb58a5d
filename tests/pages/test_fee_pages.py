"""The fee counter, reports and a student's own fees page."""

from sqlmodel import select

from app.academics import service as academics
from app.core.roles import Role
from app.fees import service as fees
from app.fees.models import Payment
from tests import factories as f
from tests.pages.apptest import app_as, by_label, errors, frame, open_page, shown


def test_counter_payment_reports_and_my_fees(db):
    inst = f.institute(db)
    admin_user = f.user(db, inst, Role.ADMIN, email="bursar@x.example")
    student_user = f.user(db, inst, Role.STUDENT, email="kid@x.example")
    other_user = f.user(db, inst, Role.STUDENT, email="other@x.example")
    admin = f.actor_for(admin_user)
    with db.scope(admin) as s:
        kid = academics.create_student(s, actor=admin, enrollment_no="ADM-001", name="Kiran Kid")
        kid.user_id = student_user.id
        other = academics.create_student(s, actor=admin, enrollment_no="ADM-002", name="Other Kid")
        other.user_id = other_user.id
        structure = fees.create_structure(
            s,
            actor=admin,
            name="Term fees",
            items=[
                {"name": "Tuition", "amount_minor": 1000_00},
                {"name": "Exam", "amount_minor": 200_00},
            ],
        )
        fees.invoice_run(
            s,
            actor=admin,
            structure_id=structure.id,
            period="2026-T1",
            student_ids=[kid.id, other.id],
        )

    at = app_as(admin_user.email).run()
    open_page(at, "pages/admin/fees.py")
    by_label(at.text_input, "Find a student (name, enrollment number or phone)").input(
        "ADM-001"
    ).run()
    by_label(at.text_input, "Amount").input("500")
    by_label(at.text_input, "Reference").input("MPESA-QX12")
    at.button(key="FormSubmitter:take_payment-Take payment").click().run()
    assert not errors(at), errors(at)
    assert (
        "Received ₹500.00 from Kiran Kid: receipt 1. "
        "Balance still owed after this payment: ₹700.00."
    ) in [shown(s.value) for s in at.success]
    assert [m.value for m in at.metric][:2] == ["₹700.00", "₹0.00"]
    # The same reference with another amount is refused on the form; nothing is written.
    by_label(at.text_input, "Amount").input("600")
    by_label(at.text_input, "Reference").input("MPESA-QX12")
    at.button(key="FormSubmitter:take_payment-Take payment").click().run()
    assert any("Reference MPESA-QX12 was already used" in e for e in errors(at))
    with db.scope(system=True) as s:
        assert len(s.exec(select(Payment)).all()) == 1

    open_page(at, "pages/admin/fee_reports.py")
    assert not errors(at)
    assert any("balanced." in shown(s.value) for s in at.success)
    assert set(frame(at, "Account")["Account"]) >= {"1000 Cash & Bank", "1100 Accounts Receivable"}

    student = app_as(student_user.email).run()
    open_page(student, "pages/student/my_fees.py")
    assert [m.value for m in student.metric] == ["₹700.00"]
    assert list(frame(student, "Period")["Status"]) == ["partially paid"]
    assert len(student.get("download_button")) == 1  # their one receipt, not the other student's


def test_admin_grants_a_scholarship_and_sets_an_instalment_plan(db):
    inst = f.institute(db)
    admin_user = f.user(db, inst, Role.ADMIN, email="bursar@y.example")
    admin = f.actor_for(admin_user)
    with db.scope(admin) as s:
        kid = academics.create_student(s, actor=admin, enrollment_no="SCH-1", name="Sana Scholar")
        structure = fees.create_structure(
            s, actor=admin, name="Term fees", items=[{"name": "Tuition", "amount_minor": 1000_00}]
        )

    at = app_as(admin_user.email).run()
    open_page(at, "pages/admin/fees.py")
    by_label(at.text_input, "Find a student (name, enrollment number or phone)").input(
        "SCH-1"
    ).run()
    by_label(at.selectbox, "Kind").select("scholarship")
    by_label(at.text_input, "Percent or amount").input("abc")
    at.button(key="FormSubmitter:grant_discount-Grant").click().run()
    assert "Write a percent like 10% or an amount like 500." in errors(at)
    by_label(at.text_input, "Percent or amount").input("25%")
    by_label(at.text_input, "Reason").input("Merit")
    at.button(key="FormSubmitter:grant_discount-Grant").click().run()
    assert not errors(at), errors(at)
    assert "Scholarship granted to Sana Scholar." in [shown(s.value) for s in at.success]

    by_label(at.number_input, "Share 1 (%)").set_value(60)
    by_label(at.number_input, "Share 2 (%)").set_value(30)
    by_label(at.number_input, "Due after (days) 2").set_value(30)
    at.button(key="FormSubmitter:instalment_plan-Save plan").click().run()
    assert any("add up to 90%" in e for e in errors(at))
    by_label(at.number_input, "Share 2 (%)").set_value(40)
    at.button(key="FormSubmitter:instalment_plan-Save plan").click().run()
    assert not errors(at), errors(at)
    assert any("60% after 0 days, 40% after 30 days" in shown(m.value) for m in at.markdown)

    by_label(at.selectbox, "Who").select_index(0)
    at.run()
    texts = [c.value for c in at.caption]
    assert any("take ₹250.00 off this invoice." in t for t in texts), texts
    assert any("60% on issue, 40% after 30 days" in t for t in texts), texts
    at.button(key="run_confirm").click().run()
    with db.scope(admin) as s:
        [invoice] = fees.list_invoices(s, actor=admin)
        _, lines, parts = fees.invoice_detail(s, actor=admin, invoice_id=invoice.id)
    assert invoice.student_id == kid.id and invoice.total_minor == 750_00
    assert [p.amount_minor for p in parts] == [450_00, 300_00]
    assert structure.id == invoice.structure_id


def test_counter_refuses_an_overpayment_unless_it_is_confirmed_as_advance_credit(db):
    inst = f.institute(db)
    admin_user = f.user(db, inst, Role.ADMIN, email="bursar@z.example")
    admin = f.actor_for(admin_user)
    with db.scope(admin) as s:
        kid = academics.create_student(s, actor=admin, enrollment_no="OV-1", name="Oscar Over")
        structure = fees.create_structure(
            s, actor=admin, name="Term fees", items=[{"name": "Tuition", "amount_minor": 236_00}]
        )
        fees.invoice_run(
            s, actor=admin, structure_id=structure.id, period="2026-T1", student_ids=[kid.id]
        )
    at = app_as(admin_user.email).run()
    open_page(at, "pages/admin/fees.py")
    by_label(at.text_input, "Find a student (name, enrollment number or phone)").input("OV-1").run()
    by_label(at.text_input, "Amount").input("1000")
    by_label(at.text_input, "Reference").input("CASH-1")
    at.button(key="FormSubmitter:take_payment-Take payment").click().run()
    assert any("₹1,000.00 is more than the open balance of ₹236.00" in e for e in errors(at)), (
        errors(at)
    )
    with db.scope(system=True) as s:
        assert s.exec(select(Payment)).all() == []
    by_label(at.checkbox, "Record the rest as advance credit").check()
    at.button(key="FormSubmitter:take_payment-Take payment").click().run()
    assert not errors(at), errors(at)
    assert (
        "Received ₹1,000.00 from Oscar Over: receipt 1. Balance still owed after this payment: "
        "₹0.00. Held as advance credit: ₹764.00 (used for later invoices)."
    ) in [shown(s.value) for s in at.success]
    assert [m.value for m in at.metric][:2] == ["₹0.00", "₹764.00"]


def test_fee_reports_show_one_money_format_natural_signs_and_method_labels(db):
    inst = f.institute(db)
    admin_user = f.user(db, inst, Role.ADMIN, email="bursar@r.example")
    admin = f.actor_for(admin_user)
    with db.scope(admin) as s:
        kid = academics.create_student(s, actor=admin, enrollment_no="RP-1", name="Rita Report")
        structure = fees.create_structure(
            s,
            actor=admin,
            name="Term fees",
            items=[{"name": "Tuition", "amount_minor": 18_47_726_00}],
        )
        fees.invoice_run(
            s, actor=admin, structure_id=structure.id, period="2026-T1", student_ids=[kid.id]
        )
    with db.scope(admin, immediate=True) as s:
        fees.record_payment(
            s,
            actor=admin,
            student_id=kid.id,
            amount_minor=2_00_000_00,
            method="mpesa",
            reference="MP-1",
        )
    at = app_as(admin_user.email).run()
    open_page(at, "pages/admin/fee_reports.py")
    assert not errors(at), errors(at)
    trial = frame(at, "Account").set_index("Account")
    assert trial.loc["4000 Tuition income", "Balance"] == "₹18,47,726.00"  # income: positive
    assert trial.loc["1100 Accounts Receivable", "Balance"] == "₹16,47,726.00"
    assert trial.loc["1000 Cash & Bank", "Debit"] == "₹2,00,000.00"
    collections = frame(at, "Method")
    assert list(collections["Method"]) == ["M-Pesa"]
    assert list(collections["Amount"]) == ["₹2,00,000.00"]
    assert all(isinstance(v, str) and v.startswith("₹") for v in frame(at, "Days past due")["Open"])


def test_overview_money_metrics_are_compact_with_the_full_value_in_the_help(db):
    inst = f.institute(db)
    admin_user = f.user(db, inst, Role.ADMIN, email="owner@o.example")
    admin = f.actor_for(admin_user)
    with db.scope(admin) as s:
        kid = academics.create_student(s, actor=admin, enrollment_no="OV-9", name="Big Bill")
        structure = fees.create_structure(
            s,
            actor=admin,
            name="Term fees",
            items=[{"name": "Tuition", "amount_minor": 18_47_726_00}],
        )
        fees.invoice_run(
            s, actor=admin, structure_id=structure.id, period="2026-T1", student_ids=[kid.id]
        )
    at = app_as(admin_user.email).run()
    open_page(at, "pages/admin/overview.py")
    assert not errors(at), errors(at)
    outstanding = next(m for m in at.metric if m.label == "Outstanding")
    assert outstanding.value == "₹18.5L"
    assert outstanding.proto.help == "Open invoices now: ₹18,47,726.00"


def test_collections_chart_draws_no_billed_legend_when_nothing_was_billed_in_range(db):
    """The term's invoices went out before the range: only collections are drawn, and the
    caption says nothing was billed (no legend for bars that are not there)."""
    import json
    from datetime import timedelta

    from app.core import clock

    inst = f.institute(db)
    admin_user = f.user(db, inst, Role.ADMIN, email="owner@c.example")
    admin = f.actor_for(admin_user)
    with db.scope(admin) as s:
        kid = academics.create_student(s, actor=admin, enrollment_no="CB-1", name="Cara")
        structure = fees.create_structure(
            s, actor=admin, name="Term fees", items=[{"name": "Tuition", "amount_minor": 5000_00}]
        )
        fees.invoice_run(
            s,
            actor=admin,
            structure_id=structure.id,
            period="2026-T1",
            student_ids=[kid.id],
            issued_on=clock.now().date() - timedelta(days=200),
        )
    with db.scope(admin, immediate=True) as s:
        fees.record_payment(
            s, actor=admin, student_id=kid.id, amount_minor=1000_00, method="cash", reference="C1"
        )
    at = open_page(app_as(admin_user.email).run(), "pages/admin/overview.py")
    assert not errors(at), errors(at)
    captions = [shown(c.value) for c in at.caption]
    assert any("nothing was billed in this range" in c for c in captions), captions
    chart = next(c for c in at.get("plotly_chart") if "ov_money" in str(c.proto.id))
    names = [t.get("name") for t in json.loads(chart.proto.spec)["data"]]
    assert names == ["Collected"]
