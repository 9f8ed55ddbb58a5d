"""Through Streamlit's own websocket protocol against a real server (no browser): the session
cookie carries a sign-in to any web process, and a tap on the attendance sheet reruns only the
sheet's fragment, not the router, navigation and whole page (issue 17)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

from app.attendance.models import AttendanceRecord
from app.core.roles import Role
from app.identity import sessions
from tests.e2e.harness import ROOT

pytestmark = pytest.mark.heavy

_spec = importlib.util.spec_from_file_location("loadtest", ROOT / "scripts" / "loadtest.py")
loadtest = sys.modules.setdefault("loadtest", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(loadtest)


def run_async(coroutine):
    """asyncio.run in a thread of its own: Playwright's sync API may hold this thread's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def signed_in(result) -> bool:
    return bool(loadtest.find(result, "button", "Sign out"))


async def fresh(url: str, token: str | None):
    """A new browser session (as after a websocket reconnects to another process)."""
    client = loadtest.StreamlitSession(url, token)
    await client.connect()
    return client, await client.rerun()


def test_the_session_cookie_signs_in_a_fresh_connection_until_sign_out(db, demo, live_app):
    teacher_id = demo.first(Role.TEACHER)
    with db.scope(system=True) as s:
        token = sessions.start_session(s, user_id=teacher_id, method="password", source="test")

    async def journey():
        first, landing = await fresh(live_app.url, token)
        assert signed_in(landing) and not landing.exceptions
        again, reconnected = await fresh(live_app.url, token)  # another process, same cookie
        assert signed_in(reconnected)
        await again.close()

        sign_out = loadtest.find(landing, "button", "Sign out")[0]
        after = await first.rerun(trigger=sign_out.id)
        assert not signed_in(after) and "You have signed out." in loadtest.texts(after)
        await first.close()

        later, revoked = await fresh(live_app.url, token)  # the cookie is dead everywhere now
        assert not signed_in(revoked) and not revoked.exceptions
        await later.close()
        forged, guessed = await fresh(live_app.url, "x" * 43)
        assert not signed_in(guessed)
        await forged.close()

    run_async(journey())
    with db.scope(system=True) as s:
        assert sessions.resume_session(s, token=token)[0] is None


def test_a_tap_on_the_sheet_reruns_only_the_sheet(db, demo, live_app):
    plan = loadtest.sign_in_users(db.url, 1, seed=3)  # one teacher, with a class today
    assert plan[0][0] == "teacher"

    async def journey():
        client, _landing = await fresh(live_app.url, plan[0][1])
        today = await client.rerun(page="today")
        opener = loadtest.find(today, "button", "Take attendance")[0]
        sheet = await client.rerun(trigger=opener.id, fragment_id=opener.fragment_id)
        mark = loadtest.find(sheet, "button_group")[0]
        session_id, student_id = loadtest._mark_widget(mark)
        assert mark.fragment_id  # the marks live in a fragment: the browser reruns only it

        tap = await client.rerun(values={mark.id: ["Absent"]}, fragment_id=mark.fragment_id)

        assert tap.fragment_only and not tap.exceptions
        sidebar = loadtest.find(tap, "button", "Sign out")  # the router's sidebar did not rerun
        assert not [e for e in sidebar if e.fragment_id == mark.fragment_id]
        submit = [b for b in loadtest.find(tap, "button", "Submit") if b.fragment_id][0]
        assert "1 absent" in submit.label  # the tap counted, without a full rerun
        saved = await client.rerun(trigger=submit.id, fragment_id=submit.fragment_id)
        assert "Attendance saved" in loadtest.texts(saved)
        await client.close()
        return session_id, student_id

    session_id, student_id = run_async(journey())
    with db.scope(system=True) as s:
        record = s.exec(
            select(AttendanceRecord).where(
                AttendanceRecord.session_id == session_id,
                AttendanceRecord.student_id == student_id,
            )
        ).one()
    assert record.status == "absent"
