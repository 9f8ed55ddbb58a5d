"""Extra classes teachers ask for from Today: an admin approves them in the action inbox, unless
the institute lets teachers add extra classes to their own batches directly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from sqlmodel import Session, col, select

from app.academics import service as academics
from app.academics.models import Batch
from app.attendance.models import ExtraClassRequest
from app.attendance.schedule import new_session_internal
from app.core import audit, clock
from app.core.errors import Conflict, NotFound, ValidationError
from app.core.ownership import get_owned
from app.core.roles import Role
from app.core.rows import carry
from app.core.statuses import RequestStatus
from app.core.tenancy import Actor
from app.identity.models import Institute
from app.inbox import service as inbox
from app.inbox.models import ActionType
from app.notify import service as notify

KEY = "extra_class:"


@dataclass(frozen=True)
class ExtraClassRow:
    id: int
    batch: str
    date: date
    start_time: time
    duration_minutes: int
    reason: str
    status: str
    decision_note: str | None


def teachers_add_classes(session: Session, *, actor: Actor) -> bool:
    """Whether teachers add extra classes to their batches without an admin's approval."""
    actor.require(Role.ADMIN, Role.TEACHER)
    return _institute(session, actor).teachers_add_classes


def set_teachers_add_classes(session: Session, *, actor: Actor, allowed: bool) -> bool:
    """Admin: let teachers add extra classes directly, or make them ask (the default)."""
    actor.require(Role.ADMIN)
    institute = _institute(session, actor)
    if institute.teachers_add_classes != allowed:
        institute.teachers_add_classes = allowed
        audit.save_audited(
            session,
            institute,
            "attendance.teachers_add_classes",
            actor=actor,
            target_type="institute",
            detail={"allowed": allowed},
        )
    return allowed


def request_extra_class(
    session: Session,
    *,
    actor: Actor,
    batch_id: int,
    day: date,
    start_time: time,
    duration_minutes: int,
    reason: str,
) -> ExtraClassRequest:
    """A teacher asks for an extra class of their batch. It waits for an admin in the inbox;
    when the institute allows it (or an admin asks) the class is created at once."""
    actor.require(Role.ADMIN, Role.TEACHER)
    batch = academics.taught_batch(session, actor=actor, batch_id=batch_id)
    institute = _institute(session, actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the extra class is needed.", field="reason")
    if len(reason) > 500:
        raise ValidationError("A reason has at most 500 characters.", field="reason")
    if day < clock.today_in(institute.timezone):
        raise ValidationError("An extra class is for today or later.", field="day")
    if not 5 <= duration_minutes <= 600:
        raise ValidationError("A class lasts between 5 and 600 minutes.", field="duration_minutes")
    req = ExtraClassRequest(
        institute_id=batch.institute_id,
        batch_id=batch.id or 0,
        requested_by=actor.user_id or 0,
        date=day,
        start_time=start_time,
        duration_minutes=duration_minutes,
        reason=reason,
    )
    direct = actor.role == Role.ADMIN or institute.teachers_add_classes
    if direct:
        row = new_session_internal(
            session, batch=batch, day=day, start_time=start_time, duration_minutes=duration_minutes
        )
        req.status, req.session_id = RequestStatus.APPROVED.value, row.id
        req.decided_by, req.decided_at = actor.user_id, clock.now()
        req.decision_note = "Added directly (the institute allows it)."
    session.add(req)
    session.flush()
    if not direct:
        # Not on the batch (a teacher's inbox shows their batches' actions): admins decide.
        inbox.open_action_internal(
            session,
            institute_id=batch.institute_id,
            type=ActionType.EXTRA_CLASS_REQUEST.value,
            reason=(
                f"{actor.name or 'A teacher'} asks for an extra class of {batch.name} on "
                f"{day:%a %d %b} at {start_time:%H:%M} ({duration_minutes} min): {reason}"
            ),
            dedupe_key=f"{KEY}{req.id}",
        )
    audit.record(
        session,
        actor=actor,
        action="extra_class.add" if direct else "extra_class.request",
        target_type="extra_class_request",
        target_id=req.id,
        detail={"batch_id": batch.id, "date": str(day), "session_id": req.session_id},
    )
    return req


def decide_extra_class(
    session: Session, *, actor: Actor, request_id: int, approve: bool, note: str = ""
) -> ExtraClassRequest:
    """Admin: approve a teacher's extra class (the class is created) or reject it with a note;
    the inbox action closes and the teacher is told in the app."""
    actor.require(Role.ADMIN)
    req = get_owned(session, ExtraClassRequest, actor, request_id, "request")
    if req.status != RequestStatus.PENDING.value:
        raise Conflict(f"This request was already {req.status}.")
    note = (note or "").strip()
    if not approve and not note:
        raise ValidationError("Tell the teacher why, in a note.", field="note")
    batch = get_owned(session, Batch, actor, req.batch_id, "batch")
    if approve:
        row = new_session_internal(
            session,
            batch=batch,
            day=req.date,
            start_time=req.start_time,
            duration_minutes=req.duration_minutes,
        )
        req.session_id = row.id
    req.status = RequestStatus.APPROVED.value if approve else RequestStatus.REJECTED.value
    req.decided_by, req.decided_at, req.decision_note = actor.user_id, clock.now(), note or None
    session.add(req)
    session.flush()
    inbox.resolve_by_key(
        session,
        actor=actor,
        dedupe_key=f"{KEY}{req.id}",
        note=("Approved" if approve else "Rejected") + (f": {note}" if note else ""),
    )
    when = f"{batch.name} on {req.date:%a %d %b} at {req.start_time:%H:%M}"
    notify.enqueue_internal(
        session,
        institute_id=req.institute_id,
        channel="in_app",
        recipient=str(req.requested_by),
        recipient_user_id=req.requested_by,
        subject="Extra class " + ("approved" if approve else "not approved"),
        text=(
            f"Your extra class of {when} is approved."
            if approve
            else f"Your extra class of {when} was not approved: {note}"
        ),
        dedupe_key=f"{KEY}{req.id}:decided",
    )
    audit.record(
        session,
        actor=actor,
        action="extra_class." + req.status,
        target_type="extra_class_request",
        target_id=req.id,
        detail={"session_id": req.session_id, "note": note or None},
    )
    return req


def decide_extra_class_for_action(
    session: Session, *, actor: Actor, action_id: int, approve: bool, note: str = ""
) -> ExtraClassRequest:
    """Admin: decide the extra-class request an inbox action stands for."""
    actor.require(Role.ADMIN)
    key = inbox.action_key(session, actor=actor, action_id=action_id)
    if not key.startswith(KEY) or not key[len(KEY) :].isdigit():
        raise NotFound("That request does not exist.")
    return decide_extra_class(
        session, actor=actor, request_id=int(key[len(KEY) :]), approve=approve, note=note
    )


def my_extra_class_requests(
    session: Session, *, actor: Actor, limit: int = 10
) -> list[ExtraClassRow]:
    """The teacher's latest extra-class requests and what became of them."""
    actor.require(Role.ADMIN, Role.TEACHER)
    rows = session.exec(
        select(ExtraClassRequest, Batch.name)
        .join(Batch, col(Batch.id) == col(ExtraClassRequest.batch_id))
        .where(
            ExtraClassRequest.institute_id == actor.institute_scope(),
            ExtraClassRequest.requested_by == actor.user_id,
        )
        .order_by(col(ExtraClassRequest.id).desc())
        .limit(limit)
    ).all()
    return [
        carry(
            ExtraClassRow,
            r,
            id=r.id or 0,
            batch=name,
        )
        for r, name in rows
    ]


def _institute(session: Session, actor: Actor) -> Institute:
    institute = session.get(Institute, actor.institute_scope())
    if institute is None:
        raise NotFound("That institute does not exist.")
    return institute
