"""Text people type is shown as typed, never as markup (issue 18): names, comments, reasons,
evidence and query parameters go through app/ui/safe.esc before markdown renders them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from sqlmodel import select

from app.ui.safe import esc

ROOT = Path(__file__).resolve().parents[2]
RENDERERS = {
    "markdown",
    "write",
    "caption",
    "info",
    "success",
    "warning",
    "error",
    "toast",
    "subheader",
    "header",
    "title",
    "expander",
    "tab",
    "tabs",
    "metric",
    "button",
    "link_button",
    "checkbox",
    "radio",
    "selectbox",
}
# Calls whose result is safe to interpolate: the escaper, and formatters of numbers we control.
SAFE_CALLS = {"esc", "markup", "format_money", "plural", "len", "int", "round", "abs"}
HOSTILE = "x ![t](http://attacker/px.png) [Verify here](https://evil.example) <img src=x onerror=alert(1)> **b** www.evil.example"


def _call_name(node: ast.Call) -> str | None:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _unescaped(node: ast.AST) -> list[ast.AST]:
    """Interpolated values under `node` that reach markdown without esc()."""
    if isinstance(node, ast.Call) and _call_name(node) in SAFE_CALLS:
        return []
    found = []
    if isinstance(node, ast.FormattedValue):
        value = node.value
        safe = (
            node.format_spec is not None  # a formatted date or number
            or isinstance(value, ast.Constant)
            or (isinstance(value, ast.Call) and _call_name(value) in SAFE_CALLS)
        )
        if not safe:
            found.append(value)
    for child in ast.iter_child_nodes(node):
        found += _unescaped(child)
    return found


def offenders() -> list[str]:
    files = [*ROOT.joinpath("pages").rglob("*.py"), *ROOT.joinpath("app", "ui").rglob("*.py")]
    problems = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) in RENDERERS and node.args:
                for value in _unescaped(node.args[0]):
                    where = f"{path.relative_to(ROOT)}:{value.lineno}"
                    problems.append(f"{where}: {ast.unparse(value)}")
    return problems


def test_no_page_interpolates_a_value_into_markdown_without_escaping_it():
    assert offenders() == []


def test_the_guard_catches_a_regression(tmp_path, monkeypatch):
    page = ROOT / "pages" / "_guard_probe.py"
    page.write_text('import streamlit as st\nst.markdown(f"**{student.name}**")\n')
    try:
        assert offenders() == ["pages/_guard_probe.py:2: student.name"]
    finally:
        page.unlink()


def _rendered_markup(source: str) -> list[str]:
    """What markdown would turn into markup: unescaped link/image/HTML/autolink openers."""
    unescaped = re.sub(r"\\.", "", source)  # drop every backslash-escaped character
    return re.findall(r"!\[|\]\(|<[a-zA-Z/]|https?://|www\.", unescaped)


def test_esc_leaves_no_markup_and_keeps_the_text():
    assert _rendered_markup(esc(HOSTILE)) == []
    assert re.sub(r"\\(.)", r"\1", esc(HOSTILE)) == HOSTILE
    assert _rendered_markup(HOSTILE)  # the probe does see markup in the raw value


@pytest.fixture
def hostile_world(db):
    """An institute whose people and texts are all hostile."""
    from app.core.roles import Role
    from tests import factories as f

    inst = f.institute(db)
    admin = f.user(db, inst, Role.ADMIN, name=f"Admin {HOSTILE}", email="admin@hostile.example")
    teacher = f.user(db, inst, Role.TEACHER, name=f"Teacher {HOSTILE}", email="t@hostile.example")
    return inst, admin, teacher


def _all_markdown(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [s.value for s in at.success]
    parts += [w.value for w in at.warning] + [i.value for i in at.info]
    parts += [t.value for t in at.title] + [h.value for h in at.subheader]
    parts += [e.label for e in at.expander] + [b.label for b in at.button]
    return "\n".join(str(p) for p in parts)


def test_signed_in_chrome_shows_a_hostile_name_as_text(db, hostile_world):
    from tests.pages.apptest import app_as

    _, admin, _ = hostile_world
    at = app_as(admin.email).run()
    assert not at.exception
    shown = _all_markdown(at) + "\n".join(str(m.value) for m in at.sidebar.markdown)
    assert "Admin" in shown and _rendered_markup(shown) == []


@pytest.mark.parametrize("param", ["credential", "access_request", "set_password", "attendance"])
def test_public_pages_show_a_hostile_query_parameter_as_text(db, param):
    from tests.pages.apptest import app_as

    at = app_as(None)
    at.query_params[param] = HOSTILE
    at.run()
    assert not at.exception and _rendered_markup(_all_markdown(at)) == []


def test_admin_access_and_password_requests_show_hostile_text_as_text(db, hostile_world):
    from app.access import service as access
    from tests import factories as f
    from tests.pages.apptest import app_as, open_page

    inst, admin, teacher = hostile_world
    with db.scope(system=True) as s:
        access.submit_access_request(
            s,
            institute_id=inst.id,
            name=f"Requester {HOSTILE}",
            email="req@hostile.example",
            phone=None,
            role="student",
            message=HOSTILE,
            honeypot="",
            client="203.0.113.9",
        )
    teacher_actor = f.actor_for(teacher)
    with db.scope(teacher_actor) as s:
        access.request_password_change(s, actor=teacher_actor, note=HOSTILE)
    at = open_page(app_as(admin.email).run(), "pages/admin/access_requests.py")
    assert not at.exception
    shown = _all_markdown(at)
    assert "Requester" in shown and "Teacher" in shown
    assert _rendered_markup(shown) == []


SHORT_HOSTILE = "![t](http://attacker/p.png) [Verify](https://evil.example) <b>"


def _hostile_names(db, w) -> None:
    """Every person and badge of world `w` renamed to hostile text (short enough for a name)."""
    from app.academics.models import Student
    from app.badges.models import Badge
    from app.identity.models import User

    with db.scope(system=True) as s:
        for row in s.exec(select(Student).where(Student.institute_id == w.institute.id)):
            row.name = f"Student {row.id} {SHORT_HOSTILE}"
            s.add(row)
        for row in s.exec(select(User).where(User.institute_id == w.institute.id)):
            row.name = f"{row.role.title()} {row.id} {SHORT_HOSTILE}"
            s.add(row)
        for row in s.exec(select(Badge).where(Badge.institute_id == w.institute.id)):
            row.name = f"Badge {row.id} {SHORT_HOSTILE}"
            s.add(row)


def test_teacher_badge_requests_and_points_show_hostile_text_as_text(db):
    from app.badges import service as badges
    from app.badges.models import BadgeAward
    from app.feedback import points
    from tests.badges.world import build, catalog
    from tests.pages.apptest import app_as, open_page

    w = catalog(db, build(db, students=2))
    _hostile_names(db, w)
    student, teacher = w.student_actor(0), w.teacher_actor
    with db.scope(student) as s:
        badges.request_badge(
            s,
            actor=student,
            badge_id=w.b["C"],
            evidence_text=HOSTILE,
            evidence_url="https://evil.example/x?y=](http://attacker/)",
        )
    with db.scope(teacher) as s:
        points.grant_points(
            s,
            actor=teacher,
            student_ids=[w.students[0].id, w.students[1].id],
            type="reward",
            category="other",
            reason=f"Reason {HOSTILE}",
            points=5,
        )
    at = app_as(w.teacher.email).run()
    for page in ("pages/teacher/badge_requests.py", "pages/teacher/points.py"):
        at = open_page(at, page)
        assert not at.exception, (page, at.exception)
        shown = _all_markdown(at)
        tables = "".join(d.value.to_csv() for d in at.dataframe)
        assert "Student" in shown + tables, page  # names in tables are plain text cells
        assert _rendered_markup(shown) == [], (page, _rendered_markup(shown))
    # Approving shows a message naming the student and the badge: as text too.
    at = open_page(at, "pages/teacher/badge_requests.py")
    next(b for b in at.button if b.label == "Approve").click().run()
    assert not at.exception
    shown = _all_markdown(at)
    assert "Approved: Student" in re.sub(r"\\(.)", r"\1", shown)
    assert _rendered_markup(shown) == []
    admin = w.admin_actor
    with db.scope(admin) as s:
        award = badges.award(s, actor=admin, student_id=w.students[1].id, badge_id=w.b["M1"])[0]
        badges.revoke(s, actor=admin, award_id=award.id, reason=f"Reason {HOSTILE}")
    with db.scope(system=True) as s:
        credential_id = s.get(BadgeAward, award.id).credential_id
    at = app_as(None)
    at.query_params["credential"] = credential_id
    at.run()
    assert not at.exception
    shown = _all_markdown(at)
    assert "Revoked" in shown and "Badge" in shown
    assert _rendered_markup(shown.replace(credential_id, "")) == [], _rendered_markup(shown)


def test_admin_feedback_shows_hostile_text_as_text(db):
    from app.feedback import service as feedback
    from tests.feedback.world import build, frozen_now
    from tests.pages.apptest import app_as, open_page

    with frozen_now():
        w = build(db)
        _hostile_names(db, w)
        for n, anonymous in ((0, False), (1, True)):
            student = w.student_actor(n)
            with db.scope(student) as s:
                feedback.submit_feedback(
                    s,
                    actor=student,
                    feedback_type="session",
                    rating=1,
                    comments=f"Comment {HOSTILE}",
                    anonymous=anonymous,
                    session_id=w.session_id,
                )
        at = open_page(app_as(w.admin.email).run(), "pages/common/feedback.py")
        assert not at.exception
        shown = _all_markdown(at)
        assert "Comment" in shown or any("Comment" in str(d.value) for d in at.dataframe)
        assert _rendered_markup(shown) == [], _rendered_markup(shown)
