"""Follow-ups: scheduling, logging what happened, and the calls due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.core import audit, clock
from app.core.errors import ValidationError
from app.core.roles import Role
from app.core.tenancy import Actor
from app.crm.common import (
    CRM_ROLES,
    enum_value,
    get,
    move_status,
    planned,
    today_internal,
    touch,
)
from app.crm.models import (
    OPEN_STATUSES,
    FollowUp,
    FollowUpStatus,
    FollowUpType,
    Inquiry,
    Outcome,
    Status,
)
from app.identity.models import User
from app.inbox import service as inbox_service


@dataclass(frozen=True)
class FollowUpRow:
    id: int
    inquiry_id: int
    student_name: str
    phone: str | None
    follow_up_date: date
    follow_up_type: str
    status: str
    outcome: str | None
    notes: str | None
    next_follow_up_date: date | None
    counselor: str | None


def follow_row(fu: FollowUp, inquiry: Inquiry, counselor: str | None) -> FollowUpRow:
    return FollowUpRow(
        fu.id,
        inquiry.id,
        inquiry.student_name,
        inquiry.phone,
        fu.follow_up_date,
        fu.follow_up_type,
        fu.status,
        fu.outcome,
        fu.notes,
        fu.next_follow_up_date,
        counselor,
    )


def _pending(session: Session, inquiry: Inquiry) -> FollowUp | None:
    return session.exec(planned(inquiry)).first()


def schedule_internal(
    session: Session, inquiry: Inquiry, *, on: date, kind: FollowUpType, notes: str | None
) -> FollowUp:
    """Plan the next contact (moving the planned one, if any) and mark the inquiry scheduled."""
    pending = _pending(session, inquiry)
    if pending is None:
        pending = FollowUp(
            institute_id=inquiry.institute_id,
            inquiry_id=inquiry.id,
            counselor_user_id=inquiry.counselor_user_id,
            follow_up_date=on,
            follow_up_type=kind.value,
            status=FollowUpStatus.PENDING.value,
            notes=notes,
        )
    else:
        pending.follow_up_date, pending.follow_up_type = on, kind.value
        pending.notes = notes or pending.notes
        pending.updated_at = clock.now()
    session.add(pending)
    inquiry.next_follow_up_date = on
    if inquiry.status in (Status.NEW.value, Status.CONTACTED.value):
        move_status(inquiry, Status.FOLLOW_UP_SCHEDULED)
    session.flush()
    return pending


def _open_inquiry(inquiry: Inquiry) -> None:
    if inquiry.status == Status.ENROLLED.value:
        raise ValidationError(
            f"{inquiry.student_name} is already enrolled; follow up with them as a student."
        )
    if inquiry.status == Status.LOST.value:
        raise ValidationError(
            f"{inquiry.student_name}'s inquiry is lost; reopen it (status contacted) first."
        )


def schedule_follow_up(
    session: Session,
    *,
    actor: Actor,
    inquiry_id: int,
    on: date,
    follow_up_type: str = FollowUpType.CALL.value,
    notes: str | None = None,
) -> FollowUp:
    """Plan the next contact with an inquiry (one planned contact at a time; this moves it)."""
    actor.require(*CRM_ROLES)
    inquiry = get(session, actor, inquiry_id)
    _open_inquiry(inquiry)
    kind = enum_value(FollowUpType, follow_up_type, "follow_up_type", "follow-up type")
    if on < today_internal(session, inquiry.institute_id):
        raise ValidationError("A follow-up is planned for today or later.", field="on")
    pending = schedule_internal(
        session, inquiry, on=on, kind=kind, notes=(notes or "").strip()[:2000] or None
    )
    audit.on(
        session,
        actor,
        "crm.follow_up_schedule",
        inquiry.id,
        {"on": on.isoformat(), "type": kind.value},
        target_type="inquiry",
    )
    touch(session, inquiry)
    return pending


def log_follow_up(
    session: Session,
    *,
    actor: Actor,
    inquiry_id: int,
    follow_up_type: str,
    outcome: str,
    notes: str | None = None,
    next_follow_up_date: date | None = None,
    on: date | None = None,
) -> FollowUp:
    """Record a contact that happened (a call, a visit…) with its outcome and, optionally, plan
    the next one. A planned contact due by then counts as done by this one."""
    actor.require(*CRM_ROLES)
    inquiry = get(session, actor, inquiry_id)
    _open_inquiry(inquiry)
    kind = enum_value(FollowUpType, follow_up_type, "follow_up_type", "follow-up type")
    result = enum_value(Outcome, outcome, "outcome", "follow-up outcome")
    today = today_internal(session, inquiry.institute_id)
    on = on or today
    if on > today:
        raise ValidationError(
            "A contact that happened cannot be in the future; schedule it instead.", field="on"
        )
    if next_follow_up_date is not None and next_follow_up_date <= on:
        raise ValidationError(
            "The next follow-up must come after this one.", field="next_follow_up_date"
        )
    if next_follow_up_date is not None and next_follow_up_date < today:
        raise ValidationError(
            "The next follow-up cannot be in the past.", field="next_follow_up_date"
        )
    text = (notes or "").strip()[:2000] or None
    pending = _pending(session, inquiry)
    if pending is not None and pending.follow_up_date <= on:
        done = pending
    else:
        done = FollowUp(institute_id=inquiry.institute_id, inquiry_id=inquiry.id)
    done.counselor_user_id = (
        actor.user_id if actor.role == Role.COUNSELOR else inquiry.counselor_user_id
    )
    done.follow_up_date, done.follow_up_type = on, kind.value
    done.status, done.outcome, done.notes = FollowUpStatus.COMPLETED.value, result.value, text
    done.next_follow_up_date = next_follow_up_date
    done.updated_at = clock.now()
    session.add(done)
    session.flush()
    if done is pending:  # its overdue reminder in the inbox is dealt with now
        inbox_service.resolve_by_key(
            session,
            actor=actor,
            dedupe_key=f"follow_up_due:{done.id}",
            note=f"Follow-up logged: {result.value.replace('_', ' ')}.",
        )
    if inquiry.status == Status.NEW.value:
        move_status(inquiry, Status.CONTACTED)
    remaining = _pending(session, inquiry)  # a contact planned for later still stands
    if next_follow_up_date is not None:
        schedule_internal(session, inquiry, on=next_follow_up_date, kind=kind, notes=None)
    elif remaining is not None:
        inquiry.next_follow_up_date = remaining.follow_up_date
        if inquiry.status == Status.CONTACTED.value:
            move_status(inquiry, Status.FOLLOW_UP_SCHEDULED)
    else:
        inquiry.next_follow_up_date = None
        if inquiry.status == Status.FOLLOW_UP_SCHEDULED.value:
            move_status(inquiry, Status.CONTACTED)
    audit.on(
        session,
        actor,
        "crm.follow_up_log",
        inquiry.id,
        {"type": kind.value, "outcome": result.value, "on": on.isoformat()},
        target_type="inquiry",
    )
    touch(session, inquiry)
    return done


def due_follow_ups(
    session: Session, *, actor: Actor, mine_only: bool | None = None, limit: int = 200
) -> list[FollowUpRow]:
    """Planned contacts due today or overdue (a counselor's own by default), oldest first."""
    actor.require(*CRM_ROLES)
    institute_id = actor.institute_scope()
    mine = actor.role == Role.COUNSELOR if mine_only is None else mine_only
    query = (
        select(FollowUp, Inquiry, User.name)
        .join(Inquiry, Inquiry.id == FollowUp.inquiry_id)
        .outerjoin(User, User.id == FollowUp.counselor_user_id)
        .where(
            FollowUp.institute_id == institute_id,
            Inquiry.institute_id == institute_id,
            FollowUp.status == FollowUpStatus.PENDING.value,
            FollowUp.follow_up_date <= today_internal(session, institute_id),
            col(Inquiry.status).in_([s.value for s in OPEN_STATUSES]),
        )
    )
    if mine:
        query = query.where(
            or_(
                FollowUp.counselor_user_id == actor.user_id,
                (col(FollowUp.counselor_user_id).is_(None))
                & (Inquiry.counselor_user_id == actor.user_id),
            )
        )
    rows = session.exec(query.order_by(FollowUp.follow_up_date, FollowUp.id).limit(limit)).all()
    return [follow_row(fu, inq, name) for fu, inq, name in rows]
