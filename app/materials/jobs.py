"""Materials jobs: once a day, delete stored files no live material needs."""

from __future__ import annotations

from app.core.db import session_scope
from app.materials.service import cleanup_storage
from app.materials.storage import get_storage
from app.worker.registry import daily_job


def materials_cleanup(*, engine=None, storage=None) -> dict:
    """Remove orphaned objects and those of materials withdrawn more than 30 days ago."""
    with session_scope(system=True, engine=engine) as session:
        return cleanup_storage(session, storage=storage or get_storage())


JOBS = [
    daily_job(
        "materials_cleanup",
        materials_cleanup,
        hour=3,
        minute=40,
        description="Delete stored material files with no live record (orphans, and files "
        "withdrawn more than 30 days ago)",
    ),
]
