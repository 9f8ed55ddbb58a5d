"""People, syllabus and batches: what admins set up and teachers work with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.academics.models import (
    Batch,
    BatchMembership,
    BatchSchedule,
    BatchType,
    Enrollment,
    Guardian,
    Student,
    StudentStatus,
    Subject,
    TeacherProfile,
    Topic,
)
from app.core import audit, clock, events
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.core.ownership import all_owned, owned
from app.core.roles import Role
from app.core.tenancy import Actor
from app.core.validation import normalize_email, normalize_phone
from app.identity.models import User

STAFF = (Role.ADMIN, Role.TEACHER, Role.COUNSELOR)
COUNSELLING = (Role.COUNSELOR, Role.ADMIN)  # who may be a student's counselor
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _get(session: Session, model, actor: Actor, row_id: int, what: str):
    return owned(session, model, row_id, actor.institute_scope(), what)


# ------------------------------------------------------------------ students and guardians


def _status(value: str) -> str:
    try:
        return StudentStatus(value).value
    except ValueError as exc:
        allowed = ", ".join(s.value for s in StudentStatus)
        raise ValidationError(
            f"'{value}' is not a student status; use one of {allowed}.", field="status"
        ) from exc


LIMITS = {"name": 200, "enrollment_no": 40, "learning_style": 40, "level": 40}


def _check_lengths(**values) -> None:
    for key, value in values.items():
        if value and len(str(value)) > LIMITS[key]:
            raise ValidationError(
                f"{key.replace('_', ' ').capitalize()} is longer than {LIMITS[key]} characters.",
                field=key,
            )


def create_student(
    session: Session,
    *,
    actor: Actor,
    enrollment_no: str,
    name: str,
    phone: str | None = None,
    email: str | None = None,
    date_of_birth: date | None = None,
    status: str = StudentStatus.ACTIVE.value,
    learning_style: str | None = None,
    counselor_user_id: int | None = None,
) -> Student:
    """Add a student to the institute's register."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    institute_id = actor.institute_scope()
    enrollment_no = (enrollment_no or "").strip()
    if not enrollment_no:
        raise ValidationError("Enrollment number is required.", field="enrollment_no")
    if not (name or "").strip():
        raise ValidationError("Name is required.", field="name")
    status = _status(status)
    _check_lengths(name=name, enrollment_no=enrollment_no, learning_style=learning_style)
    if counselor_user_id is not None:
        _institute_user(
            session,
            institute_id,
            counselor_user_id,
            COUNSELLING,
            "counselor_user_id",
            "a counselor",
        )
    if session.exec(
        select(Student.id).where(
            Student.institute_id == institute_id, Student.enrollment_no == enrollment_no
        )
    ).first():
        raise Conflict(
            f"Enrollment number {enrollment_no} is already used in this institute.",
            field="enrollment_no",
        )
    student = Student(
        institute_id=institute_id,
        enrollment_no=enrollment_no,
        name=name.strip(),
        phone=normalize_phone(phone),
        email=normalize_email(email),
        date_of_birth=date_of_birth,
        status=StudentStatus(status).value,
        learning_style=learning_style or None,
        counselor_user_id=counselor_user_id,
    )
    session.add(student)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="student.create",
        target_type="student",
        target_id=student.id,
        detail={"enrollment_no": enrollment_no},
    )
    return student


def _institute_user(
    session: Session,
    institute_id: int,
    user_id: int,
    roles: tuple[Role, ...],
    field: str,
    what: str,
) -> User:
    """A user id the caller supplied, checked to be a `roles` user of the actor's institute (a
    foreign key alone would accept another institute's user: FK checks ignore RLS)."""
    user = session.get(User, user_id)
    if (
        user is None
        or user.institute_id != institute_id
        or user.role not in {r.value for r in roles}
    ):
        raise ValidationError(f"Choose {what} of this institute.", field=field)
    return user


def update_student(session: Session, *, actor: Actor, student_id: int, **changes) -> Student:
    """Correct a student's details or status."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    student = _get(session, Student, actor, student_id, "student")
    allowed = {
        "name",
        "phone",
        "email",
        "date_of_birth",
        "status",
        "learning_style",
        "counselor_user_id",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))}.")
    if "phone" in changes:
        changes["phone"] = normalize_phone(changes["phone"])
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"])
    if "status" in changes:
        changes["status"] = _status(changes["status"])
    if "name" in changes and not (changes["name"] or "").strip():
        raise ValidationError("Name is required.", field="name")
    if changes.get("counselor_user_id") is not None:
        _institute_user(
            session,
            student.institute_id,
            changes["counselor_user_id"],
            COUNSELLING,
            "counselor_user_id",
            "a counselor",
        )
    diff = {
        k: [str(getattr(student, k)), str(v)]
        for k, v in changes.items()
        if getattr(student, k) != v
    }
    for key, value in changes.items():
        setattr(student, key, value)
    session.add(student)
    session.flush()
    if diff:
        audit.record(
            session,
            actor=actor,
            action="student.update",
            target_type="student",
            target_id=student.id,
            detail=diff,
        )
    return student


def list_students(
    session: Session,
    *,
    actor: Actor,
    search: str | None = None,
    status: str | None = None,
    batch_id: int | None = None,
    limit: int = 500,
) -> list[Student]:
    """Students of the institute (a teacher: of their own batches), filtered."""
    actor.require(*STAFF)
    institute_id = actor.institute_scope()
    query = select(Student).where(Student.institute_id == institute_id)
    if actor.role == Role.TEACHER or batch_id is not None:
        members = (
            select(BatchMembership.student_id)
            .join(Batch, Batch.id == BatchMembership.batch_id)
            .where(
                BatchMembership.institute_id == institute_id, col(BatchMembership.left_on).is_(None)
            )
        )
        if actor.role == Role.TEACHER:
            members = members.where(Batch.teacher_user_id == actor.user_id)
        if batch_id is not None:
            members = members.where(BatchMembership.batch_id == batch_id)
        query = query.where(col(Student.id).in_(members))
    if status:
        query = query.where(Student.status == status)
    if search and search.strip():
        like = f"%{search.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Student.name).like(like),
                func.lower(Student.enrollment_no).like(like),
                col(Student.phone).like(like),
            )
        )
    return list(session.exec(query.order_by(Student.name).limit(limit)))


def ensure_student_scope(session: Session, *, actor: Actor, student_id: int) -> None:
    """Teachers reach only the students of their own batches (current members); others pass.
    Refused as "does not exist", like a student of another institute."""
    if actor.role != Role.TEACHER:
        return
    member = session.exec(
        select(BatchMembership.id)
        .join(Batch, Batch.id == BatchMembership.batch_id)
        .where(
            BatchMembership.institute_id == actor.institute_scope(),
            BatchMembership.student_id == student_id,
            col(BatchMembership.left_on).is_(None),
            Batch.teacher_user_id == actor.user_id,
        )
    ).first()
    if member is None:
        raise NotFound("That student does not exist.")


def get_student(session: Session, *, actor: Actor, student_id: int) -> Student:
    actor.require(*STAFF)
    student = _get(session, Student, actor, student_id, "student")
    ensure_student_scope(session, actor=actor, student_id=student.id)
    return student


def add_guardian(
    session: Session,
    *,
    actor: Actor,
    student_id: int,
    name: str,
    phone: str | None = None,
    telegram_chat_id: str | None = None,
    relationship: str = "guardian",
) -> Guardian:
    """Record a guardian who receives messages about a student."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    student = _get(session, Student, actor, student_id, "student")
    if not (name or "").strip():
        raise ValidationError("The guardian's name is required.", field="name")
    chat = (telegram_chat_id or "").strip() or None
    if chat is not None and not chat.lstrip("-").isdigit():
        raise ValidationError(
            "A Telegram chat id is a number, such as 123456789.", field="telegram_chat_id"
        )
    guardian = Guardian(
        institute_id=student.institute_id,
        student_id=student.id,
        name=name.strip(),
        phone=normalize_phone(phone),
        telegram_chat_id=chat,
        relationship=relationship or "guardian",
    )
    session.add(guardian)
    session.flush()
    audit.record(
        session, actor=actor, action="guardian.create", target_type="student", target_id=student.id
    )
    return guardian


def guardians_of(session: Session, *, actor: Actor, student_id: int) -> list[Guardian]:
    actor.require(*STAFF)
    _get(session, Student, actor, student_id, "student")
    ensure_student_scope(session, actor=actor, student_id=student_id)
    return list(
        session.exec(
            select(Guardian).where(
                Guardian.institute_id == actor.institute_scope(), Guardian.student_id == student_id
            )
        )
    )


def save_teacher_profile(
    session: Session,
    *,
    actor: Actor,
    user_id: int,
    specialization: str | None = None,
    hourly_rate_minor: int | None = None,
    max_hours_per_day: int | None = None,
) -> TeacherProfile:
    """Set a teacher's specialization, hourly rate and daily hours."""
    actor.require(Role.ADMIN)
    user = session.get(User, user_id)
    if (
        user is None
        or user.institute_id != actor.institute_scope()
        or user.role != Role.TEACHER.value
    ):
        raise NotFound("That teacher does not exist.")
    if max_hours_per_day is not None and not 1 <= max_hours_per_day <= 24:
        raise ValidationError("Hours per day are between 1 and 24.", field="max_hours_per_day")
    profile = session.exec(
        select(TeacherProfile).where(
            TeacherProfile.institute_id == user.institute_id, TeacherProfile.user_id == user_id
        )
    ).first()
    profile = profile or TeacherProfile(institute_id=user.institute_id, user_id=user_id)
    profile.specialization, profile.hourly_rate_minor, profile.max_hours_per_day = (
        specialization,
        hourly_rate_minor,
        max_hours_per_day,
    )
    session.add(profile)
    session.flush()
    return profile


# ------------------------------------------------------------------ syllabus


def create_subject(
    session: Session, *, actor: Actor, name: str, code: str | None = None
) -> Subject:
    actor.require(Role.ADMIN)
    if not (name or "").strip():
        raise ValidationError("The subject needs a name.", field="name")
    institute_id = actor.institute_scope()
    if session.exec(
        select(Subject.id).where(
            Subject.institute_id == institute_id, func.lower(Subject.name) == name.strip().lower()
        )
    ).first():
        raise Conflict(f"A subject called {name.strip()} already exists.", field="name")
    subject = Subject(institute_id=institute_id, name=name.strip(), code=code or None)
    session.add(subject)
    session.flush()
    return subject


def add_topic(
    session: Session,
    *,
    actor: Actor,
    subject_id: int,
    name: str,
    estimated_minutes: int = 60,
    difficulty: int = 3,
    prerequisites: list[int] | None = None,
) -> Topic:
    """Append a topic to a subject's syllabus."""
    actor.require(Role.ADMIN)
    subject = _get(session, Subject, actor, subject_id, "subject")
    if not (name or "").strip():
        raise ValidationError("The topic needs a name.", field="name")
    if estimated_minutes <= 0:
        raise ValidationError("Estimated minutes must be positive.", field="estimated_minutes")
    if not 1 <= difficulty <= 5:
        raise ValidationError("Difficulty is 1 (easy) to 5 (hard).", field="difficulty")
    prerequisites = all_owned(
        session,
        Topic,
        prerequisites or [],
        subject.institute_id,
        message="Prerequisites must be topics of this subject.",
        field="prerequisites",
        subject_id=subject.id,
    )
    last = session.exec(
        select(func.max(Topic.position)).where(
            Topic.institute_id == subject.institute_id, Topic.subject_id == subject.id
        )
    ).one()
    topic = Topic(
        institute_id=subject.institute_id,
        subject_id=subject.id,
        name=name.strip(),
        position=(last or 0) + 1,
        estimated_minutes=estimated_minutes,
        difficulty=difficulty,
        prerequisites=prerequisites or None,
    )
    session.add(topic)
    session.flush()
    return topic


def list_subjects(session: Session, *, actor: Actor) -> list[Subject]:
    actor.require(*STAFF)
    return list(
        session.exec(
            select(Subject)
            .where(Subject.institute_id == actor.institute_scope())
            .order_by(Subject.name)
        )
    )


def syllabus(session: Session, *, actor: Actor, subject_id: int) -> list[Topic]:
    actor.require(*STAFF)
    _get(session, Subject, actor, subject_id, "subject")
    return list(
        session.exec(
            select(Topic)
            .where(Topic.institute_id == actor.institute_scope(), Topic.subject_id == subject_id)
            .order_by(Topic.position)
        )
    )


# ------------------------------------------------------------------ batches, schedules, membership


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
    _get(session, Subject, actor, subject_id, "subject")
    if teacher_user_id is not None:
        _institute_user(
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
    session.add(batch)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="batch.create",
        target_type="batch",
        target_id=batch.id,
        detail={"name": batch.name},
    )
    return batch


def update_batch(session: Session, *, actor: Actor, batch_id: int, **changes) -> Batch:
    """Change a batch; `active=False` is the (soft) delete: history stays."""
    actor.require(Role.ADMIN)
    batch = _get(session, Batch, actor, batch_id, "batch")
    allowed = {"name", "teacher_user_id", "level", "type", "capacity", "active"}
    if set(changes) - allowed:
        raise ValidationError(f"Cannot change {', '.join(sorted(set(changes) - allowed))}.")
    if changes.get("teacher_user_id") is not None:
        _institute_user(
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
    session.add(batch)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="batch.update",
        target_type="batch",
        target_id=batch.id,
        detail={k: str(v) for k, v in changes.items()},
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
    batch = _get(session, Batch, actor, batch_id, "batch")
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
    audit.record(
        session,
        actor=actor,
        action="batch.schedule_add",
        target_type="batch",
        target_id=batch.id,
        detail={
            "weekday": WEEKDAYS[weekday],
            "start": start_time.isoformat(),
            "minutes": duration_minutes,
        },
    )
    return slot


def remove_schedule(session: Session, *, actor: Actor, schedule_id: int) -> BatchSchedule:
    actor.require(Role.ADMIN)
    slot = _get(session, BatchSchedule, actor, schedule_id, "schedule")
    slot.active = False
    session.add(slot)
    session.flush()
    return slot


def _member_count(session: Session, batch: Batch) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(BatchMembership)
            .where(
                BatchMembership.institute_id == batch.institute_id,
                BatchMembership.batch_id == batch.id,
                col(BatchMembership.left_on).is_(None),
            )
        ).one()
    )


def join_batch(
    session: Session, *, actor: Actor, batch_id: int, student_id: int, on: date | None = None
) -> BatchMembership:
    """Add a student to a batch (capacity and duplicate membership are checked)."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    batch = _get(session, Batch, actor, batch_id, "batch")
    student = _get(session, Student, actor, student_id, "student")
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
        joined_on=on or _local_today(session, batch.institute_id),
    )
    try:
        with session.begin_nested():
            session.add(membership)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{student.name} is already in {batch.name}.") from exc
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
    audit.record(
        session,
        actor=actor,
        action="batch.join",
        target_type="batch",
        target_id=batch.id,
        detail={"student_id": student.id},
    )
    return membership


def leave_batch(
    session: Session, *, actor: Actor, batch_id: int, student_id: int, on: date | None = None
) -> BatchMembership:
    """Take a student out of a batch; the membership stays in the history."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    batch = _get(session, Batch, actor, batch_id, "batch")
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
    membership.left_on = on or _local_today(session, batch.institute_id)
    session.add(membership)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="batch.leave",
        target_type="batch",
        target_id=batch.id,
        detail={"student_id": student_id},
    )
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
        BatchSummary(
            id=b.id,
            name=b.name,
            subject=subject,
            teacher=teacher,
            level=b.level,
            type=b.type,
            capacity=b.capacity,
            active=b.active,
            members=int(n or 0),
            schedule=", ".join(slots.get(b.id, [])),
            subject_id=b.subject_id,
        )
        for b, subject, teacher, n in rows
    ]


def batch_schedules(session: Session, *, actor: Actor, batch_id: int) -> list[BatchSchedule]:
    actor.require(*STAFF)
    _get(session, Batch, actor, batch_id, "batch")
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


def members_on_internal(session: Session, *, institute_id: int, batch_id: int, day: date) -> list[Student]:
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
        students = students.where(
            col(Student.id).in_(
                select(BatchMembership.student_id).where(
                    BatchMembership.institute_id == institute_id,
                    BatchMembership.batch_id == batch_id,
                    col(BatchMembership.left_on).is_(None),
                )
            )
        )
    rows = session.exec(students).all()
    student_ids = [sid for sid, _ in rows]
    if batch_id is None:
        user_ids = list(
            session.exec(
                select(User.id).where(User.institute_id == institute_id, User.status == "active")
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


def _local_today(session: Session, institute_id: int) -> date:
    from app.identity.models import Institute

    return clock.today_in(session.get(Institute, institute_id).timezone)


def enroll(
    session: Session,
    *,
    actor: Actor,
    student_id: int,
    subject_id: int,
    started_on: date | None = None,
    expected_completion: date | None = None,
) -> Enrollment:
    """Enrol a student in a subject (expected completion optional)."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    student = _get(session, Student, actor, student_id, "student")
    _get(session, Subject, actor, subject_id, "subject")
    existing = session.exec(
        select(Enrollment).where(
            Enrollment.institute_id == student.institute_id,
            Enrollment.student_id == student.id,
            Enrollment.subject_id == subject_id,
        )
    ).first()
    if existing is not None:
        raise Conflict(f"{student.name} is already enrolled in this subject.")
    enrollment = Enrollment(
        institute_id=student.institute_id,
        student_id=student.id,
        subject_id=subject_id,
        started_on=started_on or _local_today(session, student.institute_id),
        expected_completion=expected_completion,
    )
    session.add(enrollment)
    session.flush()
    return enrollment


def enrolments_of(
    session: Session, *, actor: Actor, student_id: int
) -> list[tuple[Enrollment, str]]:
    """A student's enrolments with their subject names."""
    actor.require(*STAFF)
    _get(session, Student, actor, student_id, "student")
    ensure_student_scope(session, actor=actor, student_id=student_id)
    return list(
        session.exec(
            select(Enrollment, Subject.name)
            .join(Subject, Subject.id == Enrollment.subject_id)
            .where(
                Enrollment.institute_id == actor.institute_scope(),
                Enrollment.student_id == student_id,
            )
            .order_by(Subject.name)
        ).all()
    )


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
    actor.require(*STAFF)
    return list(
        session.exec(
            select(User)
            .where(
                User.institute_id == actor.institute_scope(),
                User.role == Role.TEACHER.value,
                User.status != "disabled",
            )
            .order_by(User.name)
        )
    )


def ensure_teacher_scope(session: Session, *, actor: Actor, batch: Batch) -> None:
    """Teachers act only on their own batches; admins on all."""
    if actor.role == Role.TEACHER and batch.teacher_user_id != actor.user_id:
        raise PermissionDenied("This is not one of your batches.")


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
