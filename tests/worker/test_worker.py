"""The worker: one run per job and period, run records, one leader at a time."""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.core import clock
from app.worker import runner
from app.worker.registry import Job, all_jobs

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 2, 9, 0, 30, tzinfo=UTC)


def test_a_period_runs_once_and_is_recorded(db):
    calls = []
    job = Job(
        name="probe",
        run=lambda engine=None: calls.append(1) or {"done": len(calls)},
        trigger={"trigger": "interval", "minutes": 1},
    )
    with clock.frozen(T0):
        first = runner.run_job(job, engine=db.engine)
        second = runner.run_job(job, engine=db.engine)
        clock.advance(timedelta(minutes=1))
        third = runner.run_job(job, engine=db.engine)
    assert second is None and len(calls) == 2
    assert (first.outcome, first.counts, first.period) == ("ok", {"done": 1}, "2026-11-02T09:00")
    assert third.period == "2026-11-02T09:01"
    manual = runner.run_job(job, engine=db.engine, trigger="manual")
    assert manual.period.startswith("manual:") and len(calls) == 3


def test_a_failing_job_is_recorded_with_its_error(db):
    def boom(engine=None):
        raise RuntimeError("the printer is on fire")

    record = runner.run_job(
        Job(name="boom", run=boom, trigger={"trigger": "interval", "minutes": 5}), engine=db.engine
    )
    assert record.outcome == "failed" and "the printer is on fire" in record.error
    assert [r.job for r in runner.recent_runs(engine=db.engine)] == ["boom"]


def test_registry_lists_the_domain_jobs():
    jobs = all_jobs()
    assert {"outbox_deliver", "cleanup_expired"} <= set(jobs)
    assert jobs["outbox_deliver"].trigger == {"trigger": "interval", "minutes": 1}


def test_lease_has_one_holder_and_expires(db):
    a = runner.Leadership(engine=db.engine, holder="a")
    b = runner.Leadership(engine=db.engine, holder="b")
    with clock.frozen(T0):
        assert a.acquire()
        assert not b.acquire()
        clock.advance(timedelta(seconds=60))
        assert a.still_leader() and not b.acquire()
        clock.advance(runner.LEASE_TIMEOUT + timedelta(seconds=1))  # a stopped renewing
        if db.kind == "sqlite":
            assert b.acquire()
            assert not a.still_leader()
    a.release()
    b.release()


def _worker(db_url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": db_url, "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "app.worker"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_for(path: Path, text: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.heavy
@pytest.mark.postgres
def test_two_workers_on_postgres_only_one_runs_jobs_until_it_stops(pg, tmp_path):
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    a = _worker(pg.url, log_a)
    b = None
    try:
        assert _wait_for(log_a, "now runs the jobs"), log_a.read_text()
        b = _worker(pg.url, log_b)
        assert _wait_for(log_b, "waiting to take over"), log_b.read_text()
        time.sleep(1)
        assert "now runs the jobs" not in log_b.read_text()
        a.terminate()
        a.wait(timeout=20)
        assert _wait_for(log_b, "now runs the jobs", timeout=30), log_b.read_text()
    finally:
        for proc in (a, b):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


@pytest.mark.heavy
def test_cli_lists_jobs_and_runs_one(db):
    env = {**os.environ, "DATABASE_URL": db.url}
    listed = subprocess.run(
        [sys.executable, "-m", "app.worker", "--list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        listed.returncode == 0
        and "outbox_deliver" in listed.stdout
        and "interval(minutes=1)" in listed.stdout
    )
    ran = subprocess.run(
        [sys.executable, "-m", "app.worker", "--run-once", "cleanup_expired"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0 and ran.stdout.startswith("cleanup_expired: ok")
    unknown = subprocess.run(
        [sys.executable, "-m", "app.worker", "--run-once", "nope"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unknown.returncode == 2 and "No job called 'nope'" in unknown.stderr
