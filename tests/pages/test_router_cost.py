"""What the router and the pages' auth guard cost per rerun (issue 17): one read-only look-up of
the session and its user, nothing else about who is signed in, navigation built once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event
from streamlit.navigation.page import StreamlitPage

from app.core.roles import Role
from app.identity import sessions
from app.ui import auth
from tests import factories as f
from tests.pages.apptest import app_as

WHO = re.compile(r"\b(auth_sessions|users|institutes)\b", re.IGNORECASE)
PAGE_STARTS = "-- the page starts --"


def signed_in_app(db, role: Role):
    user = f.user(db, f.institute(db), role)
    with db.scope(system=True) as s:
        token = sessions.start_session(s, user_id=user.id, method="password", source="test")
    at = app_as(None)
    at.session_state[auth.TOKEN] = token
    return at


@pytest.fixture
def statements(db, monkeypatch):
    """Every SQL statement the app sends, with a marker where the page itself starts to run."""
    seen: list[str] = []
    run = StreamlitPage.run

    def page_run(self):
        seen.append(PAGE_STARTS)
        return run(self)

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(" ".join(statement.split()))

    monkeypatch.setattr(StreamlitPage, "run", page_run)
    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


@pytest.mark.parametrize("role", [Role.TEACHER, Role.ADMIN])
def test_a_plain_rerun_looks_up_who_is_signed_in_once_read_only(db, statements, role):
    at = signed_in_app(db, role)
    at.run()
    assert not at.exception and at.session_state[auth.CURRENT] is not None
    nav_key = f"cohort_nav_pages_{role.value}"
    pages_before = at.session_state[nav_key]
    statements.clear()

    at.run()

    assert not at.exception
    # Streamlit runs the entry script as a page too: the last marker is the chosen page
    starts = len(statements) - 1 - statements[::-1].index(PAGE_STARTS)
    router, page = statements[:starts], statements[starts:]
    # (on PostgreSQL each transaction also sets the tenant context: not a look-up)
    queries = [s for s in router if s.upper().startswith("SELECT") and "set_config" not in s]
    # who is signed in (session, user, institute in one query), a pending password reset, and
    # the unread-message count for the sidebar: nothing more before the page runs
    assert len(queries) == 3, queries
    assert sum(bool(WHO.search(q)) for q in queries) == 1
    assert not [s for s in router if s.upper().startswith(("UPDATE", "INSERT", "DELETE"))]
    if db.kind == "sqlite":  # read-only: never waits behind writers for the write lock
        assert "BEGIN IMMEDIATE" not in router
    assert not [s for s in page if "auth_sessions" in s]  # the page's guard reuses the look-up
    assert at.session_state[nav_key] is pages_before  # navigation not rebuilt


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # the write lock taken up front
def test_the_overview_reads_without_the_write_lock(db, statements):
    # A plain rerun of the admin's Overview only reads: on SQLite no part of it may take the
    # write lock, which its attendance trend held against every tap on a sheet under load.
    at = signed_in_app(db, Role.ADMIN)
    at.run()
    at.switch_page("pages/admin/overview.py")
    at.run()
    assert not at.exception
    statements.clear()
    at.run()
    assert not at.exception and at.title[0].value == "Overview"
    assert "BEGIN IMMEDIATE" not in statements


def test_today_reads_the_teachers_brief_once_a_minute_not_on_every_rerun(db, monkeypatch):
    """Teachers come back to Today all morning; the brief (yesterday's absences, this month's
    dues, homework due soon) is read again only when the last read is a minute old."""
    from app.brief import service as brief_service
    from app.ui import components

    calls = []
    real = brief_service.my_brief

    def counted(session, *, actor):
        calls.append(actor.user_id)
        return real(session, actor=actor)

    monkeypatch.setattr(brief_service, "my_brief", counted)
    clock = [1000.0]
    monkeypatch.setattr(components.time, "monotonic", lambda: clock[0])
    at = signed_in_app(db, Role.TEACHER)
    at.run()
    assert not at.exception and "Your brief" in [h.value for h in at.subheader]
    clock[0] += 30
    at.run()
    assert len(calls) == 1  # the second visit half a minute later reuses it
    clock[0] += 31
    at.run()
    assert len(calls) == 2 and "Your brief" in [h.value for h in at.subheader]


def test_no_more_pages_run_at_once_than_the_process_allows_and_each_gives_its_slot_back(
    db, monkeypatch
):
    """A third page started while two run waits for one of them (issue 17: a tap is then not
    queued behind twenty pages); a page that ends by switching page or rerunning frees its slot."""
    import threading
    import time

    from app.ui import admission

    monkeypatch.setattr(admission, "_slots", threading.BoundedSemaphore(2))
    inside, most = [], [0]
    lock = threading.Lock()

    def page() -> None:
        with admission.page_run():
            with lock:
                inside.append(1)
                most[0] = max(most[0], len(inside))
            time.sleep(0.05)
            with lock:
                inside.pop()

    threads = [threading.Thread(target=page) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 2

    at = signed_in_app(db, Role.TEACHER)
    at.run()
    at.switch_page("pages/teacher/attendance.py").run()  # its guard sends the teacher on
    assert not at.exception
    assert admission._slots._value == 2  # every slot back: nothing holds one after a run
