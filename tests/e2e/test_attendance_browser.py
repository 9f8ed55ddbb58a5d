"""On a phone (390×844): a teacher opens Today, takes attendance for 40 students, submits.

The server runs on the real clock, so the test builds one ad hoc class session happening now
(in the institute's timezone, Asia/Kolkata) with the services before `streamlit run` starts.
"""

from __future__ import annotations

import re
import time as walltime
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlmodel import func, select

from app.academics import service as academics
from app.attendance import service as attendance
from app.attendance.models import AttendanceRecord, ClassSession
from app.core.roles import Role
from tests import factories as f
from tests.e2e.harness import StreamlitServer, screenshot

pytestmark = pytest.mark.browser

TZ = "Asia/Kolkata"
PHONE = {"width": 390, "height": 844}
DEFAULT_TIMEOUT_MS = 15_000
RERUN_MS = 15_000  # a Streamlit rerun against a cold server, with room to spare
PASSWORD = "correct horse battery"
TEACHER_NAME = "Tara Teacher"
TEACHER_EMAIL = "tara.teacher@example.com"
BATCH = "Math X"
TOPICS = ("Fractions", "Decimals", "Percentages")
STUDENTS = [f"Student {n:02d}" for n in range(40)]
ABSENT = ("Student 03", "Student 17", "Student 38")  # one near the top, middle and bottom


@dataclass
class Day:
    session_id: int
    topics: list[int]
    students: dict[str, int]  # name -> id


def _class_window(now_local: datetime) -> tuple[time, int]:
    """A class that started 5 minutes ago (not before midnight) and ends the same local day."""
    start = max(now_local - timedelta(minutes=5), now_local.replace(hour=0, minute=0))
    start = start.replace(second=0, microsecond=0)
    midnight = datetime.combine(now_local.date() + timedelta(days=1), time(0), now_local.tzinfo)
    minutes_left = int((midnight - start).total_seconds() // 60) - 1
    return start.time(), min(60, minutes_left)


def _wait_past_midnight_if_close() -> None:
    """Today must stay today for the whole test: within 3 minutes of local midnight, wait it out."""
    now_local = datetime.now(UTC).astimezone(ZoneInfo(TZ))
    midnight = datetime.combine(now_local.date() + timedelta(days=1), time(0), now_local.tzinfo)
    left = (midnight - now_local).total_seconds()
    if left < 180:
        walltime.sleep(left + 5)


@pytest.fixture
def class_now(db) -> Day:
    """An institute in Asia/Kolkata, its admin and teacher, Math X (40 students, 3 topics) and
    one ad hoc class of Math X happening now."""
    _wait_past_midnight_if_close()
    inst = f.institute(db, timezone=TZ)
    admin = f.actor_for(f.user(db, inst, Role.ADMIN, email="ada.admin@example.com"))
    teacher = f.user(
        db, inst, Role.TEACHER, name=TEACHER_NAME, email=TEACHER_EMAIL, password=PASSWORD
    )
    now_local = datetime.now(UTC).astimezone(ZoneInfo(TZ))
    today: date = now_local.date()
    start, duration = _class_window(now_local)
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Mathematics")
        topics = [
            academics.add_topic(s, actor=admin, subject_id=subject.id, name=name).id
            for name in TOPICS
        ]
        batch = academics.create_batch(
            s,
            actor=admin,
            name=BATCH,
            subject_id=subject.id,
            teacher_user_id=teacher.id,
            capacity=45,
        )
        students = {}
        for n, name in enumerate(STUDENTS):
            student = academics.create_student(
                s, actor=admin, enrollment_no=f"ADM-{n:03d}", name=name
            )
            academics.join_batch(
                s,
                actor=admin,
                batch_id=batch.id,
                student_id=student.id,
                on=today - timedelta(days=30),
            )
            students[name] = student.id
        row = attendance.create_adhoc_session(
            s,
            actor=admin,
            batch_id=batch.id,
            day=today,
            start_time=start,
            duration_minutes=duration,
        )
        return Day(session_id=row.id, topics=topics, students=students)


@pytest.fixture
def app_server(db, class_now, request) -> Iterator[StreamlitServer]:
    """`streamlit run` against this test's database (no demo data: only `class_now`'s rows)."""
    db.engine.dispose()  # leave no pooled connections holding the database open
    with StreamlitServer(db.url) as server:
        yield server
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(f"--- streamlit output ({server.url}) ---\n{server.log()}")


@pytest.fixture
def page(browser) -> Iterator[Page]:
    """A phone: 390×844, mobile, touch (overrides the conftest's desktop page)."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    yield context.new_page()
    context.close()


def sign_in_with_password(page: Page, url: str) -> None:
    page.goto(url)
    form = page.get_by_test_id("stForm").filter(has=page.get_by_label("Password", exact=True))
    expect(form).to_be_visible(timeout=RERUN_MS)
    form.get_by_label("Email or phone", exact=True).fill(TEACHER_EMAIL)
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_role("button", name="Sign in", exact=True).click()


def student_control(page: Page, name: str) -> Locator:
    """A student's segmented control: a radio group named after the student (Present, Absent,
    Late, Excused), inside the widget whose label shows the name."""
    return page.get_by_test_id("stButtonGroup").get_by_role("radiogroup", name=name, exact=True)


def submit_button(page: Page, present: int, absent: int) -> Locator:
    label = re.compile(rf"^Submit · {present} present, {absent} absent")
    return page.get_by_role("button", name=label)


# On SQLite only: test_journeys.py runs this flow end to end on PostgreSQL.
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_teacher_takes_attendance_on_a_phone(page: Page, app_server, db, class_now: Day):
    started = walltime.monotonic()
    sign_in_with_password(page, app_server.url)

    # Today, the teacher's landing page: one card for the class happening now.
    expect(page.get_by_role("heading", name="Today")).to_be_visible(timeout=RERUN_MS)
    take = page.get_by_role("button", name="Take attendance", exact=True)
    expect(take).to_be_visible(timeout=RERUN_MS)
    card = page.get_by_test_id("stVerticalBlock").filter(has=take).last
    expect(card).to_contain_text(BATCH)
    expect(card).to_contain_text("attendance open · 40 students · not taken")
    screenshot(page, "attendance-phone-01-today")
    take.click()

    # The sheet: one control per student, everyone preset present.
    expect(page.get_by_role("heading", name=BATCH)).to_be_visible(timeout=RERUN_MS)
    expect(submit_button(page, 40, 0)).to_be_visible(timeout=RERUN_MS)
    for name in STUDENTS:
        expect(student_control(page, name).get_by_role("radio", checked=True)).to_have_text(
            "Present"
        )
    screenshot(page, "attendance-phone-02-sheet")

    # One tap each for the three absentees; the submit label counts them after each rerun.
    for n, name in enumerate(ABSENT, start=1):
        absent = student_control(page, name).get_by_role("radio", name="Absent", exact=True)
        absent.tap()
        expect(absent).to_be_checked(timeout=RERUN_MS)
        expect(submit_button(page, 40 - n, n)).to_be_visible(timeout=RERUN_MS)
    for name in STUDENTS:
        expect(student_control(page, name).get_by_role("radio", checked=True)).to_have_text(
            "Absent" if name in ABSENT else "Present"
        )
    screenshot(page, "attendance-phone-03-marked")

    # Topics covered: the next two untaught topics come suggested; keep only the first.
    pills = page.get_by_role("toolbar", name="Topics covered", exact=True)
    topic = {
        name: pills.get_by_role("button", name=f"{n}. {name}", exact=True)
        for n, name in enumerate(TOPICS, start=1)
    }
    expect(topic[TOPICS[0]]).to_have_attribute("aria-pressed", "true")
    expect(topic[TOPICS[1]]).to_have_attribute("aria-pressed", "true")
    expect(topic[TOPICS[2]]).to_have_attribute("aria-pressed", "false")
    topic[TOPICS[1]].tap()
    expect(topic[TOPICS[1]]).to_have_attribute("aria-pressed", "false", timeout=RERUN_MS)
    expect(topic[TOPICS[0]]).to_have_attribute("aria-pressed", "true")
    screenshot(page, "attendance-phone-04-topic")

    submit = submit_button(page, 37, 3)
    expect(submit).to_be_enabled()
    submit.tap()
    expect(page.get_by_text("Attendance saved: 37 present, 3 absent.")).to_be_visible(
        timeout=RERUN_MS
    )
    submitted = re.compile(rf"^Submitted by {TEACHER_NAME} at \d\d:\d\d\.$")
    expect(page.get_by_text(submitted)).to_be_visible()
    expect(page.get_by_text(re.compile(r"· 40 students · submitted$"))).to_be_visible()
    # Read-only now: the saved marks in a grid (a canvas with an accessible table inside).
    grid = page.get_by_test_id("stDataFrame").locator("table[role=grid]")
    expect(grid).to_have_attribute("aria-rowcount", "41", timeout=RERUN_MS)
    expect(page.get_by_role("radiogroup")).to_have_count(0)
    expect(submit_button(page, 37, 3)).to_have_count(0)
    page.wait_for_timeout(500)  # let the grid paint before the screenshot
    screenshot(page, "attendance-phone-05-submitted")
    elapsed = walltime.monotonic() - started

    with db.scope(system=True) as s:
        marks = dict(
            s.exec(
                select(AttendanceRecord.student_id, AttendanceRecord.status).where(
                    AttendanceRecord.session_id == class_now.session_id
                )
            ).all()
        )
        total = s.exec(select(func.count()).select_from(AttendanceRecord)).one()
        row = s.get(ClassSession, class_now.session_id)
        status, topics = row.status, row.topics_covered
    assert total == 40 and len(marks) == 40
    absent_ids = {sid for sid, mark in marks.items() if mark == "absent"}
    assert absent_ids == {class_now.students[name] for name in ABSENT}
    assert sorted(set(marks.values())) == ["absent", "present"]
    assert status == "submitted"
    assert topics == [class_now.topics[0]]
    print(f"phone flow on {db.kind}: {elapsed:.1f} s")
