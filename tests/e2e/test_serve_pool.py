"""`WEB_PROCESSES=2 python -m app.serve`, the production start command with several web
processes: it prepares (migrates and seeds) the database once, puts HAProxy on $PORT in front
of the processes with a cookie per process, starts again a process that dies, and SIGTERM
stops all of it (issue 17)."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.serve import free_port, healthy
from tests.e2e.harness import ROOT, need_haproxy, wait_until

STARTED = re.compile(r"web process (\d) on port (\d+) \(pid (\d+)\)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie left for its parent to reap is gone as far as serving goes.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.heavy
def test_two_web_processes_behind_haproxy_restart_one_that_dies_and_stop_together(tmp_path):
    need_haproxy()
    port = free_port()
    database = tmp_path / "cohort.db"
    log_path = tmp_path / "serve.log"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "PORT": str(port),
        "WEB_PROCESSES": "2",
        "APP_ENV": "dev",
        "AUTO_MIGRATE": "true",
        "DEMO_SEED_ON_EMPTY": "true",
        "EMBEDDED_WORKER": "false",
    }
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "app.serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    log_text = lambda: log_path.read_text(errors="replace")  # noqa: E731
    try:
        wait_until(
            "the proxy's health check", lambda: healthy(url) or server.poll() is not None, 240
        )
        assert server.poll() is None, log_text()
        first = {int(n): (int(p), int(pid)) for n, p, pid in STARTED.findall(log_text())}
        assert sorted(first) == [1, 2], log_text()

        # Seeded once, before the processes started: the demo, with nothing in it twice.
        engine = create_engine(f"sqlite:///{database}")
        with engine.connect() as connection:
            count = lambda sql: connection.execute(text(sql)).scalar()  # noqa: E731
            assert count("select count(*) from users") > 5
            assert count("select count(*) from institutes") == count(
                "select count(distinct name) from institutes"
            )
        engine.dispose()

        # A browser gets a cookie naming its process, and keeps it.
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(url + "/").read()
        [cookie] = [c for c in jar if c.name == "cohort_web"]
        assert cookie.value in {"web1", "web2"}

        # Web process 1 crashes: it is started again on its port, and the proxy stays up.
        old_port, old_pid = first[1]
        os.killpg(old_pid, signal.SIGKILL)

        def restarted() -> bool:
            again = [(int(p), int(pid)) for n, p, pid in STARTED.findall(log_text()) if n == "1"]
            return len(again) == 2 and healthy(f"http://127.0.0.1:{old_port}")

        wait_until("web process 1 to start again", restarted)
        assert "web process 1 stopped" in log_text()
        new_pid = [int(pid) for n, _p, pid in STARTED.findall(log_text()) if n == "1"][-1]
        assert new_pid != old_pid and healthy(url)
    finally:
        if server.poll() is None:
            os.kill(server.pid, signal.SIGTERM)
        code = server.wait(60)
    # SIGTERM stops the proxy and every web process, and the pool exits cleanly.
    assert code == 0, log_text()
    pids = [int(pid) for _n, _p, pid in STARTED.findall(log_text())]
    assert not [pid for pid in pids if _alive(pid)]
    assert not healthy(url)
