"""One loop over institutes for every per-institute job (issue 20): one institute failing never
skips the others, its own work rolls back, the run is recorded as failed with the institute
named, and a rerun of the period retries only the institutes that did not finish."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from app.core import audit, clock
from app.core.audit import AuditLog
from app.core.roles import Role
from app.worker import runner
from app.worker.models import JobInstituteRun, JobRun
from app.worker.registry import Job, all_jobs, for_each_institute
from tests import factories as f

T0 = datetime(2026, 11, 2, 4, 0, 30, tzinfo=UTC)


def _probe(calls: list[int], broken: set[int]) -> Job:
    def work(session, institute):
        calls.append(institute.id)
        audit.record(
            session, actor=None, action="probe.done", institute_id=institute.id, source="worker"
        )
        if institute.id in broken:
            raise RuntimeError(f"disk full for {institute.id}")
        return {"done": 1}

    return Job(
        name="probe_each",
        run=lambda engine=None: for_each_institute(work, engine=engine),
        trigger={"trigger": "cron", "hour": 4},
        period=lambda m: m.strftime("%Y-%m-%d"),
    )


def test_one_failing_institute_skips_nobody_and_a_rerun_retries_only_it(db):
    a, b, c = (f.institute(db) for _ in range(3))
    calls: list[int] = []
    broken = {b.id}
    job = _probe(calls, broken)
    with clock.frozen(T0):
        record = runner.run_job(job, engine=db.engine)
    assert calls == [a.id, b.id, c.id]  # c ran although b failed before it
    assert record.outcome == "failed"
    assert f"institute {b.id}: RuntimeError: disk full for {b.id}" in record.error
    assert record.counts == {"institutes": 2, "done": 2}
    with db.scope(system=True) as s:
        done = sorted(s.exec(select(JobInstituteRun.institute_id)))
        written = sorted(
            s.exec(select(AuditLog.institute_id).where(AuditLog.action == "probe.done"))
        )
    assert done == [a.id, c.id]
    assert written == [a.id, c.id]  # b's own work rolled back with its failure

    # The same period comes round again (the worker retries failed periods every 15 minutes).
    broken.clear()
    calls.clear()
    with clock.frozen(T0.replace(minute=15)):
        [retried] = runner.retry_failed([job], engine=db.engine)
        assert runner.retry_failed([job], engine=db.engine) == []  # ok now: nothing to retry
        assert runner.run_job(job, engine=db.engine) is None  # and the period never runs twice
    assert calls == [b.id]
    assert (retried.outcome, retried.error) == ("ok", None)
    assert retried.counts == {"institutes": 1, "already_done": 2, "done": 1}
    with db.scope(system=True) as s:
        assert len(s.exec(select(JobRun)).all()) == 1  # one record for the period, taken back
        written = sorted(
            s.exec(select(AuditLog.institute_id).where(AuditLog.action == "probe.done"))
        )
    assert written == [a.id, b.id, c.id]


def test_a_whole_job_failure_is_retried_too_and_other_periods_are_left_alone(db):
    f.institute(db)
    calls: list[int] = []
    job = _probe(calls, set())
    with clock.frozen(T0):
        assert runner.run_job(job, engine=db.engine).outcome == "ok"
    with clock.frozen(T0.replace(day=3)):  # another day: the failed list is about today only
        assert runner.retry_failed([job], engine=db.engine) == []
    assert len(calls) == 1


def test_every_per_institute_domain_job_survives_one_broken_institute(db, monkeypatch):
    """The real jobs go through the one loop: with one institute's work broken, each job
    still does the others and names the broken one."""
    from app.coursework import service as coursework

    good, bad = f.institute(db), f.institute(db)
    f.user(db, good, Role.ADMIN)
    real = coursework.mark_missing_homework_internal

    def flaky(session, *, institute_id):
        if institute_id == bad.id:
            raise RuntimeError("broken institute")
        return real(session, institute_id=institute_id)

    monkeypatch.setattr(coursework, "mark_missing_homework_internal", flaky)
    with clock.frozen(T0):
        record = runner.run_job(all_jobs()["homework_missing"], engine=db.engine)
    assert record.outcome == "failed" and f"institute {bad.id}" in record.error
    assert record.counts["institutes"] == 1
    monkeypatch.setattr(coursework, "mark_missing_homework_internal", real)
    with clock.frozen(T0.replace(minute=30)):
        [again] = runner.retry_failed(list(all_jobs().values()), engine=db.engine)
    assert again.job == "homework_missing" and again.outcome == "ok"
    assert again.counts["institutes"] == 1 and again.counts["already_done"] == 1
