"""In a real browser: a student requests a mini-badge with evidence, a teacher approves it, the
student sees it on the wall and downloads the credential, and anyone can verify it.

Before the browser starts, the demo admin builds a tiny catalog (program → skill → one manual
mini-badge) through the badge service, and the test picks a demo student who can use dev sign-in
and sits in a batch taught by a demo teacher.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jwt
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import col, select

from app.academics.models import Batch, BatchMembership, Student
from app.badges import service as badges
from app.badges.models import BadgeAward
from app.core.roles import Role
from app.identity.models import Institute, User, UserStatus
from tests import factories as f
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, VIEWPORT
from tests.e2e.harness import screenshot
from tests.e2e.test_users_browser import RERUN_MS, choose

pytestmark = pytest.mark.browser

PROGRAM = "Field Science"
SKILL = "Observation"
MINI = "Leaf journal"
EMOJI = "🍃"
EVIDENCE = "I kept a journal of twelve leaves with sketches and notes."
LINK = "https://example.com/leaf-journal"
DEV_SIGN_IN_STUDENTS = 5  # dev sign-in lists the first five students of each institute


@dataclass(frozen=True)
class Cast:
    institute: str
    student_user: str  # the name dev sign-in shows
    student: str  # the student record's name (the teacher's queue shows it)
    student_id: int
    teacher: str
    mini_id: int


def _cast(db, demo) -> Cast:
    """The mini-badge catalog, and a student + their teacher, both dev-sign-in-able."""
    institute_id = demo.institute_ids[0]
    with db.scope(system=True) as s:
        admin = s.get(User, demo.first(Role.ADMIN))
        institute = s.get(Institute, institute_id).name
        listed = s.exec(
            select(User.id)
            .where(
                User.institute_id == institute_id,
                User.role == Role.STUDENT.value,
                User.status != UserStatus.DISABLED.value,
            )
            .order_by(User.id)
            .limit(DEV_SIGN_IN_STUDENTS)
        ).all()
        teacher_user = User.__table__.alias("teacher_user")
        row = s.exec(
            select(User.name, Student.name, Student.id, teacher_user.c.name)
            .join(Student, Student.user_id == User.id)
            .join(BatchMembership, BatchMembership.student_id == Student.id)
            .join(Batch, Batch.id == BatchMembership.batch_id)
            .join(teacher_user, teacher_user.c.id == Batch.teacher_user_id)
            .where(
                col(User.id).in_(listed),
                Student.institute_id == institute_id,
                col(BatchMembership.left_on).is_(None),
                teacher_user.c.role == Role.TEACHER.value,
                teacher_user.c.status != UserStatus.DISABLED.value,
            )
            .order_by(User.id, Batch.id)
        ).first()
        assert row is not None, "the demo has no signed-in-able student in a taught batch"
        student_user, student, student_id, teacher = row
        names = s.exec(
            select(User.name).where(User.institute_id == institute_id, User.name == student_user)
        ).all()
        assert len(names) == 1, f"{student_user} is not unique in the dev sign-in list"
    actor = f.actor_for(admin)
    with db.scope(actor) as s:
        program = badges.create_badge(s, actor=actor, kind="program", name=PROGRAM, emoji="🔬")
        skill = badges.create_badge(
            s, actor=actor, kind="skill", name=SKILL, parent_id=program.id, emoji="👁️"
        )
        mini = badges.create_badge(
            s,
            actor=actor,
            kind="mini",
            name=MINI,
            parent_id=skill.id,
            emoji=EMOJI,
            criteria="Keep an illustrated journal of at least ten leaves.",
        )
        mini_id = mini.id
    return Cast(institute, student_user, student, student_id, teacher, mini_id)


def _sign_in(page: Page, url: str, label: str, name: str) -> None:
    """Dev sign-in as the user with this list label; wait until the sidebar greets them."""
    page.goto(url)
    expect(page.get_by_text("Dev sign-in").first).to_be_visible(timeout=RERUN_MS)
    dev_tab = page.get_by_role("tab", name="Dev sign-in")
    if dev_tab.count():
        dev_tab.click()
    choose(page, "Sign in as", label)
    page.get_by_role("button", name="Sign in", exact=True).filter(visible=True).click()
    expect(page.get_by_test_id("stSidebar").get_by_text(name)).to_be_visible(timeout=RERUN_MS)


def _open(page: Page, link: str, heading: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True).click()
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=RERUN_MS)


def _new_page(browser: Browser) -> Page:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return context.new_page()


# The browser journeys run on PostgreSQL; this one runs on SQLite (the UI is the same).
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_request_approve_download_and_verify_a_badge(
    page: Page, browser: Browser, live_app, db, demo
):
    cast = _cast(db, demo)

    # The student asks for the mini-badge with evidence.
    _sign_in(
        page, live_app.url, f"{cast.student_user} · Student · {cast.institute}", cast.student_user
    )
    _open(page, "My badges", "My badges")
    form = page.get_by_test_id("stForm")
    choose(page, "Badge", f"{EMOJI} {MINI}", within=form)
    form.get_by_label("Your evidence", exact=True).fill(EVIDENCE)
    form.get_by_label("Link to your work (optional)", exact=True).fill(LINK)
    screenshot(page, "badges-01-request")
    form.get_by_role("button", name="Request").click()
    expect(page.get_by_text(f"Requested {EMOJI} {MINI}; a teacher will look at it.")).to_be_visible(
        timeout=RERUN_MS
    )
    expect(page.get_by_text(f"{MINI}: pending")).to_be_visible()

    # Their teacher, in a browser of their own, approves it from the queue.
    teacher = _new_page(browser)
    try:
        _sign_in(
            teacher, live_app.url, f"{cast.teacher} · Teacher · {cast.institute}", cast.teacher
        )
        _open(teacher, "Badge requests", "Badge requests")
        teacher.get_by_text(f"{cast.student}: {MINI}").click()
        expect(teacher.get_by_text(EVIDENCE)).to_be_visible()
        screenshot(teacher, "badges-02-queue")
        teacher.get_by_role("button", name="Approve").click()
        expect(teacher.get_by_text(f"Approved: {cast.student} now has {MINI}.")).to_be_visible(
            timeout=RERUN_MS
        )
    finally:
        teacher.context.close()
    with db.scope(system=True) as s:
        award = s.exec(
            select(BadgeAward).where(
                BadgeAward.student_id == cast.student_id, BadgeAward.badge_id == cast.mini_id
            )
        ).one()
        assert award.source == "request" and award.revoked_at is None

    # Back on the wall: the mini (and, by progression, its skill) is earned.
    _open(page, "My badges", "My badges")
    expect(page.get_by_text(f"{MINI}: approved")).to_be_visible(timeout=RERUN_MS)
    row = page.get_by_test_id("stHorizontalBlock").filter(has_text=f"{MINI} (mini) · ")
    expect(row).to_be_visible()
    expect(page.get_by_text(re.compile(rf"{SKILL} \(skill\) · "))).to_be_visible()
    expect(row.get_by_role("button", name="Credential (.jwt)")).to_be_visible()
    screenshot(page, "badges-03-wall")
    with page.expect_download() as download_info:
        row.get_by_role("button", name="Credential (.jwt)").click()
    download = download_info.value
    assert download.suggested_filename == f"{MINI}.jwt"
    token = download.path().read_text().strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["name"] == MINI
    assert claims["credentialSubject"]["achievement"]["name"] == MINI
    assert claims["id"].endswith(f"?credential={award.credential_id}")
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"

    # Anyone, signed in or not, can check it.
    anyone = _new_page(browser)
    try:
        anyone.goto(f"{live_app.url}/?credential={award.credential_id}")
        expect(anyone.get_by_role("heading", name="Badge verification")).to_be_visible(
            timeout=RERUN_MS
        )
        expect(anyone.get_by_text(f"Valid: {MINI}, issued by {cast.institute}")).to_be_visible()
        expect(anyone.get_by_text("Dev sign-in")).to_have_count(0)
        screenshot(anyone, "badges-04-verified")
    finally:
        anyone.context.close()
