"""Batches, their weekly schedules, teachers and members (joining, leaving, enrolments)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from typing import Any, TypeVar

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.academics.common import STAFF, WEEKDAYS, current_members, local_today_internal
from app.academics.enrolments import enrol_for_batch_internal
from app.academics.models import (
    Batch,
    BatchMembership,
    BatchSchedule,
    BatchType,
    Guardian,
    Student,
    StudentStatus,
    Subject,
    TeacherProfile,
)
from app.academics.students import institute_user_internal
from app.core import audit, db, events
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.core.ownership import get_owned
from app.core.roles import Role
from app.core.rows import carry
from app.core.tenancy import Actor
from app.identity.models import User, UserStatus


@dataclass(frozen=True)
class BatchSummary:
    id: int
    name: str
    subject: str
    teacher: str | None
    level: str | None
    type: str
    capacity: int | None
    active: bool
    members: int
    schedule: str
    subject_id: int | None = None


def create_batch(
    session: Session,
    *,
    actor: Actor,
    name: str,
    subject_id: int,
    teacher_user_id: int | None = None,
    level: str | None = None,
    type: str = BatchType.REGULAR.value,
    capacity: int | None = None,
) -> Batch:
    """Open a batch for a subject, with its teacher and capacity."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    if not (name or "").strip():
        raise ValidationError("The batch needs a name.", field="name")
    _check_subject_taught(get_owned(session, Subject, actor, subject_id, "subject"))
    if teacher_user_id is not None:
        institute_user_internal(
            session, institute_id, teacher_user_id, (Role.TEACHER,), "teacher_user_id", "a teacher"
        )
    if capacity is not None and capacity < 1:
        raise ValidationError(
            "Capacity must be at least 1 (or empty for no limit).", field="capacity"
        )
    if session.exec(
        select(Batch.id).where(
            Batch.institute_id == institute_id, func.lower(Batch.name) == name.strip().lower()
        )
    ).first():
        raise Conflict(f"A batch called {name.strip()} already exists.", field="name")
    batch = Batch(
        institute_id=institute_id,
        name=name.strip(),
        subject_id=subject_id,
        teacher_user_id=teacher_user_id,
        level=level or None,
        type=BatchType(type).value,
        capacity=capacity,
    )
    audit.save_audited(session, batch, "batch.create", actor=actor, detail={"name": batch.name})
    return batch


def _check_subject_taught(subject: Subject) -> None:
    """A batch opens (or reopens) only on a subject still taught."""
    if subject.archived_at is not None:
        raise ValidationError(
            f"{subject.name} is archived: restore it on the Syllabus page, or choose another "
            "subject.",
            field="subject_id",
        )


def update_batch(session: Session, *, actor: Actor, batch_id: int, **changes) -> Batch:
    """Change a batch; `active=False` is the (soft) delete: history stays."""
    actor.require(Role.ADMIN)
    batch = get_owned(session, Batch, actor, batch_id, "batch")
    allowed = {"name", "teacher_user_id", "level", "type", "capacity", "active"}
    if set(changes) - allowed:
        raise ValidationError(f"Cannot change {', '.join(sorted(set(changes) - allowed))}.")
    if changes.get("active") and not batch.active:  # reopening: its subject must be taught
        _check_subject_taught(get_owned(session, Subject, actor, batch.subject_id, "subject"))
    if changes.get("teacher_user_id") is not None:
        institute_user_internal(
            session,
            batch.institute_id,
            changes["teacher_user_id"],
            (Role.TEACHER,),
            "teacher_user_id",
            "a teacher",
        )
    if "capacity" in changes and changes["capacity"] is not None:
        members = _member_count(session, batch)
        if changes["capacity"] < members:
            raise ValidationError(
                f"The batch already has {members} students; capacity cannot be lower.",
                field="capacity",
            )
    if "type" in changes:
        try:
            changes["type"] = BatchType(changes["type"]).value
        except ValueError as exc:
            raise ValidationError(
                f"'{changes['type']}' is not a batch type.", field="type"
            ) from exc
    if "capacity" in changes and changes["capacity"] is not None and changes["capacity"] < 1:
        raise ValidationError(
            "Capacity must be at least 1 (or empty for no limit).", field="capacity"
        )
    if "name" in changes:
        new_name = (changes["name"] or "").strip()
        if not new_name:
            raise ValidationError("The batch needs a name.", field="name")
        clash = session.exec(
            select(Batch.id).where(
                Batch.institute_id == batch.institute_id,
                Batch.id != batch.id,
                func.lower(Batch.name) == new_name.lower(),
            )
        ).first()
        if clash:
            raise Conflict(f"A batch called {new_name} already exists.", field="name")
        changes["name"] = new_name
    for key, value in changes.items():
        setattr(batch, key, value)
    audit.save_audited(
        session, batch, "batch.update", actor=actor, detail={k: str(v) for k, v in changes.items()}
    )
    return batch


def add_schedule(
    session: Session,
    *,
    actor: Actor,
    batch_id: int,
    weekday: int,
    start_time: time,
    duration_minutes: int,
) -> BatchSchedule:
    """A weekly slot for a batch (weekday 0 = Monday)."""
    actor.require(Role.ADMIN)
    batch = get_owned(session, Batch, actor, batch_id, "batch")
    if not 0 <= weekday <= 6:
        raise ValidationError("Weekday is 0 (Monday) to 6 (Sunday).", field="weekday")
    if not 5 <= duration_minutes <= 600:
        raise ValidationError("A class lasts between 5 and 600 minutes.", field="duration_minutes")
    slot = BatchSchedule(
        institute_id=batch.institute_id,
        batch_id=batch.id,
        weekday=weekday,
        start_time=start_time,
        duration_minutes=duration_minutes,
    )
    session.add(slot)
    session.flush()
    audit.on(
        session,
        actor,
        "batch.schedule_add",
        batch.id,
        {
            "weekday": WEEKDAYS[weekday],
            "start": start_time.isoformat(),
            "minutes": duration_minutes,
        },
    )
    return slot


def remove_schedule(session: Session, *, actor: Actor, schedule_id: int) -> BatchSchedule:
    actor.require(Role.ADMIN)
    slot = get_owned(session, BatchSchedule, actor, schedule_id, "schedule")
    slot.active = False
    session.add(slot)
    session.flush()
    return slot


def _member_count(session: Session, batch: Batch) -> int:
    return int(
        db.count(
            session,
            BatchMembership,
            BatchMembership.institute_id == batch.institute_id,
            BatchMembership.batch_id == batch.id,
            col(BatchMembership.left_on).is_(None),
        )
    )


def join_batch(
    session: Session, *, actor: Actor, batch_id: int, student_id: int, on: date | None = None
) -> BatchMembership:
    """Add a student to a batch (capacity and duplicate membership are checked) and enrol them
    in its subject (or make their paused or dropped enrolment active again)."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    batch = get_owned(session, Batch, actor, batch_id, "batch")
    student = get_owned(session, Student, actor, student_id, "student")
    if not batch.active:
        raise ValidationError(f"{batch.name} is closed; reopen it before adding students.")
    existing = session.exec(
        select(BatchMembership.id).where(
            BatchMembership.institute_id == batch.institute_id,
            BatchMembership.batch_id == batch.id,
            BatchMembership.student_id == student.id,
            col(BatchMembership.left_on).is_(None),
        )
    ).first()
    if existing is not None:
        raise Conflict(f"{student.name} is already in {batch.name}.")
    if batch.capacity is not None and _member_count(session, batch) >= batch.capacity:
        raise Conflict(
            f"{batch.name} is full ({batch.capacity} students). Raise its capacity or choose another batch."
        )
    membership = BatchMembership(
        institute_id=batch.institute_id,
        batch_id=batch.id,
        student_id=student.id,
        joined_on=on or local_today_internal(session, batch.institute_id),
    )
    try:
        with session.begin_nested():
            session.add(membership)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{student.name} is already in {batch.name}.") from exc
    enrolment, enrolled = enrol_for_batch_internal(
        session,
        institute_id=batch.institute_id,
        student_id=student.id,
        subject_id=batch.subject_id,
        teacher_user_id=batch.teacher_user_id,
        on=membership.joined_on,
        batch_name=batch.name,
    )
    # Coursework (above academics) gives the newcomer the batch's open work.
    events.publish(
        session,
        events.StudentsJoinedBatch(
            institute_id=batch.institute_id,
            batch_id=batch.id,
            student_ids=(student.id,),
            on=membership.joined_on,
        ),
    )
    audit.on(
        session,
        actor,
        "batch.join",
        batch.id,
        {"student_id": student.id, "enrolment_id": enrolment.id, "enrolment": enrolled},
    )
    return membership


def leave_batch(
    session: Session, *, actor: Actor, batch_id: int, student_id: int, on: date | None = None
) -> BatchMembership:
    """Take a student out of a batch; the membership stays in the history."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    batch = get_owned(session, Batch, actor, batch_id, "batch")
    membership = session.exec(
        select(BatchMembership).where(
            BatchMembership.institute_id == batch.institute_id,
            BatchMembership.batch_id == batch.id,
            BatchMembership.student_id == student_id,
            col(BatchMembership.left_on).is_(None),
        )
    ).first()
    if membership is None:
        raise NotFound("That student is not in this batch.")
    membership.left_on = on or local_today_internal(session, batch.institute_id)
    session.add(membership)
    session.flush()
    audit.on(session, actor, "batch.leave", batch.id, {"student_id": student_id})
    return membership


def list_batches(
    session: Session, *, actor: Actor, include_inactive: bool = False
) -> list[BatchSummary]:
    """Batches with member counts and schedules (a teacher: their own), in three queries."""
    actor.require(*STAFF)
    institute_id = actor.institute_scope()
    members = (
        select(BatchMembership.batch_id, func.count().label("n"))
        .where(BatchMembership.institute_id == institute_id, col(BatchMembership.left_on).is_(None))
        .group_by(BatchMembership.batch_id)
        .subquery()
    )
    query = (
        select(Batch, Subject.name, User.name, members.c.n)
        .join(Subject, Subject.id == Batch.subject_id)
        .outerjoin(User, User.id == Batch.teacher_user_id)
        .outerjoin(members, members.c.batch_id == Batch.id)
        .where(Batch.institute_id == institute_id)
    )
    if not include_inactive:
        query = query.where(col(Batch.active).is_(True))
    if actor.role == Role.TEACHER:
        query = query.where(Batch.teacher_user_id == actor.user_id)
    rows = session.exec(query.order_by(Batch.name)).all()
    slots: dict[int, list[str]] = {}
    for slot in session.exec(
        select(BatchSchedule)
        .where(BatchSchedule.institute_id == institute_id, col(BatchSchedule.active).is_(True))
        .order_by(BatchSchedule.weekday, BatchSchedule.start_time)
    ):
        slots.setdefault(slot.batch_id, []).append(
            f"{WEEKDAYS[slot.weekday][:3]} {slot.start_time:%H:%M} ({slot.duration_minutes} min)"
        )
    return [
        carry(
            BatchSummary,
            b,
            subject=subject,
            teacher=teacher,
            members=int(n or 0),
            schedule=", ".join(slots.get(b.id, [])),
        )
        for b, subject, teacher, n in rows
    ]


def batch_schedules(session: Session, *, actor: Actor, batch_id: int) -> list[BatchSchedule]:
    actor.require(*STAFF)
    get_owned(session, Batch, actor, batch_id, "batch")
    return list(
        session.exec(
            select(BatchSchedule)
            .where(
                BatchSchedule.institute_id == actor.institute_scope(),
                BatchSchedule.batch_id == batch_id,
                col(BatchSchedule.active).is_(True),
            )
            .order_by(BatchSchedule.weekday, BatchSchedule.start_time)
        )
    )


def members_on_internal(
    session: Session, *, institute_id: int, batch_id: int, day: date
) -> list[Student]:
    """Students in a batch on a given day, by name (attendance sheets use this)."""
    return list(
        session.exec(
            select(Student)
            .join(BatchMembership, BatchMembership.student_id == Student.id)
            .where(
                BatchMembership.institute_id == institute_id,
                BatchMembership.batch_id == batch_id,
                BatchMembership.joined_on <= day,
                (col(BatchMembership.left_on).is_(None)) | (BatchMembership.left_on > day),
            )
            .order_by(Student.name)
        )
    )


def member_counts_on_internal(
    session: Session, *, institute_id: int, batch_ids: set[int], day: date
) -> dict[int, int]:
    """How many students each batch had on a day, in one grouped query."""
    if not batch_ids:
        return {}
    rows = session.exec(
        select(BatchMembership.batch_id, func.count())
        .where(
            BatchMembership.institute_id == institute_id,
            col(BatchMembership.batch_id).in_(batch_ids),
            BatchMembership.joined_on <= day,
            (col(BatchMembership.left_on).is_(None)) | (BatchMembership.left_on > day),
        )
        .group_by(BatchMembership.batch_id)
    ).all()
    return {batch_id: int(n) for batch_id, n in rows}


def announcement_audience_internal(
    session: Session, *, institute_id: int, batch_id: int | None
) -> tuple[list[int], list[tuple[int, str]]]:
    """Who an announcement reaches: user ids for in-app (the batch's students, or every active
    user of the institute) and (guardian id, Telegram chat) of the students' guardians."""
    students = select(Student.id, Student.user_id).where(
        Student.institute_id == institute_id, Student.status == StudentStatus.ACTIVE.value
    )
    if batch_id is not None:
        students = students.where(col(Student.id).in_(current_members(institute_id, batch_id)))
    rows = session.exec(students).all()
    student_ids = [sid for sid, _ in rows]
    if batch_id is None:
        user_ids = list(
            session.exec(
                select(User.id).where(
                    User.institute_id == institute_id, User.status == UserStatus.ACTIVE.value
                )
            )
        )
    else:
        user_ids = [uid for _, uid in rows if uid]
    chats: list[tuple[int, str]] = []
    for start in range(0, len(student_ids), 900):
        chats += list(
            session.exec(
                select(Guardian.id, Guardian.telegram_chat_id).where(
                    Guardian.institute_id == institute_id,
                    col(Guardian.student_id).in_(student_ids[start : start + 900]),
                    col(Guardian.telegram_chat_id).is_not(None),
                )
            )
        )
    return user_ids, chats


def guardian_chat_of_student_user_internal(
    session: Session, *, institute_id: int, user_id: int
) -> str | None:
    """The Telegram chat of the first guardian (with one) of the student who signs in as `user_id`."""
    return session.exec(
        select(Guardian.telegram_chat_id)
        .join(Student, Student.id == Guardian.student_id)
        .where(
            Student.institute_id == institute_id,
            Student.user_id == user_id,
            col(Guardian.telegram_chat_id).is_not(None),
        )
        .order_by(Guardian.id)
    ).first()


def teacher_profiles(session: Session, *, actor: Actor) -> list[tuple[User, TeacherProfile | None]]:
    """Every teacher of the institute with their profile (if one was saved)."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    return list(
        session.exec(
            select(User, TeacherProfile)
            .outerjoin(
                TeacherProfile,
                (TeacherProfile.user_id == User.id) & (TeacherProfile.institute_id == institute_id),
            )
            .where(User.institute_id == institute_id, User.role == Role.TEACHER.value)
            .order_by(User.name)
        ).all()
    )


def teachers(session: Session, *, actor: Actor) -> list[User]:
    """The institute's teachers who are not disabled, by name."""
    return _staff(session, actor, Role.TEACHER)


def counselors(session: Session, *, actor: Actor) -> list[User]:
    """The institute's counselors who are not disabled, by name."""
    return _staff(session, actor, Role.COUNSELOR)


def _staff(session: Session, actor: Actor, role: Role) -> list[User]:
    actor.require(*STAFF)
    return list(
        session.exec(
            select(User)
            .where(
                User.institute_id == actor.institute_scope(),
                User.role == role.value,
                User.status != UserStatus.DISABLED.value,
            )
            .order_by(User.name)
        )
    )


def ensure_teacher_scope(session: Session, *, actor: Actor, batch: Batch) -> None:
    """Teachers act only on their own batches; admins on all."""
    if actor.role == Role.TEACHER and batch.teacher_user_id != actor.user_id:
        raise PermissionDenied("This is not one of your batches.")


def taught_batch(session: Session, *, actor: Actor, batch_id: int | None) -> Batch:
    """A batch of the actor's institute that the actor may teach in (admins: any)."""
    batch = get_owned(session, Batch, actor, batch_id, "batch")
    ensure_teacher_scope(session, actor=actor, batch=batch)
    return batch


NO_STUDENT_RECORD = "Your account is not linked to a student record yet; ask the office."


def my_student(session: Session, *, actor: Actor) -> Student:
    """The signed-in student's own record (from the session, never a parameter); refused with a
    clear message when the account has no student record linked."""
    actor.require(Role.STUDENT)
    student = session.exec(
        select(Student).where(
            Student.institute_id == actor.institute_scope(), Student.user_id == actor.user_id
        )
    ).first()
    if student is None:
        raise NotFound(NO_STUDENT_RECORD)
    return student


T = TypeVar("T")


def for_my_student(
    session: Session, actor: Actor, internal: Callable[..., T], /, **kwargs: Any
) -> T:
    """`internal` (a trusted function of `institute_id` and `student_id`) for the signed-in
    student's own record, so a student's page and a guardian's question read the same thing."""
    student = my_student(session, actor=actor)
    return internal(session, institute_id=student.institute_id, student_id=student.id, **kwargs)


def my_student_ids(actor: Actor) -> SelectOfScalar[Any]:
    """A subquery: the id of the signed-in student's own record (none when not linked), for
    filtering their invoices, payments and the like in one statement."""
    actor.require(Role.STUDENT)
    return select(Student.id).where(
        Student.institute_id == actor.institute_scope(), Student.user_id == actor.user_id
    )


def has_student_record(session: Session, *, actor: Actor) -> bool:
    """Whether the signed-in student's account is linked to a student record."""
    return session.exec(my_student_ids(actor)).first() is not None
