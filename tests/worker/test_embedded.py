"""Automation from the first command (issue 21): the web process runs the scheduler itself in
development (EMBEDDED_WORKER), under the same leader lock as the worker, and the System page
says which one runs the jobs; the demo seed leaves risk levels to look at."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import func, select

from app.core.config import Settings
from app.demo.seed import seed_demo
from app.risk.models import StudentRiskProfile
from app.system import health
from app.worker import runner
from app.worker.models import WorkerLease
from tests.e2e.harness import StreamlitServer
from tests.e2e.test_protocol_sessions import fresh, run_async

ROOT = Path(__file__).resolve().parents[2]


def test_embedded_worker_is_on_in_development_and_off_in_production_by_default(monkeypatch):
    monkeypatch.delenv("EMBEDDED_WORKER")
    assert Settings(_env_file=None, APP_ENV="dev").embedded_worker
    assert not Settings(_env_file=None, APP_ENV="dev", EMBEDDED_WORKER=False).embedded_worker
    prod = {"APP_ENV": "prod", "SECRET_KEY": "x" * 40}
    assert not Settings(_env_file=None, **prod).embedded_worker
    assert Settings(_env_file=None, **prod, EMBEDDED_WORKER=True).embedded_worker


def test_the_demo_seed_ends_with_risk_levels(db):
    seed_demo(size="small", engine=db.engine)
    with db.scope(system=True) as s:
        levels = dict(
            s.exec(
                select(StudentRiskProfile.level, func.count()).group_by(StudentRiskProfile.level)
            ).all()
        )
    assert sum(levels.values()) > 0 and "LOW" in levels


def _wait(predicate, seconds: float = 40) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


@pytest.mark.browser
def test_the_web_process_runs_the_jobs_and_a_worker_waits_for_it(db, tmp_path):
    """`streamlit run` alone leads and runs jobs; a separate worker started beside it waits
    (one leader), and the health check names the web process."""

    def lease():
        with db.scope(system=True) as s:
            row = s.get(WorkerLease, runner.LEASE_NAME)
            return None if row is None else row.holder

    async def open_a_page(url: str) -> None:
        client, _ = await fresh(url, None)
        await client.close()

    with StreamlitServer(db.url, extra_env={"EMBEDDED_WORKER": "1"}) as server:
        run_async(open_a_page(server.url))  # the first page run starts the app's scheduler
        ok = _wait(lambda: (lease() or "").startswith("web "))
        assert ok, (lease(), server.log()[-3000:])
        [check] = [c for c in health.run_checks(engine=db.engine) if c.name == "worker"]
        assert check.ok and "the scheduler inside the web process" in check.detail
        log = tmp_path / "worker.log"
        with log.open("w") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "app.worker"],
                cwd=ROOT,
                env={**os.environ, "DATABASE_URL": db.url, "APP_ENV": "dev"},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            assert _wait(lambda: "Another worker is running jobs" in log.read_text(), 30)
            assert lease().startswith("web ")
        finally:
            worker.terminate()
            worker.wait(timeout=20)
