"""Rewards and penalties: grant points, balances, appeals and their review, referral rewards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, exists, func, insert, or_, true
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.academics.models import Batch, BatchMembership, Student, StudentStatus
from app.core import audit, clock, db
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.core.ownership import owned
from app.core.roles import Role
from app.core.rows import carry
from app.core.tenancy import Actor
from app.feedback.models import (
    AppealOutcome,
    PointsCategory,
    PointsEntry,
    PointsStatus,
    PointsType,
)
from app.feedback.service import my_student
from app.identity.models import Institute, User

REFERRAL_REWARD_POINTS = 50


def record_referral_reward_internal(
    session: Session,
    *,
    institute_id: int,
    referrer_student_id: int,
    inquiry_id: int,
    new_student_name: str,
    created_by_user_id: int | None,
) -> PointsEntry | None:
    """Reward the student who referred a converted inquiry, once per inquiry (None if already).

    Called inside the CRM's conversion transaction: it only flushes."""
    referrer = owned(session, Student, referrer_student_id, institute_id, "referring student")
    source_key = f"referral:{inquiry_id}"
    if _source_exists(session, institute_id=institute_id, source_key=source_key):
        return None
    entry = PointsEntry(
        institute_id=institute_id,
        student_id=referrer.id,
        type=PointsType.REWARD.value,
        category=PointsCategory.OTHER.value,
        reason=f"Referral: {new_student_name.strip()} enrolled"[:500],
        points=REFERRAL_REWARD_POINTS,
        date=_today(session, institute_id),
        created_by=created_by_user_id,
        source_key=source_key,
    )
    if not db.add_unless_duplicate(session, entry):
        # A concurrent conversion of the same inquiry won the race: nothing more to write.
        return None
    audit.on(
        session,
        None,
        "points.referral_reward",
        entry.id,
        {
            "student_id": referrer.id,
            "inquiry_id": inquiry_id,
            "points": REFERRAL_REWARD_POINTS,
            "by_user_id": created_by_user_id,
        },
        target_type="points_entry",
        institute_id=institute_id,
        source="crm",
    )
    return entry


def _today(session: Session, institute_id: int) -> date:
    institute = session.get(Institute, institute_id)
    return clock.today_in(institute.timezone if institute else "UTC")


def _source_exists(session: Session, *, institute_id: int, source_key: str) -> bool:
    return (
        session.exec(
            select(PointsEntry.id).where(
                PointsEntry.institute_id == institute_id, PointsEntry.source_key == source_key
            )
        ).first()
        is not None
    )


# ------------------------------------------------------------------ granting and listing

MAX_POINTS = 500
MAX_REASON = 500
MAX_BULK = 500


def grant_points(
    session: Session,
    *,
    actor: Actor,
    student_ids: list[int],
    type: str,
    category: str,
    reason: str,
    points: int,
    on_date: date | None = None,
) -> int:
    """Give a reward or a penalty to one or several students at once (teachers: students of
    their batches; counselors: their own students; admins: any student of the institute);
    returns how many were given."""
    actor.require(*GIVERS)
    institute_id = actor.institute_scope()
    try:
        kind = PointsType(type)
    except ValueError:
        raise ValidationError("Choose reward or penalty.", field="type") from None
    try:
        cat = PointsCategory(category)
    except ValueError:
        raise ValidationError(
            "Choose a category: " + ", ".join(c.value for c in PointsCategory) + ".",
            field="category",
        ) from None
    text = (reason or "").strip()
    if not text:
        raise ValidationError("Give a reason the student will read.", field="reason")
    if len(text) > MAX_REASON:
        raise ValidationError(f"Keep the reason under {MAX_REASON} characters.", field="reason")
    if not isinstance(points, int) or isinstance(points, bool) or not 1 <= points <= MAX_POINTS:
        raise ValidationError(
            f"Points must be a whole number from 1 to {MAX_POINTS}.", field="points"
        )
    ids = sorted(set(student_ids or []))
    if not ids:
        raise ValidationError("Choose at least one student.", field="student_ids")
    if len(ids) > MAX_BULK:
        raise ValidationError(f"Give points to at most {MAX_BULK} students at once.")
    today = _today(session, institute_id)
    day = on_date or today
    if day > today:
        raise ValidationError("The date cannot be in the future.", field="on_date")
    allowed = select(Student.id).where(
        Student.institute_id == institute_id, col(Student.id).in_(ids)
    )
    allowed = allowed.where(_in_care(institute_id, actor, Student.id))
    found = set(session.exec(allowed))
    missing = [i for i in ids if i not in found]
    if missing:
        raise PermissionDenied(
            "You can give points only to students of your own batches."
            if actor.role == Role.TEACHER
            else "You can give points only to the students you counsel."
            if actor.role == Role.COUNSELOR
            else "Some of the chosen students are not in this institute."
        )
    now = clock.now()
    rows = [
        {
            "institute_id": institute_id,
            "student_id": sid,
            "faculty_id": actor.user_id if actor.role == Role.TEACHER else None,
            "type": kind.value,
            "category": cat.value,
            "reason": text,
            "points": points,
            "date": day,
            "created_by": actor.user_id,
            "status": PointsStatus.ACTIVE.value,
            "created_at": now,
            "updated_at": now,
        }
        for sid in ids
    ]
    session.execute(insert(PointsEntry), rows)
    audit.record_many(
        session,
        actor=actor,
        action=f"points.{kind.value}",
        entries=[
            {
                "target_type": "student",
                "target_id": sid,
                "detail": {"category": cat.value, "points": points, "reason": text},
            }
            for sid in ids
        ],
    )
    return len(rows)


GIVERS = (Role.ADMIN, Role.TEACHER, Role.COUNSELOR)


def _in_care(institute_id: int, actor: Actor, student_id_column: Any) -> Any:
    """The students `actor` gives points to and follows: a teacher's current students, a
    counselor's own students (Student.counselor_user_id), every student for an admin."""
    if actor.role == Role.TEACHER:
        return _taught_by(institute_id, actor.user_id, student_id_column)
    if actor.role == Role.COUNSELOR:
        # An alias: the outer query may itself be over students (it is not correlated away).
        counselled = aliased(Student)
        return exists().where(
            col(counselled.institute_id) == institute_id,
            col(counselled.id) == student_id_column,
            col(counselled.counselor_user_id) == actor.user_id,
        )
    return true()


def _taught_by(institute_id: int, teacher_id: int | None, student_id_column):
    """True for a student currently in one of the teacher's batches."""
    return exists().where(
        BatchMembership.institute_id == institute_id,
        BatchMembership.student_id == student_id_column,
        col(BatchMembership.left_on).is_(None),
        Batch.id == BatchMembership.batch_id,
        Batch.teacher_user_id == teacher_id,
    )


def _balance_expr():
    counted = or_(
        col(PointsEntry.appeal_outcome).is_(None),
        PointsEntry.appeal_outcome != AppealOutcome.REVERSED.value,
    )
    return func.coalesce(
        func.sum(
            case(
                (PointsEntry.type == PointsType.REWARD.value, PointsEntry.points),
                (counted, -PointsEntry.points),
                else_=0,
            )
        ),
        0,
    )


def balances(
    session: Session, *, actor: Actor, student_ids: list[int] | None = None
) -> dict[int, int]:
    """Points balance per student: rewards minus penalties, reversed penalties not counted
    (students: only their own; teachers: students of their batches)."""
    institute_id = actor.institute_scope()
    if actor.role == Role.STUDENT:
        student_ids = [my_student(session, actor=actor).id]
    else:
        actor.require(*GIVERS)
    query = select(PointsEntry.student_id, _balance_expr()).where(
        PointsEntry.institute_id == institute_id
    )
    if actor.role in (Role.TEACHER, Role.COUNSELOR):
        query = query.where(_in_care(institute_id, actor, PointsEntry.student_id))
        if student_ids is not None:
            cared = set(
                session.exec(
                    select(Student.id).where(
                        Student.institute_id == institute_id,
                        col(Student.id).in_(student_ids),
                        _in_care(institute_id, actor, Student.id),
                    )
                )
            )
            student_ids = [sid for sid in student_ids if sid in cared]
    if student_ids is not None:
        query = query.where(col(PointsEntry.student_id).in_(student_ids))
    rows = session.exec(query.group_by(PointsEntry.student_id)).all()
    out = {int(sid): int(total) for sid, total in rows}
    for sid in student_ids or []:
        out.setdefault(sid, 0)
    return out


@dataclass(frozen=True)
class PointsRow:
    id: int
    student_id: int
    student: str
    type: str
    category: str
    reason: str
    points: int
    signed_points: int  # what it counts in the balance now
    date: date
    given_by: str | None
    status: str
    appeal_text: str | None
    appealed_at: datetime | None
    appeal_outcome: str | None
    resolution_note: str | None

    @property
    def can_appeal(self) -> bool:
        return self.type == PointsType.PENALTY.value and self.status == PointsStatus.ACTIVE.value


def _signed(entry: PointsEntry) -> int:
    if entry.type == PointsType.REWARD.value:
        return entry.points
    return 0 if entry.appeal_outcome == AppealOutcome.REVERSED.value else -entry.points


def _rows(session: Session, query) -> list[PointsRow]:
    return [
        carry(
            PointsRow,
            e,
            student=student_name,
            signed_points=_signed(e),
            given_by=given_by,
        )
        for e, student_name, given_by in session.exec(query).all()
    ]


def _list_query(institute_id: int):
    return (
        select(PointsEntry, Student.name, User.name)
        .join(Student, Student.id == PointsEntry.student_id)
        .outerjoin(User, User.id == PointsEntry.created_by)
        .where(PointsEntry.institute_id == institute_id)
    )


def list_points(
    session: Session,
    *,
    actor: Actor,
    student_id: int | None = None,
    type: str | None = None,
    status: str | None = None,
    limit: int = 500,
) -> list[PointsRow]:
    """Rewards and penalties, newest first (admins: the institute's; teachers: students of their
    batches; students: only their own)."""
    institute_id = actor.institute_scope()
    query = _list_query(institute_id)
    if actor.role == Role.STUDENT:
        own = my_student(session, actor=actor).id
        if student_id is not None and student_id != own:
            raise PermissionDenied("You can see only your own points.")
        student_id = own
    else:
        actor.require(*GIVERS)
        query = query.where(_in_care(institute_id, actor, PointsEntry.student_id))
    if student_id is not None:
        query = query.where(PointsEntry.student_id == student_id)
    if type:
        query = query.where(PointsEntry.type == PointsType(type).value)
    if status:
        query = query.where(PointsEntry.status == PointsStatus(status).value)
    query = query.order_by(col(PointsEntry.date).desc(), col(PointsEntry.id).desc()).limit(limit)
    return _rows(session, query)


@dataclass(frozen=True)
class MyPoints:
    balance: int
    rewards: int
    penalties: int  # counted penalties (reversed ones excluded)
    history: list[PointsRow]


def my_points(session: Session, *, actor: Actor) -> MyPoints:
    """The signed-in student's balance and history."""
    history = list_points(session, actor=actor, limit=1000)
    rewards = sum(r.signed_points for r in history if r.signed_points > 0)
    penalties = -sum(r.signed_points for r in history if r.signed_points < 0)
    balance = balances(session, actor=actor)
    return MyPoints(
        balance=next(iter(balance.values()), 0),
        rewards=rewards,
        penalties=penalties,
        history=history,
    )


# ------------------------------------------------------------------ appeals

MAX_APPEAL = 2000


def appeal_penalty(session: Session, *, actor: Actor, entry_id: int, text: str) -> PointsRow:
    """Appeal one of one's own penalties, saying why; an admin reviews it."""
    student = my_student(session, actor=actor)
    entry = session.exec(
        select(PointsEntry).where(
            PointsEntry.institute_id == student.institute_id,
            PointsEntry.id == entry_id,
            PointsEntry.student_id == student.id,
        )
    ).first()
    if entry is None:
        raise NotFound("That penalty does not exist.")
    if entry.type != PointsType.PENALTY.value:
        raise ValidationError("Only penalties can be appealed.")
    if entry.status != PointsStatus.ACTIVE.value:
        raise Conflict("This penalty was already appealed.")
    reason = (text or "").strip()
    if len(reason) < 10:
        raise ValidationError("Explain your appeal in a sentence or two.", field="text")
    if len(reason) > MAX_APPEAL:
        raise ValidationError(f"Keep the appeal under {MAX_APPEAL} characters.", field="text")
    now = clock.now()
    entry.status, entry.appeal_text, entry.appealed_at, entry.updated_at = (
        PointsStatus.APPEALED.value,
        reason,
        now,
        now,
    )
    session.add(entry)
    session.flush()
    audit.on(session, actor, "points.appeal", entry.id, target_type="points_entry")
    return _one(session, entry.institute_id, entry.id)


def appeals_queue(session: Session, *, actor: Actor) -> list[PointsRow]:
    """Penalties waiting for an appeal decision, oldest appeal first (admins)."""
    actor.require(Role.ADMIN)
    query = _list_query(actor.institute_scope()).where(
        PointsEntry.status == PointsStatus.APPEALED.value
    )
    return _rows(session, query.order_by(col(PointsEntry.appealed_at), col(PointsEntry.id)))


def review_appeal(
    session: Session, *, actor: Actor, entry_id: int, outcome: str, note: str
) -> PointsRow:
    """Decide an appeal: uphold the penalty or reverse it (then it no longer counts), with a note
    the student reads (admins)."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    try:
        decision = AppealOutcome(outcome)
    except ValueError:
        raise ValidationError("Choose to uphold or reverse the penalty.", field="outcome") from None
    text = (note or "").strip()
    if not text:
        raise ValidationError("Write a note explaining the decision to the student.", field="note")
    if len(text) > MAX_APPEAL:
        raise ValidationError(f"Keep the note under {MAX_APPEAL} characters.", field="note")
    entry = owned(session, PointsEntry, entry_id, institute_id, "penalty")
    if entry.status != PointsStatus.APPEALED.value:
        raise Conflict("This penalty has no appeal waiting for a decision.")
    now = clock.now()
    entry.status = PointsStatus.RESOLVED.value
    entry.appeal_outcome = decision.value
    entry.resolution_note = text
    entry.resolved_by, entry.resolved_at, entry.updated_at = actor.user_id, now, now
    audit.save_audited(
        session,
        entry,
        actor=actor,
        action=f"points.appeal_{decision.value}",
        target_type="points_entry",
        detail={"student_id": entry.student_id, "points": entry.points},
    )
    return _one(session, institute_id, entry.id)


def _one(session: Session, institute_id: int, entry_id: int) -> PointsRow:
    return _rows(session, _list_query(institute_id).where(PointsEntry.id == entry_id))[0]


def students_to_grant(session: Session, *, actor: Actor) -> list[tuple[int, str]]:
    """Students the actor may give points to: (id, "name (enrolment no)"), by name."""
    actor.require(*GIVERS)
    institute_id = actor.institute_scope()
    query = select(Student.id, Student.name, Student.enrollment_no).where(
        Student.institute_id == institute_id, Student.status == StudentStatus.ACTIVE.value
    )
    query = query.where(_in_care(institute_id, actor, Student.id))
    rows = session.exec(query.order_by(Student.name)).all()
    return [(sid, f"{name} ({no})") for sid, name, no in rows]
