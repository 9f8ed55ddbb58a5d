"""A term's new flows in a real browser (issue 22), on PostgreSQL: a student hands homework in
and the teacher finds it; the teacher cancels a class from Today; the office declares a holiday
and the day's other class is cancelled; a visitor sends an enquiry from the public form and it
reaches the institute's pipeline."""

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
from tests import factories as f
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, sign_in_with_google
from tests.e2e.test_journeys import (  # noqa: F401  (serve: the fixture)
    ADMIN,
    TZ,
    batch_with_students,
    nav,
    office,
    screenshot,
    serve,
)
from tests.e2e.test_users_browser import RERUN_MS

pytestmark = [
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
    batch_id, ids = batch_with_students(
        db, where, [STUDENT[0], "Aarav Sharma"], teacher_id=teacher.id
    )
    today = clock.today_in(TZ)
    with db.scope(system=True) as s:
        s.get(Student, ids[STUDENT[0]]).user_id = student_user.id
    with db.scope(admin) as s:
        coursework.create_homework(
            s, actor=admin, batch_id=batch_id, title=HOMEWORK, due_on=today + timedelta(days=3)
        )
        early, late = (
            attendance.create_adhoc_session(
                s,
                actor=admin,
                batch_id=batch_id,
                day=today,
                start_time=start,
                duration_minutes=30,
            ).id
            for start in (time(0, 30), time(23, 0))
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
    tessa.get_by_text("Cancel or move this class").last.click()  # the classes run by time
    tessa.locator(f".st-key-why_{late}").get_by_role("textbox").fill("Parent-teacher meeting")
    tessa.locator(f".st-key-cancel_{late}").get_by_role("button").click()
    expect(tessa.get_by_text("Class cancelled; students and guardians are told.")).to_be_visible(
        timeout=RERUN_MS
    )
    with db.scope(system=True) as s:
        row = s.get(ClassSession, late)
        assert (row.status, row.cancel_reason) == ("cancelled", "Parent-teacher meeting")

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
    with db.scope(system=True) as s:
        row = s.get(ClassSession, early)
        assert (row.status, row.cancel_reason) == ("cancelled", "Holiday: Founders' Day")

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
