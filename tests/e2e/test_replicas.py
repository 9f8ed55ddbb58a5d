"""Two web processes behind HAProxy (scripts/replicas.py): a signed-in user whose process dies
is carried by the proxy to the other one and is still signed in there (issue 17)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.core.roles import Role
from app.identity import sessions
from tests.conftest import skip_or_fail
from tests.e2e.harness import ROOT


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
    import shutil

    if not shutil.which("haproxy") and not Path("/usr/sbin/haproxy").exists():
        skip_or_fail("HAProxy is not installed (apt-get install haproxy)")
    db.engine.dispose()
    with replicas.Replicas(db.url, 2, overrides=loadtest.LOADTEST_ENV) as running:
        yield running


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
