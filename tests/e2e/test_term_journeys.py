"""A term's new flows in a real browser (issue 22), on PostgreSQL: a student hands homework in
and the teacher finds it; the teacher cancels a class and moves another from Today; the office
declares a holiday and sees the day's other class cancelled on Today; the student reads the
cancelled and moved classes in words; a visitor sends an enquiry from the public form and it
reaches the counselor's pipeline (assigned to them automatically)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from app.academics.models import Student
from app.attendance import service as attendance
from app.attendance.models import ClassSession
from app.core import clock
from app.core.roles import Role
from app.coursework import service as coursework
from app.crm.models import Inquiry
from app.identity.models import Institute
from tests import factories as f
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, sign_in_with_google
from tests.e2e.test_journeys import (  # noqa: F401  (serve: the fixture)
    ADMIN,
    COUNSELOR,
    TZ,
    batch_with_students,
    nav,
    office,
    screenshot,
    serve,
)
from tests.e2e.test_users_browser import RERUN_MS

pytestmark = [
    pytest.mark.heavy(seconds=40),
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.parametrize("db", ["postgres"], indirect=True),
]

TEACHER = ("Tessa Thomas", "tessa.thomas@sunrise.example")
STUDENT = ("Meera Iyer", "meera.iyer@sunrise.example")
HOMEWORK = "Fractions worksheet"


@pytest.fixture
def fresh(browser: Browser) -> Iterator[Browser]:
    """Each person in their own browser context (their own cookies)."""
    contexts = []

    class People:
        def new_page(self) -> Page:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(DEFAULT_TIMEOUT_MS)
            contexts.append(context)
            return context.new_page()

    yield People()  # type: ignore[misc]
    for context in contexts:
        context.close()


def test_a_term_hand_in_holiday_and_public_enquiry(db, serve, fresh, oidc_provider):  # noqa: F811
    where = office(db)
    admin = where.admin
    teacher = f.user(db, where.institute, Role.TEACHER, name=TEACHER[0], email=TEACHER[1])
    student_user = f.user(db, where.institute, Role.STUDENT, name=STUDENT[0], email=STUDENT[1])
    f.user(db, where.institute, Role.COUNSELOR, name=COUNSELOR[0], email=COUNSELOR[1])
    batch_id, ids = batch_with_students(
        db, where, [STUDENT[0], "Aarav Sharma"], teacher_id=teacher.id
    )
    today = clock.today_in(TZ)
    with db.scope(system=True) as s:
        s.get(Student, ids[STUDENT[0]]).user_id = student_user.id
        s.get(Institute, where.institute_id).auto_assign_inquiries = True
    with db.scope(admin) as s:
        coursework.create_homework(
            s, actor=admin, batch_id=batch_id, title=HOMEWORK, due_on=today + timedelta(days=3)
        )
        early, middle, late = (
            attendance.create_adhoc_session(
                s,
                actor=admin,
                batch_id=batch_id,
                day=today,
                start_time=start,
                duration_minutes=30,
            ).id
            for start in (time(0, 30), time(12, 0), time(23, 0))
        )
    server = serve()

    # The student hands in an answer and a file.
    student = fresh.new_page()
    sign_in_with_google(student, server.url, oidc_provider, STUDENT[1])
    expect(student.get_by_role("heading", name="My dashboard")).to_be_visible(timeout=30_000)
    nav(student, "My homework", "My homework")
    student.get_by_text("Hand in", exact=True).first.click()
    form = student.get_by_test_id("stForm").filter(
        has=student.get_by_role("button", name="Hand in")
    )
    form.get_by_label("Your answer").fill("3/4 + 1/8 = 7/8")
    form.locator("input[type=file]").set_input_files(
        files=[
            {
                "name": "working.pdf",
                "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
            }
        ]
    )
    expect(form.get_by_text("working.pdf")).to_be_visible(timeout=RERUN_MS)  # uploaded first
    form.get_by_role("button", name="Hand in").click()
    expect(student.get_by_text(f"Handed in {HOMEWORK}.")).to_be_visible(timeout=RERUN_MS)
    screenshot(student, "term-hand-in")

    # The teacher finds it on Homework.
    tessa = fresh.new_page()
    sign_in_with_google(tessa, server.url, oidc_provider, TEACHER[1])
    expect(tessa.get_by_role("heading", name="Today")).to_be_visible(timeout=30_000)
    nav(tessa, "Homework", "Homework")
    handed = tessa.get_by_test_id("stExpander").filter(has_text="Handed in by students (1)")
    expect(handed).to_contain_text(STUDENT[0], timeout=RERUN_MS)
    expect(handed).to_contain_text("3/4 + 1/8 = 7/8")
    screenshot(tessa, "term-teacher-hand-ins")

    # The teacher cancels tonight's class from Today, with a reason.
    nav(tessa, "Today", "Today")
    # The expander that holds this class's buttons: "the last one" can be another class's while
    # the page is still drawing its cards.
    tessa.get_by_test_id("stExpander").filter(
        has=tessa.locator(f".st-key-cancel_{late}")
    ).get_by_text("Cancel or move this class").click()
    tessa.locator(f".st-key-why_{late}").get_by_role("textbox").fill("Parent-teacher meeting")
    tessa.locator(f".st-key-cancel_{late}").get_by_role("button").click()
    expect(tessa.get_by_text("Class cancelled; students and guardians are told.")).to_be_visible(
        timeout=RERUN_MS
    )
    with db.scope(system=True) as s:
        row = s.get(ClassSession, late)
        assert (row.status, row.cancel_reason) == ("cancelled", "Parent-teacher meeting")

    # ... and moves the midday class to tomorrow.
    tomorrow = today + timedelta(days=1)
    tessa.get_by_test_id("stExpander").filter(
        has=tessa.locator(f".st-key-move_{middle}")
    ).get_by_text("Cancel or move this class").click()
    tessa.locator(f".st-key-why_{middle}").get_by_role("textbox").fill("Lab booked")
    new_day = tessa.locator(f".st-key-move_day_{middle}")
    new_day.get_by_role("spinbutton", name="year, New date").click()
    tessa.keyboard.type(f"{tomorrow:%Y%m%d}")  # year, month, day: each field moves on
    tessa.keyboard.press("Tab")
    expect(new_day.locator("input[type=date]")).to_have_value(f"{tomorrow:%Y-%m-%d}")
    tessa.locator(f".st-key-move_{middle}").get_by_role("button").click()
    expect(
        tessa.get_by_text(f"Class moved to {tomorrow:%a %d %b} at 12:00; people are told.")
    ).to_be_visible(timeout=RERUN_MS)

    # The office makes today a holiday: today's class not taken is cancelled.
    office_page = fresh.new_page()
    sign_in_with_google(office_page, server.url, oidc_provider, ADMIN[1])
    nav(office_page, "Batches", "Batches")
    holiday = office_page.get_by_test_id("stForm").filter(
        has=office_page.get_by_role("button", name="Add holiday")
    )
    holiday.get_by_label("Name").fill("Founders' Day")
    holiday.get_by_role("button", name="Add holiday").click()
    expect(office_page.get_by_text("Founders' Day added")).to_be_visible(timeout=RERUN_MS)
    nav(office_page, "Today", "Today")
    expect(office_page.get_by_text("Not held: Holiday: Founders' Day.")).to_be_visible(
        timeout=RERUN_MS
    )
    with db.scope(system=True) as s:
        row = s.get(ClassSession, early)
        assert (row.status, row.cancel_reason) == ("cancelled", "Holiday: Founders' Day")

    # The student reads what happened to the other two, in words.
    nav(student, "My schedule", "My schedule")
    expect(student.get_by_text("Cancelled — Parent-teacher meeting")).to_be_visible(
        timeout=RERUN_MS
    )
    expect(student.get_by_text(f"Moved to {tomorrow:%a %d %b}, 12:00 — Lab booked")).to_be_visible()

    # A visitor sends an enquiry without signing in.
    visitor = fresh.new_page()
    visitor.goto(f"{server.url}/enquire")
    expect(visitor.get_by_role("heading", name="Send an enquiry")).to_be_visible(timeout=30_000)
    box = visitor.get_by_role("combobox", name="Institute", exact=True)
    box.click()
    visitor.get_by_role("option", name=where.institute.name, exact=True).click()
    enquiry = visitor.get_by_test_id("stForm")
    enquiry.get_by_label("Student's name").fill("Rohan Desai")
    enquiry.get_by_label("Phone").fill("+91 98860 12345")
    enquiry.get_by_role("button", name="Send enquiry").click()
    expect(visitor.get_by_test_id("stAlertContentSuccess")).to_be_visible(timeout=RERUN_MS)
    with db.scope(system=True) as s:
        [lead] = s.exec(select(Inquiry).where(Inquiry.institute_id == where.institute_id)).all()
    assert lead.student_name == "Rohan Desai" and lead.phone == "+919886012345"

    # It is the counselor's, on their Pipeline.
    counselor = fresh.new_page()
    sign_in_with_google(counselor, server.url, oidc_provider, COUNSELOR[1])
    expect(counselor.get_by_role("heading", name="Pipeline")).to_be_visible(timeout=30_000)
    expect(counselor.locator(f".st-key-crm_open_{lead.id}")).to_be_visible(timeout=RERUN_MS)
    expect(counselor.get_by_text("Rohan Desai", exact=True)).to_be_visible()
