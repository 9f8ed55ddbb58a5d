"""WORKER_OUTBOX_INTERVAL_SECONDS: the outbox job's beat (every minute unless set)."""

from datetime import UTC, datetime, timedelta

from app.core import clock
from app.core.config import reset_settings_cache
from app.notify.jobs import outbox_job, seconds_period
from app.worker import runner

T0 = datetime(2026, 11, 2, 9, 0, 31, tzinfo=UTC)


def test_unset_the_outbox_drains_every_minute(monkeypatch):
    monkeypatch.delenv("WORKER_OUTBOX_INTERVAL_SECONDS", raising=False)
    reset_settings_cache()
    job = outbox_job()
    assert job.trigger == {"trigger": "interval", "minutes": 1}
    assert job.period(T0) == "2026-11-02T09:00"


def test_a_short_interval_gives_each_slice_its_own_period(monkeypatch):
    monkeypatch.setenv("WORKER_OUTBOX_INTERVAL_SECONDS", "2")
    reset_settings_cache()
    try:
        job = outbox_job()
    finally:
        monkeypatch.delenv("WORKER_OUTBOX_INTERVAL_SECONDS")
        reset_settings_cache()
    assert job.trigger == {"trigger": "interval", "seconds": 2}
    assert job.describe_trigger() == "interval(seconds=2)"
    assert job.period(T0) == "2026-11-02T09:00:30"
    assert job.period(T0 + timedelta(seconds=0.9)) == "2026-11-02T09:00:30"
    assert job.period(T0 + timedelta(seconds=1)) == "2026-11-02T09:00:32"
    assert seconds_period(15)(T0.replace(tzinfo=None)) == "2026-11-02T09:00:30"


def test_a_short_interval_runs_again_within_the_minute(db):
    calls = []
    job = outbox_job(2)
    job = type(job)(
        name=job.name,
        run=lambda engine=None: calls.append(1) or {},
        trigger=job.trigger,
        period=job.period,
    )
    with clock.frozen(T0):
        assert runner.run_job(job, engine=db.engine) is not None
        assert runner.run_job(job, engine=db.engine) is None  # same slice: already ran
        clock.advance(timedelta(seconds=2))
        assert runner.run_job(job, engine=db.engine) is not None
    assert len(calls) == 2
