"""The scheduler worker: `python -m app.worker [--list | --run-once JOB]`.

One process runs every domain's jobs with one APScheduler BlockingScheduler. A second instance
(for example during a deploy's overlap) waits until the first stops, then takes over.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time

from app.core.config import get_settings
from app.worker import runner
from app.worker.registry import all_jobs

log = logging.getLogger("cohort.worker")
HEARTBEAT_SECONDS = 30
WAIT_SECONDS = 5
RETRY_MINUTES = 15  # a failed period (say, one institute's database error) is retried this often


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.worker", description=__doc__)
    parser.add_argument("--list", action="store_true", help="list the jobs and their triggers")
    parser.add_argument("--run-once", metavar="JOB", help="run one job now and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=get_settings().LOG_LEVEL, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    jobs = all_jobs()
    if args.list:
        for job in jobs.values():
            print(f"{job.name:28} {job.describe_trigger():40} {job.description}")
        return 0
    if args.run_once:
        job = jobs.get(args.run_once)
        if job is None:
            print(f"No job called {args.run_once!r}. Jobs: {', '.join(jobs)}", file=sys.stderr)
            return 2
        record = runner.run_job(job, trigger="manual")
        print(f"{job.name}: {record.outcome} {record.counts or ''} {record.error or ''}".strip())
        return 0 if record.outcome == "ok" else 1
    return serve(jobs)


def serve(jobs) -> int:
    from apscheduler.schedulers.blocking import BlockingScheduler

    leadership = runner.Leadership()
    stopping = {"now": False}

    def stop(signum, _frame):
        stopping["now"] = True
        log.info("signal %s: stopping", signum)
        if scheduler.running:
            scheduler.shutdown(wait=False)

    scheduler = BlockingScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    announced = False
    while not leadership.acquire():
        if stopping["now"]:
            return 0
        if not announced:
            log.info("Another worker is running jobs; waiting to take over.")
            announced = True
        time.sleep(WAIT_SECONDS)
    log.info("This worker (%s) now runs the jobs.", leadership.holder)

    def heartbeat():
        if not leadership.still_leader():
            log.error("Lost the worker lease; stopping so the new leader runs alone.")
            stop("lease", None)

    scheduler.add_job(heartbeat, "interval", seconds=HEARTBEAT_SECONDS, id="heartbeat")
    scheduler.add_job(
        runner.retry_failed,
        "interval",
        minutes=RETRY_MINUTES,
        id="retry_failed",
        args=[list(jobs.values())],
    )
    for job in jobs.values():
        scheduler.add_job(runner.run_job, id=job.name, args=[job], **job.trigger)
    try:
        scheduler.start()
    finally:
        leadership.release()
        log.info("Worker stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
