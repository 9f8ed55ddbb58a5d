"""At the counter: an admin takes a partial payment and downloads the receipt (real browser)."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlmodel import select

from app.academics.models import Student
from app.fees.models import Invoice, Payment
from tests.e2e.harness import screenshot
from tests.e2e.test_users_browser import RERUN_MS, _admin, sign_in_as_admin

pytestmark = pytest.mark.browser


# On SQLite only: test_journeys.py runs this flow end to end on PostgreSQL.
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_partial_payment_at_the_counter_with_receipt(page: Page, live_app, db, demo):
    admin_name, institute = _admin(db, demo)
    with db.scope(system=True) as s:
        # A student of the demo institute who still owes something.
        student, owed = s.exec(
            select(Student, Invoice.total_minor - Invoice.paid_minor)
            .join(Invoice, Invoice.student_id == Student.id)
            .where(Student.institute_id == demo.institute_ids[0], Invoice.status == "issued")
            .order_by(Student.id)
        ).first()
        before = len(
            s.exec(select(Payment).where(Payment.institute_id == demo.institute_ids[0])).all()
        )
    sign_in_as_admin(page, live_app.url, admin_name, institute)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Fees", exact=True).click()
    expect(page.get_by_role("heading", name="Fees")).to_be_visible(timeout=RERUN_MS)
    page.get_by_label("Find a student (name, enrollment number or phone)").fill(
        student.enrollment_no
    )
    page.keyboard.press("Enter")
    expect(page.get_by_text("Owes")).to_be_visible(timeout=RERUN_MS)
    # Other tabs' forms are in the page too (hidden): take the one with the payment button.
    form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Take payment"))
    form.get_by_label("Amount", exact=True).fill("1000")
    form.get_by_label("Reference", exact=True).fill("COUNTER-001")
    screenshot(page, "fees-01-counter")
    form.get_by_role("button", name="Take payment").click()
    expect(
        page.get_by_text(f"Received ₹1,000.00 from {student.name}: receipt {before + 1}.")
    ).to_be_visible(timeout=RERUN_MS)
    screenshot(page, "fees-02-received")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Receipt PDF").first.click()
    pdf = download_info.value.path().read_bytes()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert f"Receipt No. {before + 1}" in text and "INR 1,000.00" in text and student.name in text
    with db.scope(system=True) as s:
        payment = s.exec(select(Payment).where(Payment.reference == "COUNTER-001")).one()
    assert payment.amount_minor == 1000_00 and payment.credit_minor == max(0, 1000_00 - owed)
