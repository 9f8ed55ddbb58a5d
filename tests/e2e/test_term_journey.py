"""A day of a term in a real browser, on PostgreSQL, in one chained journey (one server):

1. the teacher cancels one of today's classes and moves another to tomorrow, from Today;
2. an admin makes today a holiday on Batches and sees, on Today, the other batch's class
   cancelled for it (and the teacher's cancelled and moved classes with their reasons);
3. a student reads the cancelled and moved classes in words on My schedule, then hands in
   homework, and the teacher sees the hand-in on Homework;
4. a visitor sends an enquiry from the public form, and it lands in the counselor's Pipeline
   (assigned to them automatically).

One test function on purpose: each sign-in is a fresh browser context against the same server,
so the whole term costs one `streamlit run` start.
"""

from __future__ import annotations

import re
import time as walltime
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import col, select

from app.academics import service as academics
from app.academics.models import Student
from app.attendance import service as attendance
from app.attendance.models import ClassSession, Holiday
from app.core.roles import Role
from app.coursework import service as coursework
from app.coursework.models import HomeworkSubmission
from app.crm.models import Inquiry
from app.identity.models import Institute
from tests import factories as f
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, VIEWPORT, sign_in_with_google
from tests.e2e.test_journeys import (
    ADMIN,
    COUNSELOR,
    NAMES,
    STUDENT,
    SUBJECT,
    TEACHER,
    daytime_zone,
    nav,
    office,
    serve,  # noqa: F401  (the fixture)
)
from tests.e2e.test_users_browser import RERUN_MS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.parametrize("db", ["postgres"], indirect=True),
]

MATH, SCIENCE = "Math X", "Science Y"
HOMEWORK = "Quadratics worksheet"
ANSWER = "x = 2 or x = 3, by factorising."
VISITOR = ("Rohan Desai", "+91 98860 11223")


def _term(db):
    """Two batches with a class each today (Math X has two, taught by the teacher); the
    student Meera in Math X with homework due; a counselor who gets new enquiries."""
    zone = daytime_zone()
    where = office(db, zone)
    admin = where.admin
    teacher = f.user(db, where.institute, Role.TEACHER, name=TEACHER[0], email=TEACHER[1])
    f.user(db, where.institute, Role.COUNSELOR, name=COUNSELOR[0], email=COUNSELOR[1])
    pupil = f.user(db, where.institute, Role.STUDENT, name=STUDENT[0], email=STUDENT[1])
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    with db.scope(admin) as s:
        s.get(Institute, where.institute_id).auto_assign_inquiries = True
        science = academics.create_subject(s, actor=admin, name="Science")
        math = academics.create_batch(
            s, actor=admin, name=MATH, subject_id=where.subject_id, teacher_user_id=teacher.id
        )
        other = academics.create_batch(s, actor=admin, name=SCIENCE, subject_id=science.id)
        for n, (name, batch) in enumerate(
            [(STUDENT[0], math), (NAMES[0], math), (NAMES[1], other)]
        ):
            student = academics.create_student(
                s, actor=admin, enrollment_no=f"SUN-{n + 1:03d}", name=name
            )
            academics.join_batch(s, actor=admin, batch_id=batch.id, student_id=student.id, on=today)
        s.exec(select(Student).where(Student.name == STUDENT[0])).one().user_id = pupil.id
        for batch, at in ((math, time(6, 0)), (math, time(7, 0)), (other, time(8, 0))):
            attendance.create_adhoc_session(
                s, actor=admin, batch_id=batch.id, day=today, start_time=at, duration_minutes=45
            )
    tessa = f.actor_for(teacher)
    with db.scope(tessa) as s:
        coursework.create_homework(
            s, actor=tessa, batch_id=math.id, title=HOMEWORK, due_on=today + timedelta(days=3)
        )
    return where, today


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Callable[[], Page]]:
    """A fresh browser context (one person) per call, all closed at teardown."""
    opened: list[BrowserContext] = []

    def open_one() -> Page:
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        opened.append(context)
        return context.new_page()

    yield open_one
    for context in opened:
        context.close()


def _as(fresh: Callable[[], Page], url: str, provider: str, email: str, landing: str) -> Page:
    page = fresh()
    sign_in_with_google(page, url, provider, email)
    expect(page.get_by_role("heading", name=landing, exact=True)).to_be_visible(timeout=30_000)
    return page


def _card(page: Page, text: str):
    """The Today card whose time line reads `text` (e.g. "06:00–06:45 · Math X")."""
    return page.get_by_test_id("stVerticalBlock").filter(has_text=text).last


def test_a_day_of_the_term_holiday_cancel_move_hand_in_and_an_enquiry(
    contexts: Callable[[], Page],
    db,
    serve,  # noqa: F811  (the fixture imported above)
    oidc_provider,
):
    started = walltime.monotonic()
    where, today = _term(db)
    server = serve()
    tomorrow = today + timedelta(days=1)

    # 1. The teacher cancels the 06:00 class and moves the 07:00 one to tomorrow.
    teacher = _as(contexts, server.url, oidc_provider, TEACHER[1], "Today")
    first = _card(teacher, f"06:00–06:45 · {MATH}")
    first.get_by_text("Cancel or move this class").click()
    first.get_by_label("Reason (students and guardians are told)").fill("Teacher ill")
    first.get_by_role("button", name="Cancel this class").click()
    expect(teacher.get_by_text("Class cancelled; students and guardians are told.")).to_be_visible(
        timeout=RERUN_MS
    )
    expect(teacher.get_by_text("Not held: Teacher ill.")).to_be_visible()
    second = _card(teacher, f"07:00–07:45 · {MATH}")
    second.get_by_text("Cancel or move this class").click()
    second.get_by_label("Reason (students and guardians are told)").fill("Lab booked")
    new_date = second.get_by_test_id("stDateInput").filter(has_text="New date")
    new_date.get_by_role("spinbutton", name="year, New date").click()
    teacher.keyboard.type(f"{tomorrow:%Y%m%d}")  # year, month, day: each field moves on
    teacher.keyboard.press("Tab")
    expect(new_date.locator("input[type=date]")).to_have_value(f"{tomorrow:%Y-%m-%d}")
    second.get_by_role("button", name="Move this class").click()
    expect(
        teacher.get_by_text(f"Class moved to {tomorrow:%a %d %b} at 07:00; people are told.")
    ).to_be_visible(timeout=RERUN_MS)
    expect(
        teacher.get_by_text(f"Not held: Lab booked. Moved to {tomorrow:%a %d %b}, 07:00.")
    ).to_be_visible()

    # 2. The admin makes today a holiday: Science Y's class is cancelled for it.
    admin = _as(contexts, server.url, oidc_provider, ADMIN[1], "Overview")
    nav(admin, "Batches", "Batches")
    holiday = admin.get_by_test_id("stForm").filter(
        has=admin.get_by_role("button", name="Add holiday")
    )
    holiday.get_by_label("Name", exact=True).fill("Founders Day")
    holiday.get_by_role("button", name="Add holiday").click()
    expect(
        admin.get_by_text("Founders Day added: its classes are cancelled and students told.")
    ).to_be_visible(timeout=RERUN_MS)
    nav(admin, "Today", "Today")
    science = _card(admin, f"08:00–08:45 · {SCIENCE}")
    expect(science).to_contain_text("cancelled", timeout=RERUN_MS)
    expect(admin.get_by_text("Not held: Holiday: Founders Day.")).to_be_visible()
    expect(admin.get_by_text("Not held: Teacher ill.")).to_be_visible()

    # 3. The student reads what happened, and hands in homework; the teacher sees it.
    pupil = _as(contexts, server.url, oidc_provider, STUDENT[1], "My dashboard")
    nav(pupil, "My schedule", "My schedule")
    expect(pupil.get_by_text(re.compile(r"· Cancelled — Teacher ill$"))).to_be_visible(
        timeout=RERUN_MS
    )
    expect(
        pupil.get_by_text(f"Moved to {tomorrow:%a %d %b}, 07:00 — Lab booked", exact=False)
    ).to_be_visible()
    nav(pupil, "My homework", "My homework")
    expect(pupil.get_by_text(HOMEWORK)).to_be_visible(timeout=RERUN_MS)
    pupil.get_by_text("Hand in", exact=True).first.click()
    pupil.get_by_label("Your answer").fill(ANSWER)
    pupil.get_by_role("button", name="Hand in").click()
    expect(pupil.get_by_text(f"Handed in {HOMEWORK}.")).to_be_visible(timeout=RERUN_MS)

    nav(teacher, "Homework", "Homework")
    expect(teacher.get_by_text("Handed in by students (1)")).to_be_visible(timeout=RERUN_MS)
    expect(teacher.get_by_text(ANSWER)).to_be_visible()

    # 4. A visitor enquires; the lead is the counselor's on Pipeline.
    visitor = contexts()
    visitor.goto(f"{server.url}/enquire")
    expect(visitor.get_by_role("heading", name="Send an enquiry")).to_be_visible(timeout=30_000)
    visitor.get_by_role("combobox", name="Institute").click()
    visitor.get_by_role("option", name=where.institute.name, exact=True).click()
    form = visitor.get_by_test_id("stForm")
    form.get_by_label("Student's name", exact=True).fill(VISITOR[0])
    form.get_by_label("Phone", exact=True).fill(VISITOR[1])
    form.get_by_label("Anything we should know (optional)").fill(f"Evening {SUBJECT} batch?")
    form.get_by_role("button", name="Send enquiry").click()
    expect(visitor.get_by_text("Send another enquiry")).to_be_visible(timeout=RERUN_MS)

    counselor = _as(contexts, server.url, oidc_provider, COUNSELOR[1], "Pipeline")
    with db.scope(system=True) as s:
        lead = s.exec(select(Inquiry).where(Inquiry.student_name == VISITOR[0])).one()
    card = counselor.locator(f".st-key-crm_open_{lead.id}")
    expect(card).to_be_visible(timeout=RERUN_MS)
    expect(counselor.get_by_text(VISITOR[0], exact=True)).to_be_visible()
    elapsed = walltime.monotonic() - started

    with db.scope(system=True) as s:
        rows = s.exec(
            select(ClassSession.status, ClassSession.cancel_reason).order_by(ClassSession.starts_at)
        ).all()
        assert sorted(rows, key=str) == sorted(
            [
                ("cancelled", "Teacher ill"),
                ("rescheduled", "Lab booked"),
                ("cancelled", "Holiday: Founders Day"),
                ("scheduled", None),
            ],
            key=str,
        )
        assert s.exec(select(Holiday.name)).all() == ["Founders Day"]
        handed = s.exec(
            select(HomeworkSubmission.hand_in_text).where(
                col(HomeworkSubmission.hand_in_text).is_not(None)
            )
        ).all()
        assert handed == [ANSWER]
        assert lead.counselor_user_id is not None and lead.source == "website"
    print(f"term journey: {elapsed:.1f} s")
