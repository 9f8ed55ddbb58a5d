"""Five users' whole tasks in a real browser, on PostgreSQL (the production database).

Each journey gets a clean database seeded by hand with only what it needs, one real
`streamlit run` (with `[auth]` pointing at a local OIDC provider, so "Sign in with Google" is
the real st.login flow) and Debian's Chromium:

1. an admin invites a teacher, creates a batch with a weekly class and imports 20 students;
2. the teacher, on a phone, marks two of them absent; the real worker process delivers the
   guardians' absence messages to a fake Telegram Bot API server;
3. an admin runs the term's invoices, takes a payment and downloads the receipt;
4. a student sees their attendance, fee balance and badge, downloads the credential, and a
   stranger checks it on the public verification page;
5. a counselor converts an inquiry into an enrolled student, who appears in the register.

The key screens go to test-artifacts/screenshots; with COHORT_SCREENSHOTS=docs/screenshots the
README's tour pictures (viewport-sized) are refreshed from the same run.
"""

from __future__ import annotations

import csv
import io
import re
import time as walltime
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import jwt
import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from pypdf import PdfReader
from sqlmodel import func, select

from app.academics import service as academics
from app.academics.models import Batch, BatchMembership, BatchSchedule, Guardian, Student
from app.attendance import service as attendance
from app.attendance.models import AttendanceRecord, ClassSession
from app.badges import service as badges
from app.core import clock
from app.core.roles import Role
from app.core.tenancy import Actor
from app.crm import service as crm
from app.crm.models import Inquiry
from app.fees import service as fees
from app.fees.models import Invoice, Payment
from app.fees.periods import billing_period
from app.identity.models import Institute, User
from app.notify import service as notify
from app.notify.models import Notification
from tests import factories as f
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, VIEWPORT, sign_in_with_google
from tests.e2e.harness import (
    FakeTelegramServer,
    StreamlitServer,
    WorkerProcess,
    auth_secrets,
    docs_screenshot,
    free_port,
    screenshot,
)
from tests.e2e.test_attendance_browser import (
    PHONE,
    _class_window,
    student_control,
    submit_button,
)
from tests.e2e.test_users_browser import RERUN_MS, invite, open_users

pytestmark = [
    pytest.mark.heavy(seconds=22),
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.parametrize("db", ["postgres"], indirect=True),
]

TZ = "Asia/Kolkata"
INSTITUTE = "Sunrise Academy"
ADMIN = ("Asha Rao", "asha.rao@sunrise.example")
TEACHER = ("Tessa Thomas", "tessa.thomas@sunrise.example")
COUNSELOR = ("Kiran Mehta", "kiran.mehta@sunrise.example")
STUDENT = ("Meera Iyer", "meera.iyer@sunrise.example")
BATCH = "Math X"
SUBJECT = "Mathematics"
NAMES = [
    "Aarav Sharma",
    "Diya Patel",
    "Vihaan Gupta",
    "Ananya Reddy",
    "Arjun Nair",
    "Ishita Das",
    "Kabir Singh",
    "Saanvi Joshi",
    "Reyansh Kumar",
    "Myra Menon",
    "Advik Bose",
    "Kiara Pillai",
    "Vivaan Shah",
    "Aadhya Rao",
    "Ayaan Khan",
    "Anika Verma",
    "Dhruv Iyer",
    "Navya Kapoor",
    "Shaurya Mishra",
    "Pari Chatterjee",
]
ABSENT = ("Vihaan Gupta", "Navya Kapoor")


def chat_id(n: int) -> str:
    """The Telegram chat of student n's guardian."""
    return str(700_000_100 + n)


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def serve(db, oidc_provider, tmp_path, request) -> Iterator[Callable[..., StreamlitServer]]:
    """Start `streamlit run` (Google sign-in through the local OIDC provider) against this test's
    database, after the test has seeded it; stopped at teardown, its log shown on failure."""
    servers: list[StreamlitServer] = []

    def start(extra_env: dict[str, str] | None = None) -> StreamlitServer:
        db.engine.dispose()  # leave no pooled connections holding the database open
        port = free_port()
        secrets_file = auth_secrets(
            tmp_path / "secrets.toml", app_port=port, provider_url=oidc_provider
        )
        env = {
            "AUTHLIB_INSECURE_TRANSPORT": "1",
            "APP_BASE_URL": f"http://localhost:{port}",
            **(extra_env or {}),
        }
        server = StreamlitServer(db.url, env, secrets_file, port=port)
        servers.append(server)
        return server.start()

    yield start
    report = getattr(request.node, "rep_call", None)
    for server in servers:
        if report is not None and report.failed:
            print(f"--- streamlit output ({server.url}) ---\n{server.log()}")
        server.stop()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A phone: 390×844, mobile, touch."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    yield context.new_page()
    context.close()


@dataclass
class Office:
    institute: Institute
    admin: Actor
    subject_id: int

    @property
    def institute_id(self) -> int:
        return self.institute.id


def office(db, timezone: str = TZ) -> Office:
    """The institute, its admin (allowlisted for Google by email) and one subject."""
    inst = f.institute(db, name=INSTITUTE, timezone=timezone)
    admin = f.actor_for(f.user(db, inst, Role.ADMIN, name=ADMIN[0], email=ADMIN[1]))
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name=SUBJECT)
        return Office(inst, admin, subject.id)


def batch_with_students(
    db, where: Office, names: list[str], *, teacher_id: int | None = None, guardians: bool = False
) -> tuple[int, dict[str, int]]:
    """BATCH taught by `teacher_id`, with these students (joined 30 days ago); each student n
    has a guardian on Telegram chat `chat_id(n)` when `guardians`."""
    admin = where.admin
    joined = clock.today_in(TZ) - timedelta(days=30)
    with db.scope(admin) as s:
        batch = academics.create_batch(
            s,
            actor=admin,
            name=BATCH,
            subject_id=where.subject_id,
            teacher_user_id=teacher_id,
            capacity=30,
        )
        ids = {}
        for n, name in enumerate(names):
            student = academics.create_student(
                s, actor=admin, enrollment_no=f"SUN-{n + 1:03d}", name=name
            )
            academics.join_batch(
                s, actor=admin, batch_id=batch.id, student_id=student.id, on=joined
            )
            if guardians:
                academics.add_guardian(
                    s,
                    actor=admin,
                    student_id=student.id,
                    name=f"Guardian of {name}",
                    telegram_chat_id=chat_id(n),
                )
            ids[name] = student.id
        return batch.id, ids


def nav(page: Page, link: str, heading: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True).click()
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=RERUN_MS)


def grid(page: Page, column: str) -> Locator:
    """The accessible table inside the st.dataframe (a canvas) that has this column."""
    frame = page.get_by_test_id("stDataFrame").filter(has_text=column)
    return frame.locator("table[role=grid]")


def pick(page: Page, label: str, option: str, *, within: Locator) -> None:
    """Choose an option of a short selectbox (no typing): open it, click the option."""
    box = within.get_by_role("combobox", name=label, exact=True)
    for _ in range(3):
        if box.input_value() == option:  # (clicking the chosen option again would not close it)
            break
        box.click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=4_000)
        except PlaywrightTimeoutError:  # the list re-rendered under the click: open it again
            page.keyboard.press("Escape")
    expect(box).to_have_value(option)


def settle(page: Page) -> None:
    """Before a picture: no element still loading, and canvases (grids) painted."""
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=RERUN_MS)
    page.wait_for_timeout(400)


# ------------------------------------------------------------------ 1. admin sets up a batch


def import_file(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_journey_1_admin_invites_a_teacher_creates_a_batch_and_imports_students(
    page: Page, db, serve, oidc_provider
):
    started = walltime.monotonic()
    where = office(db)
    server = serve()

    sign_in_with_google(page, server.url, oidc_provider, ADMIN[1])
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stSidebar").get_by_text(ADMIN[0])).to_be_visible()

    # Invite the teacher.
    open_users(page)
    invite(page, name=TEACHER[0], email=TEACHER[1], role="Teacher")
    expect(
        page.get_by_text(f"Invited {TEACHER[0]} as teacher. They can sign in now.")
    ).to_be_visible(timeout=RERUN_MS)
    search = page.get_by_label("Search name, email or phone")
    search.fill("Tessa")
    search.press("Enter")
    listed = page.get_by_test_id("stDataFrame").first.locator("table[role=grid]")
    expect(listed).to_have_attribute("aria-rowcount", "2", timeout=RERUN_MS)
    for text in (TEACHER[0], TEACHER[1], "Teacher", "Invited"):
        expect(listed).to_contain_text(text)
    expect(page.get_by_role("combobox", name="User", exact=True)).to_have_value(
        f"{TEACHER[0]} · {TEACHER[1]} · invited"
    )

    # A batch for the new teacher, with a weekly class.
    nav(page, "Batches", "Batches")
    page.get_by_text("New batch").click()
    form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Create batch"))
    form.get_by_label("Name", exact=True).fill(BATCH)
    pick(page, "Teacher", TEACHER[0], within=form)
    form.get_by_label("Level", exact=True).fill("Class X")
    form.get_by_role("button", name="Create batch").click()
    expect(page.get_by_text(f"Created {BATCH}.")).to_be_visible(timeout=RERUN_MS)
    weekly = page.get_by_test_id("stForm").filter(
        has=page.get_by_role("button", name="Add weekly class")
    )
    pick(page, "Day", "Wednesday", within=weekly)
    weekly.get_by_role("button", name="Add weekly class").click()
    expect(page.get_by_text("Weekly class added.")).to_be_visible(timeout=RERUN_MS)
    expect(page.get_by_text("Wednesday 17:00 · 60 min")).to_be_visible()

    # 20 students with their guardians, from a CSV: validate, then confirm.
    rows = [
        {
            "enrollment_no": f"SUN-{n + 1:03d}",
            "name": name,
            "phone": f"+91 98450 {n + 1:05d}",
            "guardian_name": ("Mrs " if n % 2 else "Mr ") + name.split()[-1],
            "guardian_phone": f"+91 98451 {n + 1:05d}",
            "guardian_relationship": "mother" if n % 2 else "father",
            "guardian_telegram_chat_id": chat_id(n),
            "batch": BATCH,
        }
        for n, name in enumerate(NAMES)
    ]
    nav(page, "Import students", "Import students")
    page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(
        files=[{"name": "students.csv", "mimeType": "text/csv", "buffer": import_file(rows)}]
    )
    expect(page.get_by_text("20 students are ready to import.")).to_be_visible(timeout=RERUN_MS)
    preview = grid(page, "Guardian phone")
    expect(preview).to_have_attribute("aria-rowcount", "21", timeout=RERUN_MS)
    expect(preview).to_contain_text(NAMES[0])
    settle(page)
    docs_screenshot(page, "03-import-students")
    page.get_by_role("button", name="Import 20 students").click()
    expect(page.get_by_text("Imported 20 students.")).to_be_visible(timeout=RERUN_MS)

    # The batch now shows its teacher, its 20 students and its weekly class.
    nav(page, "Batches", "Batches")
    batches = grid(page, "Capacity")
    expect(batches).to_have_attribute("aria-rowcount", "2", timeout=RERUN_MS)
    for text in (BATCH, SUBJECT, TEACHER[0], "20", "Wed 17:00"):
        expect(batches).to_contain_text(text)
    page.get_by_role("tab", name="Students").click()
    expect(grid(page, "Enrollment")).to_have_attribute("aria-rowcount", "21", timeout=RERUN_MS)
    page.get_by_role("tab", name="Schedule").click()
    settle(page)
    docs_screenshot(page, "02-batches")

    nav(page, "Overview", "Overview")
    active = page.get_by_test_id("stMetric").filter(has_text="Active students")
    expect(active).to_contain_text("20", timeout=RERUN_MS)
    settle(page)
    docs_screenshot(page, "01-admin-overview")
    elapsed = walltime.monotonic() - started

    with db.scope(system=True) as s:
        teacher = s.exec(select(User).where(User.email == TEACHER[1])).one()
        assert (teacher.role, teacher.status, teacher.name) == ("teacher", "invited", TEACHER[0])
        batch = s.exec(select(Batch).where(Batch.institute_id == where.institute_id)).one()
        assert (batch.name, batch.teacher_user_id, batch.level) == (BATCH, teacher.id, "Class X")
        slots = s.exec(select(BatchSchedule).where(BatchSchedule.batch_id == batch.id)).all()
        assert [(x.weekday, x.start_time, x.duration_minutes) for x in slots] == [
            (2, time(17, 0), 60)
        ]
        members = s.exec(
            select(Student.name, Guardian.telegram_chat_id)
            .join(BatchMembership, BatchMembership.student_id == Student.id)
            .join(Guardian, Guardian.student_id == Student.id)
            .where(BatchMembership.batch_id == batch.id)
        ).all()
        assert sorted(members) == sorted((name, chat_id(n)) for n, name in enumerate(NAMES))
    print(f"journey 1: {elapsed:.1f} s")


# ------------------------------------------------------------------ 2. teacher on a phone


@dataclass
class ClassNow:
    session_id: int
    topics: list[int]
    students: dict[str, int]
    timezone: str


def daytime_zone() -> str:
    """Asia/Kolkata, unless its midnight is under 10 minutes away (today must stay today while
    the class runs): then Europe/London, 5½ hours off, instead of waiting for the date to turn."""
    for zone in (TZ, "Europe/London"):
        local = datetime.now(UTC).astimezone(ZoneInfo(zone))
        if time(0, 1) <= local.time() <= time(23, 50):
            return zone
    raise AssertionError("unreachable: two zones 5½ hours apart cannot both be near midnight")


@pytest.fixture
def class_now(db) -> ClassNow:
    """The teacher's batch (the 20 students, each guardian on Telegram), two topics, a class
    happening now, and quiet hours well away from now so the worker may send at once."""
    zone = daytime_zone()
    where = office(db, zone)
    teacher = f.user(db, where.institute, Role.TEACHER, name=TEACHER[0], email=TEACHER[1])
    admin = where.admin
    batch_id, students = batch_with_students(
        db, where, NAMES, teacher_id=teacher.id, guardians=True
    )
    now_local = datetime.now(UTC).astimezone(ZoneInfo(zone))
    start, duration = _class_window(now_local)
    quiet_start = (now_local + timedelta(hours=6)).time().replace(second=0, microsecond=0)
    quiet_end = (now_local + timedelta(hours=7)).time().replace(second=0, microsecond=0)
    with db.scope(admin) as s:
        topics = [
            academics.add_topic(s, actor=admin, subject_id=where.subject_id, name=name).id
            for name in ("Quadratic equations", "Arithmetic progressions")
        ]
        notify.save_rules(s, actor=admin, quiet_hours_start=quiet_start, quiet_hours_end=quiet_end)
        row = attendance.create_adhoc_session(
            s,
            actor=admin,
            batch_id=batch_id,
            day=now_local.date(),
            start_time=start,
            duration_minutes=duration,
        )
        return ClassNow(row.id, topics, students, zone)


def test_journey_2_teacher_takes_attendance_on_a_phone_and_guardians_hear(
    phone: Page, db, serve, class_now: ClassNow, oidc_provider, tmp_path
):
    started = walltime.monotonic()
    with FakeTelegramServer() as telegram:
        worker_env = {
            "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN",
            "TELEGRAM_API_BASE_URL": telegram.url,
            "WORKER_OUTBOX_INTERVAL_SECONDS": "2",
        }
        server = serve()
        with WorkerProcess(db.url, tmp_path / "worker.log", worker_env) as worker:
            try:
                _take_attendance(phone, server, oidc_provider)
                absent = {class_now.students[name]: name for name in ABSENT}
                absent_chats = {chat_id(NAMES.index(name)) for name in ABSENT}
                deadline = walltime.monotonic() + 30
                while telegram.chats() < absent_chats and walltime.monotonic() < deadline:
                    walltime.sleep(0.2)
                delivered = walltime.monotonic() - started
            except BaseException:
                print(f"--- worker output ---\n{worker.log()}")
                raise

    with db.scope(system=True) as s:
        row = s.get(ClassSession, class_now.session_id)
        starts_at = row.starts_at.replace(tzinfo=row.starts_at.tzinfo or UTC)
        local = starts_at.astimezone(ZoneInfo(class_now.timezone))
        marks = dict(
            s.exec(
                select(AttendanceRecord.student_id, AttendanceRecord.status).where(
                    AttendanceRecord.session_id == row.id
                )
            ).all()
        )
        outbox = s.exec(
            select(Notification.recipient, Notification.status).where(
                Notification.channel == "telegram"
            )
        ).all()
        status, topics = row.status, row.topics_covered
    assert len(marks) == 20
    assert {sid for sid, mark in marks.items() if mark == "absent"} == set(absent)
    assert status == "submitted" and topics == [class_now.topics[0]]
    for name in ABSENT:
        expected = (
            f"{name} was absent from {BATCH} on {local:%A %d %B} at {local:%H:%M}. "
            "Please reply to the institute if this is unexpected."
        )
        assert telegram.texts_to(chat_id(NAMES.index(name))) == [expected]
    assert telegram.chats() == absent_chats  # nobody else's guardian was messaged
    assert sorted(outbox) == sorted((chat, "sent") for chat in absent_chats)
    print(f"journey 2: {delivered:.1f} s (messages delivered)")


def _take_attendance(page: Page, server: StreamlitServer, provider: str) -> None:
    sign_in_with_google(page, server.url, provider, TEACHER[1])
    expect(page.get_by_role("heading", name="Today")).to_be_visible(timeout=30_000)
    take = page.get_by_role("button", name="Take attendance", exact=True)
    expect(take).to_be_visible(timeout=RERUN_MS)
    card = page.get_by_test_id("stVerticalBlock").filter(has=take).last
    expect(card).to_contain_text(BATCH)
    expect(card).to_contain_text("attendance open · 20 students · not taken")
    settle(page)
    docs_screenshot(page, "04-teacher-today-phone")
    take.tap()

    expect(page.get_by_role("heading", name=BATCH)).to_be_visible(timeout=RERUN_MS)
    expect(submit_button(page, 20, 0)).to_be_visible(timeout=RERUN_MS)
    for n, name in enumerate(ABSENT, start=1):
        absent = student_control(page, name).get_by_role("radio", name="Absent", exact=True)
        absent.tap()
        expect(absent).to_be_checked(timeout=RERUN_MS)
        expect(submit_button(page, 20 - n, n)).to_be_visible(timeout=RERUN_MS)
    for name in NAMES:
        expect(student_control(page, name).get_by_role("radio", checked=True)).to_have_text(
            "Absent" if name in ABSENT else "Present"
        )
    student_control(page, ABSENT[0]).scroll_into_view_if_needed()
    settle(page)
    docs_screenshot(page, "05-attendance-sheet-phone")

    # The first untaught topic is suggested (and kept); the second is not covered today.
    pills = page.get_by_role("toolbar", name="Topics covered", exact=True)
    first = pills.get_by_role("button", name="1. Quadratic equations", exact=True)
    second = pills.get_by_role("button", name="2. Arithmetic progressions", exact=True)
    expect(first).to_have_attribute("aria-pressed", "true")
    if second.get_attribute("aria-pressed") == "true":
        second.tap()
        expect(second).to_have_attribute("aria-pressed", "false", timeout=RERUN_MS)

    submit_button(page, 18, 2).tap()
    expect(page.get_by_text("Attendance saved: 18 present, 2 absent.")).to_be_visible(
        timeout=RERUN_MS
    )
    submitted = re.compile(rf"^Submitted by {TEACHER[0]} at \d\d:\d\d\.$")
    expect(page.get_by_text(submitted)).to_be_visible()
    expect(page.get_by_text(re.compile(r"· 20 students · submitted$"))).to_be_visible()
    # Read-only now: the saved marks in a grid (a canvas with an accessible table inside).
    saved = page.get_by_test_id("stDataFrame").locator("table[role=grid]")
    expect(saved).to_have_attribute("aria-rowcount", "21", timeout=RERUN_MS)
    expect(page.get_by_role("radiogroup")).to_have_count(0)
    settle(page)
    screenshot(page, "journey-2-submitted-phone")


# ------------------------------------------------------------------ 3. admin: invoices, payment


@pytest.fixture
def term_fees(db):
    """Five students of BATCH and a term fee structure (Tuition ₹12,000), nobody invoiced yet."""
    where = office(db)
    batch_id, students = batch_with_students(db, where, NAMES[:5])
    with db.scope(where.admin) as s:
        fees.create_structure(
            s,
            actor=where.admin,
            name="Term fees",
            items=[{"name": "Tuition", "amount_minor": 12_000_00}],
            period_kind="term",
            due_days=14,
        )
    return students


def test_journey_3_admin_runs_invoices_and_takes_a_payment_with_receipt(
    page: Page, db, serve, term_fees, oidc_provider
):
    started = walltime.monotonic()
    server = serve()
    sign_in_with_google(page, server.url, oidc_provider, ADMIN[1])
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=30_000)
    nav(page, "Fees", "Fees")

    # The term's invoice run for the batch: preview, then confirm.
    page.get_by_role("tab", name="Invoice run").click()
    run = page.get_by_role("tabpanel", name="Invoice run")
    pick(page, "Who", BATCH, within=run)
    period = billing_period("term", date.today())  # the run defaults to the term of today
    expect(run).to_contain_text(
        f"5 new invoices of ₹12,000.00 (total ₹60,000.00); 0 students already invoiced for "
        f"{period}.",
        timeout=RERUN_MS,
    )
    settle(page)
    docs_screenshot(page, "06-fees-invoice-run")
    run.get_by_role("button", name="Create 5 invoices").click()
    expect(page.get_by_text(f"Created 5 invoices for {period}.")).to_be_visible(timeout=RERUN_MS)

    # At the counter: Diya pays part of her fees and takes the receipt.
    name, enrollment = NAMES[1], "SUN-002"
    page.get_by_role("tab", name="Counter").click()
    page.get_by_label("Find a student (name, enrollment number or phone)").fill(enrollment)
    page.keyboard.press("Enter")
    owes = page.get_by_test_id("stMetric").filter(has_text="Owes")
    expect(owes).to_contain_text("₹12,000.00", timeout=RERUN_MS)
    form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Take payment"))
    form.get_by_label("Amount", exact=True).fill("5000")
    pick(page, "Method", "UPI", within=form)
    form.get_by_label("Reference", exact=True).fill("UPI-4471")
    form.get_by_role("button", name="Take payment").click()
    expect(page.get_by_text(f"Received ₹5,000.00 from {name}: receipt 1.")).to_be_visible(
        timeout=RERUN_MS
    )
    expect(owes).to_contain_text("₹7,000.00", timeout=RERUN_MS)
    receipt = page.get_by_role("button", name="Receipt PDF")
    expect(receipt).to_have_count(1)
    settle(page)
    docs_screenshot(page, "07-fees-counter-receipt")
    with page.expect_download() as download_info:
        receipt.click()
    download = download_info.value
    assert download.suggested_filename == "receipt-1.pdf"
    text = "".join(p.extract_text() for p in PdfReader(download.path()).pages)
    assert "Receipt No. 1" in text and name in text and "INR 5,000.00" in text
    assert "UPI-4471" in text
    elapsed = walltime.monotonic() - started

    with db.scope(system=True) as s:
        invoices = s.exec(select(Invoice).where(Invoice.period == period)).all()
        payment = s.exec(select(Payment).where(Payment.reference == "UPI-4471")).one()
    assert sorted(i.student_id for i in invoices) == sorted(term_fees.values())
    assert all(i.total_minor == 12_000_00 for i in invoices)
    paid = {i.student_id: (i.paid_minor, i.status) for i in invoices}
    assert paid[term_fees[name]] == (5_000_00, "partially_paid")
    assert payment.amount_minor == 5_000_00 and payment.credit_minor == 0
    assert (payment.method, payment.receipt_no) == ("upi", 1)
    print(f"journey 3: {elapsed:.1f} s")


# ------------------------------------------------------------------ 4. a student and a stranger

MINI = "Quadratics solver"
# Symbols the system fonts draw (CI's Chromium has no colour-emoji font for the screenshots).
MINI_EMOJI = "∑"


@dataclass
class Learner:
    student_id: int
    award_credential: str


@pytest.fixture
def learner(db) -> Learner:
    """A student who signs in with Google: two classes so far (present, then absent), a ₹12,000
    term invoice with ₹5,000 paid, and one mini-badge awarded by the admin."""
    where = office(db)
    admin = where.admin
    user = f.user(db, where.institute, Role.STUDENT, name=STUDENT[0], email=STUDENT[1])
    _, students = batch_with_students(db, where, [STUDENT[0], NAMES[0], NAMES[1]])
    student_id = students[STUDENT[0]]
    with db.scope(system=True) as s:
        record = s.get(Student, student_id)
        record.user_id = user.id  # the student's own account (academics has no link API)
        s.add(record)
    today = clock.today_in(TZ)
    with db.scope(admin) as s:
        batch_id = s.exec(select(Batch.id).where(Batch.institute_id == where.institute_id)).one()
    for days_ago, mark in ((2, "present"), (1, "absent")):
        with db.scope(admin) as s:
            row = attendance.create_adhoc_session(
                s,
                actor=admin,
                batch_id=batch_id,
                day=today - timedelta(days=days_ago),
                start_time=time(10, 0),
                duration_minutes=60,
            )
            session_id, version, starts = row.id, row.version, row.starts_at
        with clock.frozen(starts + timedelta(minutes=10)), db.scope(admin) as s:
            attendance.submit_attendance(
                s,
                actor=admin,
                session_id=session_id,
                marks={student_id: mark},
                expected_version=version,
            )
    with db.scope(admin) as s:
        structure = fees.create_structure(
            s,
            actor=admin,
            name="Term fees",
            items=[{"name": "Tuition", "amount_minor": 12_000_00}],
        )
        fees.invoice_run(
            s, actor=admin, structure_id=structure.id, period="2026-T1", student_ids=[student_id]
        )
        fees.record_payment(
            s,
            actor=admin,
            student_id=student_id,
            amount_minor=5_000_00,
            method="cash",
            reference="CASH-0001",
        )
        program = badges.create_badge(s, actor=admin, kind="program", name="Algebra", emoji="★")
        skill = badges.create_badge(
            s, actor=admin, kind="skill", name="Equations", parent_id=program.id, emoji="✎"
        )
        mini = badges.create_badge(
            s, actor=admin, kind="mini", name=MINI, parent_id=skill.id, emoji=MINI_EMOJI
        )
        awards = badges.award(s, actor=admin, student_id=student_id, badge_id=mini.id)
        credential = next(a.credential_id for a in awards if a.badge_id == mini.id)
    return Learner(student_id, credential)


def test_journey_4_student_sees_progress_and_a_stranger_verifies_the_badge(
    page: Page, browser: Browser, db, serve, learner: Learner, oidc_provider
):
    started = walltime.monotonic()
    server = serve()
    sign_in_with_google(page, server.url, oidc_provider, STUDENT[1])

    # The dashboard: attendance over the last 30 days and what is left to pay.
    expect(page.get_by_role("heading", name="My dashboard")).to_be_visible(timeout=30_000)
    metric = page.get_by_test_id("stMetric")
    expect(metric.filter(has_text="Attendance (30 days)")).to_contain_text("50%")
    expect(metric.filter(has_text="Fee balance")).to_contain_text("₹7,000.00")
    settle(page)
    docs_screenshot(page, "08-student-dashboard")

    nav(page, "My attendance", "My attendance")
    expect(page.get_by_text("1 present · 0 late · 1 absent · 0 excused")).to_be_visible()
    expect(page.get_by_text(re.compile(rf"· {SUBJECT} · {BATCH} · absent$"))).to_be_visible()
    expect(page.get_by_text(re.compile(rf"· {SUBJECT} · {BATCH} · present$"))).to_be_visible()

    nav(page, "My fees", "My fees")
    expect(metric.filter(has_text="Balance to pay")).to_contain_text("₹7,000.00")
    expect(page.get_by_text(re.compile(r"^Receipt 1 · .* · ₹5,000\.00 · Cash\b"))).to_be_visible()

    # The badge wall: the mini-badge, its credential to download and the link to check it.
    nav(page, "My badges", "My badges")
    row = page.get_by_test_id("stHorizontalBlock").filter(has_text=f"{MINI} (mini) · ")
    expect(row).to_be_visible()
    link = row.get_by_text(re.compile(r"^Anyone can check it at "))
    expect(link).to_contain_text(f"{server.url}/?credential={learner.award_credential}")
    settle(page)
    docs_screenshot(page, "09-badge-wall")
    with page.expect_download() as download_info:
        row.get_by_role("button", name="Credential (.jwt)").click()
    download = download_info.value
    assert download.suggested_filename == f"{MINI}.jwt"
    token = download.path().read_text().strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["credentialSubject"]["achievement"]["name"] == MINI
    assert claims["id"] == f"{server.url}/?credential={learner.award_credential}"

    # A stranger (a new browser, nobody signed in) opens that link.
    verify_url = link.inner_text().removeprefix("Anyone can check it at ").strip()
    stranger = browser.new_context(viewport=VIEWPORT)
    stranger.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        anyone = stranger.new_page()
        anyone.goto(verify_url)
        expect(anyone.get_by_role("heading", name="Badge verification")).to_be_visible(
            timeout=RERUN_MS
        )
        expect(
            anyone.get_by_text(f"Valid: {MINI}, issued by {INSTITUTE} to {STUDENT[0]}.")
        ).to_be_visible()
        expect(anyone.get_by_role("button", name="Sign in with Google")).to_have_count(0)
        settle(anyone)
        docs_screenshot(anyone, "10-badge-verified")
    finally:
        stranger.close()
    print(f"journey 4: {walltime.monotonic() - started:.1f} s")


# ------------------------------------------------------------------ 5. counselor converts


INQUIRY = ("Rohan Desai", "+91 98860 12345")
# The rest of the counselor's board: (name, phone, source, status it has reached).
OTHER_INQUIRIES = [
    ("Sneha Kulkarni", "+91 98860 22222", "website", "contacted"),
    ("Farhan Ali", "+91 98860 33333", "referral", "follow_up_scheduled"),
    ("Lakshmi Menon", "+91 98860 44444", "social_media", "new"),
    ("Nikhil Jain", "+91 98860 55555", "campaign", "lost"),
]


@pytest.fixture
def inquiry(db) -> int:
    """A counselor with one new walk-in inquiry; BATCH (3 students) and a monthly fee."""
    where = office(db)
    counselor = f.actor_for(
        f.user(db, where.institute, Role.COUNSELOR, name=COUNSELOR[0], email=COUNSELOR[1])
    )
    batch_with_students(db, where, NAMES[:3])
    with db.scope(where.admin) as s:
        fees.create_structure(
            s,
            actor=where.admin,
            name="Monthly fees",
            items=[{"name": "Tuition", "amount_minor": 3_000_00}],
            period_kind="month",
        )
    with db.scope(counselor) as s:
        for name, phone, source, status in OTHER_INQUIRIES:
            other = crm.create_inquiry(
                s,
                actor=counselor,
                student_name=name,
                phone=phone,
                source=source,
                counselor_user_id=counselor.user_id,
            )
            if status == "follow_up_scheduled":
                crm.schedule_follow_up(
                    s, actor=counselor, inquiry_id=other.id, on=clock.today_in(TZ) + timedelta(2)
                )
            elif status != "new":
                crm.change_status(
                    s,
                    actor=counselor,
                    inquiry_id=other.id,
                    status=status,
                    lost_reason="Chose another institute" if status == "lost" else None,
                )
        made = crm.create_inquiry(
            s,
            actor=counselor,
            student_name=INQUIRY[0],
            phone=INQUIRY[1],
            interested_subjects=[where.subject_id],
            notes="Walked in with his mother; wants the evening batch.",
            counselor_user_id=counselor.user_id,
        )
        return made.id


def test_journey_5_counselor_converts_an_inquiry_into_an_enrolled_student(
    page: Page, db, serve, inquiry: int, oidc_provider
):
    started = walltime.monotonic()
    server = serve()
    sign_in_with_google(page, server.url, oidc_provider, COUNSELOR[1])
    expect(page.get_by_role("heading", name="Pipeline")).to_be_visible(timeout=30_000)

    card = page.locator(f".st-key-crm_open_{inquiry}")
    expect(card).to_be_visible(timeout=RERUN_MS)
    settle(page)
    docs_screenshot(page, "11-counselor-pipeline")
    card.get_by_role("button", name="Open").click()
    expect(page.get_by_role("heading", name=f"#{inquiry} {INQUIRY[0]} · New")).to_be_visible(
        timeout=RERUN_MS
    )
    page.get_by_role("radiogroup", name="Next step").get_by_role(
        "radio", name="Convert to student"
    ).click()
    form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Convert"))
    expect(form).to_be_visible(timeout=RERUN_MS)
    enrollment = form.get_by_label("Enrollment number", exact=True).input_value()
    assert enrollment
    expect(form.get_by_role("combobox", name="Batch", exact=True)).to_have_value(BATCH)
    expect(form.get_by_role("combobox", name="Fee structure", exact=True)).to_have_value(
        "Monthly fees"
    )
    form.get_by_label("Guardian name", exact=True).fill("Sunita Desai")
    form.get_by_label("Guardian phone", exact=True).fill("+91 98860 54321")
    pick(page, "Relationship", "mother", within=form)
    form.get_by_role("button", name="Convert").click()
    expect(
        page.get_by_text(
            re.compile(
                rf"{INQUIRY[0]} is enrolled as {enrollment} in {BATCH}; first invoice issued "
                r"for \d{4}-\d{2}\."  # the monthly structure's current month
            )
        )
    ).to_be_visible(timeout=RERUN_MS)

    # The new student is in the register.
    nav(page, "Students register", "Students register")
    search = page.get_by_label("Search name, enrollment number or phone")
    search.fill("Rohan")
    search.press("Enter")
    register = grid(page, "Enrollment")
    expect(register).to_have_attribute("aria-rowcount", "2", timeout=RERUN_MS)
    for text in (enrollment, INQUIRY[0], "active"):
        expect(register).to_contain_text(text)
    settle(page)
    screenshot(page, "journey-5-register")
    elapsed = walltime.monotonic() - started

    with db.scope(system=True) as s:
        student = s.exec(select(Student).where(Student.name == INQUIRY[0])).one()
        converted = s.get(Inquiry, inquiry)
        places = s.exec(
            select(Batch.name)
            .join(BatchMembership, BatchMembership.batch_id == Batch.id)
            .where(BatchMembership.student_id == student.id)
        ).all()
        invoices = s.exec(
            select(Invoice.total_minor, Invoice.status).where(Invoice.student_id == student.id)
        ).all()
        guardian = s.exec(select(Guardian).where(Guardian.student_id == student.id)).one()
        students = s.exec(select(func.count()).select_from(Student)).one()
    assert student.enrollment_no == enrollment and student.status == "active"
    assert converted.status == "enrolled" and converted.student_id == student.id
    assert places == [BATCH]
    assert invoices == [(3_000_00, "issued")]
    assert (guardian.name, guardian.relationship) == ("Sunita Desai", "mother")
    assert students == 4
    print(f"journey 5: {elapsed:.1f} s")
