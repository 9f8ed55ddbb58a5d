"""The scheduler inside the web process: with only `streamlit run streamlit_app.py` (development,
or EMBEDDED_WORKER=1), the daily automation — risk, briefs, the outbox, sessions — still runs.

It is the same scheduler as `python -m app.worker`, in a background thread, under the same
leader lock: while a separate worker leads, the web process waits; when the leader stops, one
of them takes over. Production keeps the separate worker (EMBEDDED_WORKER unset there)."""

from __future__ import annotations

import logging
import threading
import time

from app.worker import runner
from app.worker.registry import all_jobs

log = logging.getLogger("cohort.worker")
WAIT_SECONDS = 5
_started = False
_lock = threading.Lock()


def holder_name() -> str:
    """How the lease names this scheduler: the System page tells web from worker by it."""
    return f"web {runner.identity()}"


def start() -> bool:
    """Start the embedded scheduler once per process (a daemon thread); False if it runs."""
    global _started
    with _lock:
        if _started:
            return False
        _started = True
    threading.Thread(target=_lead_forever, name="cohort-embedded-worker", daemon=True).start()
    log.info("The web process runs the scheduler too (EMBEDDED_WORKER), when no worker leads.")
    return True


def _lead_forever() -> None:
    jobs = list(all_jobs().values())
    while True:
        try:
            leadership = runner.Leadership(holder=holder_name())
            while not leadership.acquire():
                time.sleep(WAIT_SECONDS)
            log.info("The web process (%s) now runs the jobs.", leadership.holder)
            runner.lead(jobs, leadership)  # returns when leadership is lost
        except Exception:  # noqa: BLE001 - never take the web process down; try again later
            log.exception("the embedded scheduler stopped; retrying")
        time.sleep(WAIT_SECONDS)
