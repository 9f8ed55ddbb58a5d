"""Admission: at most PAGE_RUNS_AT_ONCE whole-page runs at a time in one web process.

A Python process runs one thread at a time, so twenty pages started together each get a
twentieth of it: a tap on the attendance sheet that needs 20 ms of work then waits half a second
behind pages it has nothing to do with. Pages beyond the limit wait their turn without costing
anything, and fragment reruns (a tap on a sheet, a live refresh) do not go through here at all, so
they are served between page runs. The total work is the same; the short actions stop paying for
the long ones.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from app.core.config import get_settings

_slots: threading.BoundedSemaphore | None = None
_made = threading.Lock()


def _semaphore() -> threading.BoundedSemaphore:
    global _slots
    if _slots is None:
        with _made:
            if _slots is None:
                _slots = threading.BoundedSemaphore(get_settings().PAGE_RUNS_AT_ONCE)
    return _slots


@contextmanager
def page_run() -> Iterator[None]:
    """Hold one of the process's page-run slots while the page runs (released however it ends:
    a rerun or a page switch raises through here)."""
    slots = _semaphore()
    slots.acquire()
    try:
        yield
    finally:
        slots.release()
