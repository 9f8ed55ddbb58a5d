"""Students' badge requests with evidence, and teachers' decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.academics.models import BatchMembership, Student
from app.academics.service import has_student_record as has_student_record
from app.academics.service import my_student as my_student
from app.badges.awards import (
    after_awards,
    check_teaches,
    grant_internal,
    notify_student,
    student_internal,
    teacher_student_ids,
)
from app.badges.catalog import badge_internal
from app.badges.common import STAFF
from app.badges.models import (
    Badge,
    BadgeAward,
    BadgeKind,
    BadgeRequest,
)
from app.core import audit, clock, db
from app.core.errors import Conflict, ValidationError
from app.core.ownership import owned
from app.core.roles import Role
from app.core.rows import carry
from app.core.statuses import RequestStatus
from app.core.tenancy import Actor
from app.inbox import service as inbox_service
from app.inbox.models import ActionStatus, ActionType, Outcome


def request_badge(
    session: Session,
    *,
    actor: Actor,
    badge_id: int,
    evidence_text: str = "",
    evidence_url: str | None = None,
) -> BadgeRequest:
    """A student asks for a badge with evidence; it waits in the teachers' inbox."""
    student = my_student(session, actor=actor)
    institute_id = student.institute_id
    badge = badge_internal(session, institute_id, badge_id)
    if not badge.active:
        raise ValidationError(f"{badge.name} is not open for requests.")
    if badge.kind not in (BadgeKind.MINI.value, BadgeKind.CAPSTONE.value):
        raise ValidationError(
            f"{badge.name} is earned by completing the badges beneath it; request those instead."
        )
    evidence_text = (evidence_text or "").strip()
    evidence_url = (evidence_url or "").strip() or None
    if not evidence_text and not evidence_url:
        raise ValidationError("Describe your evidence or give a link to it.", field="evidence")
    if evidence_url and not evidence_url.lower().startswith(("https://", "http://")):
        raise ValidationError("The evidence link must start with https://.", field="evidence_url")
    if session.exec(
        select(BadgeAward.id).where(
            BadgeAward.institute_id == institute_id,
            BadgeAward.student_id == student.id,
            BadgeAward.badge_id == badge.id,
        )
    ).first():
        raise Conflict(f"You already have the {badge.name} badge.")
    if session.exec(
        select(BadgeRequest.id).where(
            BadgeRequest.institute_id == institute_id,
            BadgeRequest.student_id == student.id,
            BadgeRequest.badge_id == badge.id,
            BadgeRequest.status == RequestStatus.PENDING.value,
        )
    ).first():
        raise Conflict(f"Your request for {badge.name} is still waiting for a teacher.")
    req = BadgeRequest(
        institute_id=institute_id,
        student_id=student.id,
        badge_id=badge.id,
        evidence_text=evidence_text[:2000],
        evidence_url=evidence_url,
    )
    # Two clicks (or two tabs) at once: the partial unique index keeps one pending request.
    if not db.add_unless_duplicate(session, req):
        raise Conflict(f"Your request for {badge.name} is still waiting for a teacher.")
    batch_id = session.exec(
        select(BatchMembership.batch_id)
        .where(
            BatchMembership.institute_id == institute_id,
            BatchMembership.student_id == student.id,
            col(BatchMembership.left_on).is_(None),
        )
        .order_by(BatchMembership.batch_id)
    ).first()
    inbox_service.open_action_internal(
        session,
        institute_id=institute_id,
        type=ActionType.BADGE_REQUEST.value,
        reason=f"{student.name} requests the {badge.name} badge.",
        dedupe_key=f"badge_request:{req.id}",
        student_id=student.id,
        batch_id=batch_id,
    )
    audit.on(
        session, actor, "badges.request", req.id, {"badge": badge.name}, target_type="badge_request"
    )
    return req


@dataclass(frozen=True)
class RequestRow:
    id: int
    student_id: int
    student: str
    badge_id: int
    badge: str
    kind: str
    evidence_text: str
    evidence_url: str | None
    status: str
    created_at: datetime
    reason: str | None
    decided_at: datetime | None


def _request_rows(session: Session, query) -> list[RequestRow]:
    rows = session.exec(
        query.join(Student, Student.id == BadgeRequest.student_id)
        .join(Badge, Badge.id == BadgeRequest.badge_id)
        .order_by(col(BadgeRequest.created_at).desc(), col(BadgeRequest.id).desc())
    ).all()
    return [
        carry(
            RequestRow,
            r,
            student=name,
            badge=badge,
            kind=kind,
        )
        for r, name, badge, kind in rows
    ]


def list_requests(
    session: Session,
    *,
    actor: Actor,
    status: str | None = RequestStatus.PENDING.value,
    badge_id: int | None = None,
    batch_id: int | None = None,
    search: str | None = None,
    limit: int = 200,
) -> list[RequestRow]:
    """The request queue: admins see all, teachers their batches' students, students their own."""
    institute_id = actor.institute_scope()
    query = select(BadgeRequest, Student.name, Badge.name, Badge.kind).where(
        BadgeRequest.institute_id == institute_id
    )
    if actor.role == Role.STUDENT:
        query = query.where(BadgeRequest.student_id == my_student(session, actor=actor).id)
    else:
        actor.require(*STAFF)
        if actor.role == Role.TEACHER:
            query = query.where(
                col(BadgeRequest.student_id).in_(teacher_student_ids(institute_id, actor.user_id))
            )
    if status:
        query = query.where(BadgeRequest.status == status)
    if badge_id:
        query = query.where(BadgeRequest.badge_id == badge_id)
    if batch_id:
        members = select(BatchMembership.student_id).where(
            BatchMembership.institute_id == institute_id, BatchMembership.batch_id == batch_id
        )
        query = query.where(col(BadgeRequest.student_id).in_(members))
    if search and search.strip():
        query = query.where(func.lower(Student.name).contains(search.strip().lower()))
    return _request_rows(session, query.limit(limit))


def decide(
    session: Session,
    *,
    actor: Actor,
    request_id: int,
    approve: bool,
    reason: str = "",
) -> BadgeRequest:
    """Approve (award, with progression) or reject (a reason is required) a pending request;
    the inbox action is closed and the student told in the app."""
    actor.require(*STAFF)
    institute_id = actor.institute_scope()
    req = owned(session, BadgeRequest, request_id, institute_id, "request")
    check_teaches(session, actor, req.student_id)
    if req.status != RequestStatus.PENDING.value:
        raise Conflict(f"This request was already {req.status}.")
    reason = (reason or "").strip()
    if not approve and not reason:
        raise ValidationError("Tell the student why the request is rejected.", field="reason")
    badge = badge_internal(session, institute_id, req.badge_id)
    student = student_internal(session, institute_id, req.student_id)
    req.status = RequestStatus.APPROVED.value if approve else RequestStatus.REJECTED.value
    req.decided_by, req.decided_at, req.reason = actor.user_id, clock.now(), reason or None
    session.add(req)
    session.flush()
    created: list[BadgeAward] = []
    if approve:
        created = grant_internal(
            session,
            institute_id=institute_id,
            pairs={(req.student_id, req.badge_id)},
            source="request",
            by_user_id=actor.user_id,
            evidence="\n".join(x for x in (req.evidence_text, req.evidence_url or "") if x) or None,
            request_id=req.id,
        )
    audit.record(
        session,
        actor=actor,
        action="badges.request_" + req.status,
        target_type="badge_request",
        target_id=req.id,
        detail={"badge": badge.name, "student_id": student.id, "reason": reason or None},
    )
    _close_inbox_action(session, actor, req, approve, reason)
    if approve:
        after_awards(session, actor, created)
    else:
        notify_student(
            session,
            student,
            f"Your request for the {badge.name} badge was not approved: {reason}",
            f"badge_request:{req.id}:rejected",
        )
    return req


def _close_inbox_action(
    session: Session, actor: Actor, req: BadgeRequest, approve: bool, reason: str
) -> None:
    action = inbox_service.open_action_internal(
        session,
        institute_id=req.institute_id,
        type=ActionType.BADGE_REQUEST.value,
        reason="Badge request",
        dedupe_key=f"badge_request:{req.id}",
        student_id=req.student_id,
    )
    if action.status != ActionStatus.OPEN:
        return
    # The decision itself was authorised above (teacher of the student, or admin); the inbox
    # closes the action in the institute-wide scope so it closes whoever's inbox it sits in.
    closer = Actor(
        user_id=actor.user_id,
        role=Role.ADMIN,
        institute_id=req.institute_id,
        name=actor.name,
        source=actor.source,
    )
    note = ("Approved" if approve else "Rejected") + (f": {reason}" if reason else "")
    inbox_service.act(
        session, actor=closer, action_id=action.id, outcome=Outcome.RESOLVED.value, note=note
    )
