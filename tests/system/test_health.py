"""The health check tells the truth: each check fails for its own reason, and the exit code says so."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from app.core import clock
from app.notify import service
from app.system.health import run_checks
from app.worker import runner
from tests import factories as f

ROOT = Path(__file__).resolve().parents[2]


def by_name(checks):
    return {c.name: c for c in checks}


def beat(db):
    leader = runner.Leadership(engine=db.engine, holder="test")
    leader._write_lease(force=True)


def test_all_green_with_a_live_worker(db):
    beat(db)
    checks = by_name(run_checks(engine=db.engine))
    assert all(c.ok for c in checks.values()), checks
    assert set(checks) == {
        "settings",
        "database",
        "migrations",
        "worker",
        "outbox",
        "rules",
        "pending actions",
        "action tokens",
    }
    assert checks["pending actions"].detail == "no open actions"
    assert "use the defaults" in checks["rules"].detail


def test_stopped_worker_fails_the_worker_check(db):
    with clock.frozen(clock.now() - timedelta(minutes=10)):
        beat(db)
    check = by_name(run_checks(engine=db.engine))["worker"]
    assert not check.ok and "is the worker running?" in check.detail


def test_stuck_outbox_fails(db):
    beat(db)
    inst = f.institute(db)
    with clock.frozen(clock.now() - timedelta(minutes=20)), db.scope(institute_id=inst.id) as s:
        service.enqueue_internal(
            s, institute_id=inst.id, channel="telegram", recipient="1", text="x", dedupe_key="k"
        )
    check = by_name(run_checks(engine=db.engine))["outbox"]
    assert not check.ok and "waited 20 min" in check.detail


def test_migration_behind_fails(tmp_path):
    from alembic import command
    from app.core.db import engine_for
    from app.core.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'behind.db'}"
    command.upgrade(alembic_config(url), "head")
    command.downgrade(alembic_config(url), "-1")
    check = by_name(run_checks(engine=engine_for(url)))["migrations"]
    assert not check.ok and "alembic upgrade head" in check.detail


def test_telegram_check_when_configured(db):
    beat(db)
    checks = by_name(run_checks(engine=db.engine, telegram_check=lambda: "cohort_test_bot"))
    assert checks["telegram"].ok and "@cohort_test_bot" in checks["telegram"].detail


def test_cli_exit_codes(db):
    beat(db)
    env = {**os.environ, "DATABASE_URL": db.url, "APP_ENV": "dev"}
    healthy = subprocess.run(
        [sys.executable, "-m", "app.healthcheck"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert healthy.returncode == 0, healthy.stdout
    assert "✓ PASS database" in healthy.stdout
    env |= {"APP_ENV": "prod", "SECRET_KEY": "change-me"}
    broken = subprocess.run(
        [sys.executable, "-m", "app.healthcheck"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert broken.returncode == 1
    assert "✗ FAIL settings" in broken.stdout and "SECRET_KEY" in broken.stdout


def test_production_without_a_telegram_token_is_unhealthy(db, monkeypatch):
    """The seed's health check: a missing TELEGRAM_BOT_TOKEN in production is a ✗ with the
    reason (guardians would get nothing), and the CLI exits non-zero."""
    from app.core.config import reset_settings_cache

    beat(db)
    monkeypatch.setenv("APP_ENV", "prod")
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("APP_BASE_URL", "https://cohort.example")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    reset_settings_cache()
    try:
        check = by_name(run_checks(engine=db.engine))["telegram"]
    finally:
        reset_settings_cache()
    assert not check.ok and "TELEGRAM_BOT_TOKEN is not set" in check.detail


def test_open_actions_are_counted(db):
    from app.inbox import service as inbox

    beat(db)
    inst = f.institute(db)
    with db.scope(institute_id=inst.id) as s:
        inbox.open_action_internal(
            s, institute_id=inst.id, type="fee_overdue", reason="Owes", dedupe_key="k1"
        )
    check = by_name(run_checks(engine=db.engine))["pending actions"]
    assert check.ok and check.detail.startswith("1 open; the oldest opened 0 days ago")
