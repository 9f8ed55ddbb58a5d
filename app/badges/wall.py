"""The badge wall: a student's badges and progress, as they and their teachers see it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from app.academics import service as academics_service
from app.academics.models import Student
from app.badges.awards import student_internal, teacher_student_ids
from app.badges.catalog import catalog
from app.badges.common import STAFF
from app.badges.models import (
    Badge,
    BadgeAward,
    BadgeKind,
    CredentialStatus,
)
from app.badges.requests import RequestRow, list_requests, my_student
from app.core.errors import NotFound, ValidationError
from app.core.ownership import owned
from app.core.roles import Role
from app.core.rows import carry
from app.core.statuses import RequestStatus
from app.core.tenancy import Actor


@dataclass(frozen=True)
class EarnedBadge:
    award_id: int
    badge_id: int
    name: str
    kind: str
    emoji: str
    colour: str
    awarded_at: datetime
    source: str
    credential_id: str
    revoked: bool
    needs_review: bool


@dataclass(frozen=True)
class Progress:
    badge_id: int
    name: str
    kind: str
    emoji: str
    earned: int
    needed: int
    missing: list[str]


@dataclass
class Wall:
    student_id: int
    student: str
    earned: list[EarnedBadge] = field(default_factory=list)
    progress: list[Progress] = field(default_factory=list)
    requestable: list[Badge] = field(default_factory=list)
    requests: list[RequestRow] = field(default_factory=list)


def wall(session: Session, *, actor: Actor, student_id: int | None = None) -> Wall:
    """A student's badges: earned, progress toward each skill and program, what can be requested."""
    institute_id = actor.institute_scope()
    if actor.role == Role.STUDENT:
        student = my_student(session, actor=actor)
    else:
        actor.require(*STAFF)
        if student_id is None:
            raise ValidationError("Choose a student.")
        student = student_internal(session, institute_id, student_id)
        academics_service.ensure_student_scope(session, actor=actor, student_id=student.id)
    badges = catalog(session, actor=actor)
    by_id = {b.id: b for b in badges}
    awards = list(
        session.exec(
            select(BadgeAward, Badge)
            .join(Badge, Badge.id == BadgeAward.badge_id)
            .where(BadgeAward.institute_id == institute_id, BadgeAward.student_id == student.id)
            .order_by(col(BadgeAward.awarded_at).desc())
        )
    )
    result = Wall(student_id=student.id, student=student.name)
    held: set[int] = set()
    for a, b in awards:
        result.earned.append(
            carry(
                EarnedBadge,
                b,
                award_id=a.id,
                badge_id=b.id,
                awarded_at=a.awarded_at,
                source=a.source,
                credential_id=a.credential_id,
                revoked=a.revoked_at is not None,
                needs_review=a.needs_review,
            )
        )
        if a.revoked_at is None:
            held.add(b.id)
    children: dict[int, list[Badge]] = defaultdict(list)
    for b in badges:
        if b.parent_id is not None and (b.kind != BadgeKind.MINI.value or b.required):
            children[b.parent_id].append(b)
    for b in badges:
        if b.kind in (BadgeKind.SKILL.value, BadgeKind.PROGRAM.value) and b.id not in held:
            kids = children.get(b.id, [])
            if kids:
                result.progress.append(
                    Progress(
                        badge_id=b.id,
                        name=b.name,
                        kind=b.kind,
                        emoji=b.emoji,
                        earned=sum(1 for k in kids if k.id in held),
                        needed=len(kids),
                        missing=[k.name for k in kids if k.id not in held],
                    )
                )
    result.requests = (
        list_requests(session, actor=actor, status=None) if actor.role == Role.STUDENT else []
    )
    pending = {r.badge_id for r in result.requests if r.status == RequestStatus.PENDING.value}
    any_award = {a.badge_id for a, _ in awards}
    result.requestable = [
        b
        for b in badges
        if b.kind in (BadgeKind.MINI.value, BadgeKind.CAPSTONE.value)
        and b.id not in any_award
        and b.id not in pending
        and (b.parent_id is None or b.parent_id in by_id)
    ]
    return result


def my_award(session: Session, *, actor: Actor, award_id: int) -> BadgeAward:
    """An award the actor may see: a student their own, staff any in the institute."""
    institute_id = actor.institute_scope()
    row = owned(session, BadgeAward, award_id, institute_id, "award")
    if actor.role == Role.STUDENT:
        if row.student_id != my_student(session, actor=actor).id:
            raise NotFound("That award does not exist.")
    else:
        actor.require(*STAFF, Role.COUNSELOR)
        try:
            academics_service.ensure_student_scope(session, actor=actor, student_id=row.student_id)
        except NotFound:
            raise NotFound("That award does not exist.") from None
    return row


def list_awards(
    session: Session,
    *,
    actor: Actor,
    badge_id: int | None = None,
    student_id: int | None = None,
    needs_review: bool = False,
) -> list[dict]:
    """Awards of the institute for staff (student name, badge, status), newest first."""
    actor.require(*STAFF)
    institute_id = actor.institute_scope()
    query = (
        select(BadgeAward, Student.name, Badge.name)
        .join(Student, Student.id == BadgeAward.student_id)
        .join(Badge, Badge.id == BadgeAward.badge_id)
        .where(BadgeAward.institute_id == institute_id)
    )
    if badge_id:
        query = query.where(BadgeAward.badge_id == badge_id)
    if student_id:
        query = query.where(BadgeAward.student_id == student_id)
    if needs_review:
        query = query.where(col(BadgeAward.needs_review).is_(True))
    if actor.role == Role.TEACHER:
        query = query.where(
            col(BadgeAward.student_id).in_(teacher_student_ids(institute_id, actor.user_id))
        )
    rows = session.exec(query.order_by(col(BadgeAward.awarded_at).desc()).limit(500)).all()
    return [
        {
            "award_id": a.id,
            "student": s,
            "badge": b,
            "awarded_at": a.awarded_at,
            "source": a.source,
            "status": award_status(a),
            "review_note": a.review_note,
        }
        for a, s, b in rows
    ]


def award_status(a: BadgeAward) -> str:
    if a.revoked_at is not None:
        return CredentialStatus.REVOKED.value
    return (CredentialStatus.NEEDS_REVIEW if a.needs_review else CredentialStatus.VALID).value
