"""The student portal as a student uses it: the dashboard is the landing page; every page shows
only the signed-in student's own rows (a classmate with distinctive data never appears); no
page offers a write except the badge request, feedback and the person's own account/messages;
Today shows the teacher their brief."""

from datetime import date

import pytest

from app.core import clock
from app.core.roles import Role
from app.ui.nav import NAVIGATION
from tests.pages.apptest import app_as, by_label, errors, open_page, shown
from tests.portal.world import FORBIDDEN, NOW, build

PORTAL = {
    "pages/student/dashboard.py": ["Asha Mine", "Decimals sheet", "₹1,234.00", "100%"],
    "pages/student/schedule.py": ["Math A", "Mathematics", "Tara Teacher", "17:00–18:00"],
    "pages/student/attendance.py": ["100%", "present", "late"],
    "pages/student/homework.py": ["Decimals sheet", "Fractions drill", "8/10", "Neat work"],
    "pages/student/tests.py": ["Unit test 1", "18/20", "90%", "Well done"],
    "pages/student/progress.py": ["Mathematics", "Fractions", "completed", "1/3"],
    "pages/student/my_fees.py": ["₹1,234.00", "2026-11"],
    "pages/student/announcements.py": ["Holiday on Friday", "Bring calculators"],
    "pages/common/report_card.py": ["Asha Mine", "Unit test 1"],
    "pages/common/messages.py": ["Bring calculators"],
}
# Pages where a student may write: their badge requests, session feedback, penalty appeals,
# their own account and marking their own messages read.
MAY_WRITE = {
    "pages/student/badges.py",
    "pages/student/feedback.py",
    "pages/student/points.py",
    "pages/student/homework.py",  # handing homework in (issue 22)
    "pages/common/my_account.py",
    "pages/common/messages.py",
}
WRITE_WIDGETS = (
    "button",
    "form",
    "text_input",
    "text_area",
    "number_input",
    "data_editor",
    "checkbox",
    "toggle",
    "file_uploader",
    "chat_input",
)


@pytest.fixture
def world(db):
    built = build(db)
    with clock.frozen(NOW):
        yield built


def everything(at) -> str:
    """All text a person can see on the page: text elements, metrics, tables, labels."""
    parts: list[str] = []

    def walk(node) -> None:
        for child in getattr(node, "children", {}).values():
            walk(child)
        kind = getattr(node, "type", "")
        proto = getattr(node, "proto", None)
        if proto is not None and getattr(proto, "unsafe_allow_javascript", False):
            return  # the session-cookie script: code the browser runs, never text shown
        if kind == "arrow_data_frame":
            parts.append(node.value.to_csv())
            return
        for attr in ("value", "label", "body", "help"):
            try:
                value = getattr(node, attr, None)
            except Exception:  # noqa: BLE001 - some elements compute values lazily
                value = None
            if isinstance(value, str):
                parts.append(shown(value))
        if proto is not None and kind not in ("arrow_data_frame",):
            parts.append(str(proto))

    walk(at._tree)
    return "\n".join(parts)


def test_dashboard_is_the_landing_page_and_every_page_shows_only_my_rows(db, world):
    at = app_as(world["asha_user"].email).run()
    assert NAVIGATION[Role.STUDENT][0].path == "pages/student/dashboard.py"
    assert at.title[0].value == "My dashboard"
    for path, expected in PORTAL.items():
        if path != "pages/student/dashboard.py":
            open_page(at, path)
        assert not at.exception, (path, at.exception)
        assert not errors(at), (path, errors(at))
        seen = everything(at)
        for text in expected:
            assert text in seen, (path, text)
        for text in FORBIDDEN:
            assert text not in seen, (path, text)
        assert "risk" not in seen.lower() or path == "pages/common/messages.py", path
    # Past classes carry her own marks.
    open_page(at, "pages/student/schedule.py")
    by_label(at.date_input, "From").set_value(date(2026, 11, 2)).run()
    seen = everything(at)
    assert ":orange[late]" in seen and ":green[present]" in seen and "absent" not in seen
    # The classmate sees their own figures, not Asha's.
    zed = app_as(world["zed_user"].email).run()
    seen = everything(zed)
    assert "Zed Otherstudent" in seen and "₹9,876.54" in seen and "Asha Mine" not in seen
    open_page(zed, "pages/student/tests.py")
    assert "7/20" in everything(zed) and "18/20" not in everything(zed)


def test_no_portal_page_offers_a_write(db, world):
    at = app_as(world["asha_user"].email).run()
    writable = set()
    for spec in NAVIGATION[Role.STUDENT]:
        open_page(at, spec.path)
        assert not at.exception, (spec.path, at.exception)
        if any(len(getattr(at.main, widget)) for widget in WRITE_WIDGETS):
            writable.add(spec.path)
    assert writable <= MAY_WRITE, writable - MAY_WRITE
    assert "pages/common/my_account.py" in writable  # the check does see forms
    open_page(at, "pages/student/schedule.py")
    [ics] = at.main.download_button
    assert ics.label == "Add to my calendar (.ics)"


def test_a_student_without_a_record_is_told_so_on_every_portal_page(db, world):
    from tests import factories as f

    loner = f.user(db, world["inst"], Role.STUDENT, email="loner@portal.example")
    at = app_as(loner.email).run()
    for path in PORTAL:
        if path.startswith("pages/student/"):
            open_page(at, path)
            assert not at.exception and not errors(at), path
            assert any("not linked to a student record" in shown(i.value) for i in at.info), path


def test_today_shows_the_teacher_their_brief_and_not_other_batches(db, world):
    tara = app_as(world["tara"].email).run()
    assert tara.title[0].value == "Today"
    assert "Your brief" in [h.value for h in tara.subheader]
    seen = everything(tara)
    assert "Zed Otherstudent (ZZ-999) · Math A" in seen  # absent yesterday
    assert "Decimals sheet" in seen and "₹11,110.54" in seen
    assert "Yara" not in seen and "PHYSICS-ONLY" not in seen
    omar = app_as(world["omar"].email).run()
    seen = everything(omar)
    assert "Zed" not in seen and "Asha" not in seen
    assert "PHYSICS-ONLY lab" in seen and "₹4,321.00" in seen
    admin = app_as(world["admin"].email).run()
    open_page(admin, "pages/teacher/today.py")
    assert not errors(admin) and "Your brief" not in [h.value for h in admin.subheader]
