"""What coursework does when something happens below it (app.core.events)."""

from __future__ import annotations

from sqlmodel import Session

from app.core import events
from app.coursework import service


def _give_open_work(session, event: events.StudentsJoinedBatch) -> tuple[int, int]:
    """Students who join a batch get its open homework and coming assessments."""
    return service.give_open_work_internal(
        session,
        institute_id=event.institute_id,
        batch_id=event.batch_id,
        student_ids=list(event.student_ids),
        on=event.on,
    )


events.subscribe(events.StudentsJoinedBatch, "open_work", _give_open_work)


def _hand_in_keys(session: Session, event: events.StorageKeysInUse) -> set[str]:
    """The storage cleanup keeps the files students handed in."""
    return service.hand_in_keys_internal(session, keys=list(event.keys))


events.subscribe(events.StorageKeysInUse, "hand_ins", _hand_in_keys)
