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
from app.worker.registry import STOPPING, all_jobs, all_services

log = logging.getLogger("cohort.worker")
WAIT_SECONDS = 5


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
    leadership = runner.Leadership(holder=f"worker {runner.identity()}")
    stopping = {"now": False, "scheduler": None}

    def stop(signum, _frame):
        stopping["now"] = True
        STOPPING.set()
        log.info("signal %s: stopping", signum)
        scheduler = stopping["scheduler"]
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for start in all_services():  # e.g. the Telegram webhook route, whether or not we lead
        start()

    announced = False
    while not leadership.acquire():
        if stopping["now"]:
            return 0
        if not announced:
            log.info("Another worker is running jobs; waiting to take over.")
            announced = True
        time.sleep(WAIT_SECONDS)
    log.info("This worker (%s) now runs the jobs.", leadership.holder)
    try:
        runner.lead(
            list(jobs.values()),
            leadership,
            on_scheduler=lambda scheduler: stopping.__setitem__("scheduler", scheduler),
        )
    finally:
        log.info("Worker stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
