"""Two web processes behind HAProxy (scripts/replicas.py): a signed-in user whose process dies
is carried by the proxy to the other one and is still signed in there; beside two workers,
every job runs once per period (issue 17)."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from app.core.roles import Role
from app.identity import sessions
from app.notify import service as notify
from app.worker.models import JobRun
from tests import factories as f
from tests.e2e.conftest import sign_in_with_password
from tests.e2e.harness import ROOT, FakeTelegramServer, WorkerProcess, need_haproxy


def _load(name: str):
    sys.path.insert(0, str(ROOT / "scripts"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = sys.modules.setdefault(name, importlib.util.module_from_spec(spec))
    spec.loader.exec_module(module)
    return module


loadtest = _load("loadtest")
replicas = _load("replicas")


def run_async(coroutine):
    """asyncio.run in a thread of its own: Playwright's sync API may hold this thread's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture
def two_processes(db, demo):
    need_haproxy()
    db.engine.dispose()
    with replicas.Replicas(db.url, 2, overrides=loadtest.LOADTEST_ENV) as running:
        yield running


@pytest.mark.heavy
def test_a_user_stays_signed_in_when_their_process_dies(db, demo, two_processes):
    with db.scope(system=True) as s:
        token = sessions.start_session(
            s, user_id=demo.first(Role.TEACHER), method="telegram_code", source="test"
        )
    on_web1 = f"{replicas.BACKEND_COOKIE}=web1"

    async def journey():
        first = loadtest.StreamlitSession(two_processes.url, token, extra_cookies=on_web1)
        await first.connect()
        landing = await first.rerun()
        assert loadtest.find(landing, "button", "Sign out")

        two_processes.kill(0)  # web1 dies under the user
        with pytest.raises(Exception):  # noqa: B017 - the websocket is gone, whatever the error
            await first.rerun()

        again = loadtest.StreamlitSession(two_processes.url, token, extra_cookies=on_web1)
        await again.connect()  # the browser reconnects; the proxy sends it to web2
        resumed = await again.rerun()  # lands on Today, signed in by the session cookie
        assert loadtest.find(resumed, "button", "Sign out") and not resumed.exceptions
        assert "Today" in loadtest.texts(resumed)
        await again.close()

    run_async(journey())


PASSWORD = "correct horse battery staple"
RERUN_MS = 15_000


def midday_zone() -> str:
    """A time zone where it is about noon now (Etc/GMT-5 is UTC+5)."""
    offset = (12 - datetime.now(UTC).hour + 12) % 24 - 12
    return "Etc/GMT" + ("" if offset == 0 else f"{-offset:+d}")


def _wait(condition, what: str, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.browser
@pytest.mark.heavy(seconds=35)
@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_two_web_processes_and_two_workers_a_browser_survives_its_process_dying_and_jobs_run_once(
    db, page: Page, tmp_path
):
    """Production's shape on one PostgreSQL: two web processes behind the proxy, two workers.
    A teacher signed in with a password keeps working when the process serving their browser
    is killed; every queued message reaches Telegram exactly once, also when the leading
    worker stops and the other takes over."""
    need_haproxy()
    institute = f.institute(db, timezone=midday_zone())  # outside the default quiet hours
    teacher = f.user(db, institute, Role.TEACHER, password=PASSWORD)

    def queue(numbers: range) -> None:
        with db.scope(system=True) as s:
            for n in numbers:
                notify.enqueue_internal(
                    s,
                    institute_id=institute.id,
                    channel="telegram",
                    recipient=str(7000 + n),
                    text=f"Message {n}",
                    dedupe_key=f"replica-test:{n}",
                )

    queue(range(5))
    db.engine.dispose()
    with FakeTelegramServer() as telegram:
        env = {
            "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN",
            "TELEGRAM_API_BASE_URL": telegram.url,
            "WORKER_OUTBOX_INTERVAL_SECONDS": "1",
        }
        with (
            replicas.Replicas(db.url, 2, overrides=loadtest.LOADTEST_ENV) as web,
            WorkerProcess(db.url, tmp_path / "a.log", env) as first,
            WorkerProcess(db.url, tmp_path / "b.log", env, leads=False) as second,
        ):
            # The teacher signs in with a password through the proxy.
            sign_in_with_password(page, web.url, teacher.email, PASSWORD, RERUN_MS)

            # The process serving this browser dies; the app reconnects through the proxy to
            # the other one, still signed in, and the teacher carries on.
            served_by = {c["name"]: c["value"] for c in page.context.cookies()}
            backend = served_by[replicas.BACKEND_COOKIE]
            web.kill(int(backend.removeprefix("web")) - 1)
            nav = page.get_by_test_id("stSidebarNav")
            expect(nav.get_by_role("link", name="Homework")).to_be_visible(timeout=30_000)
            nav.get_by_role("link", name="Homework").click()
            expect(page.get_by_role("heading", name="Homework")).to_be_visible(timeout=30_000)
            expect(page).to_have_url(re.compile(r"/homework$"))
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
            expect(page.get_by_role("textbox", name="Password", exact=True)).to_have_count(0)
            now_on = {c["name"]: c["value"] for c in page.context.cookies()}
            assert now_on[replicas.BACKEND_COOKIE] != backend

            # One worker leads and delivers; the other waits and sends nothing.
            _wait(lambda: len(telegram.messages) >= 5, "the first five messages")
            assert "now runs the jobs" not in second.log()
            first.__exit__(None, None, None)  # the leader stops; the other takes over
            _wait(lambda: "now runs the jobs" in second.log(), "the second worker to lead")
            queue(range(5, 10))
            _wait(lambda: len(telegram.messages) >= 10, "the next five messages")
            time.sleep(2)  # two more outbox periods: nothing is sent again

    texts = sorted((m["chat_id"], m["text"]) for m in telegram.messages)
    assert texts == sorted((str(7000 + n), f"Message {n}") for n in range(10))
    with db.scope(system=True) as s:
        runs = s.exec(select(JobRun.job, JobRun.period, JobRun.outcome)).all()
    outbox_periods = [period for job, period, _ in runs if job == "outbox_deliver"]
    assert len(outbox_periods) >= 3 and len(set(outbox_periods)) == len(outbox_periods)
    assert all(outcome == "ok" for _, _, outcome in runs), runs
