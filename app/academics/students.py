"""Students and guardians: records, status, counselors, and who may read which student."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.academics.common import COUNSELLING, STAFF
from app.academics.models import (
    Batch,
    BatchMembership,
    Guardian,
    Student,
    StudentStatus,
    TeacherProfile,
)
from app.core import audit, validation
from app.core.errors import Conflict, NotFound, ValidationError
from app.core.ownership import find_owned, get_owned
from app.core.phones import normalize_phone, search_digits
from app.core.roles import Role
from app.core.tenancy import Actor
from app.core.validation import normalize_email
from app.identity import service as identity
from app.identity.models import User


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
        institute_user_internal(
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
        phone=normalize_phone(phone, identity.phone_region_internal(session, institute_id)),
        email=normalize_email(email),
        date_of_birth=date_of_birth,
        status=StudentStatus(status).value,
        learning_style=learning_style or None,
        counselor_user_id=counselor_user_id,
    )
    audit.save_audited(
        session, student, "student.create", actor=actor, detail={"enrollment_no": enrollment_no}
    )
    return student


def institute_user_internal(
    session: Session,
    institute_id: int,
    user_id: int,
    roles: tuple[Role, ...],
    field: str,
    what: str,
) -> User:
    """A user id the caller supplied, checked to be a `roles` user of the actor's institute (a
    foreign key alone would accept another institute's user: FK checks ignore RLS)."""
    user = find_owned(session, User, user_id, institute_id)
    if user is None or user.role not in {r.value for r in roles}:
        raise ValidationError(f"Choose {what} of this institute.", field=field)
    return user


def update_student(session: Session, *, actor: Actor, student_id: int, **changes) -> Student:
    """Correct a student's details or status."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    student = get_owned(session, Student, actor, student_id, "student")
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
        region = identity.phone_region_internal(session, student.institute_id)
        changes["phone"] = normalize_phone(changes["phone"], region)
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"])
    if "status" in changes:
        changes["status"] = _status(changes["status"])
    if "name" in changes and not (changes["name"] or "").strip():
        raise ValidationError("Name is required.", field="name")
    if changes.get("counselor_user_id") is not None:
        institute_user_internal(
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
        audit.on(session, actor, "student.update", student.id, diff)
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
        terms = [func.lower(Student.name).like(like), func.lower(Student.enrollment_no).like(like)]
        if digits := search_digits(search):
            terms.append(col(Student.phone).like(f"%{digits}%"))
        query = query.where(or_(*terms))
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
    student = get_owned(session, Student, actor, student_id, "student")
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
    student = get_owned(session, Student, actor, student_id, "student")
    if not (name or "").strip():
        raise ValidationError("The guardian's name is required.", field="name")
    chat = validation.telegram_chat_id(telegram_chat_id)
    guardian = Guardian(
        institute_id=student.institute_id,
        student_id=student.id,
        name=name.strip(),
        phone=normalize_phone(phone, identity.phone_region_internal(session, student.institute_id)),
        telegram_chat_id=chat,
        relationship=relationship or "guardian",
    )
    session.add(guardian)
    session.flush()
    audit.on(session, actor, "guardian.create", student.id, target_type="student")
    return guardian


def set_progress_reports(
    session: Session, *, actor: Actor, guardian_id: int, receive: bool
) -> Guardian:
    """Whether a guardian gets the monthly progress report (they opt out by asking the office)."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    guardian = get_owned(session, Guardian, actor, guardian_id, "guardian")
    if guardian.progress_reports != receive:
        guardian.progress_reports = receive
        audit.save_audited(
            session, guardian, "guardian.progress_reports", actor=actor, detail={"receive": receive}
        )
    return guardian


def guardians_of(session: Session, *, actor: Actor, student_id: int) -> list[Guardian]:
    actor.require(*STAFF)
    get_owned(session, Student, actor, student_id, "student")
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
    institute_id = actor.institute_scope()
    user = find_owned(session, User, user_id, institute_id)
    if user is None or user.role != Role.TEACHER.value:
        raise NotFound("That teacher does not exist.")
    if max_hours_per_day is not None and not 1 <= max_hours_per_day <= 24:
        raise ValidationError("Hours per day are between 1 and 24.", field="max_hours_per_day")
    profile = session.exec(
        select(TeacherProfile).where(
            TeacherProfile.institute_id == institute_id, TeacherProfile.user_id == user_id
        )
    ).first()
    profile = profile or TeacherProfile(institute_id=institute_id, user_id=user_id)
    profile.specialization, profile.hourly_rate_minor, profile.max_hours_per_day = (
        specialization,
        hourly_rate_minor,
        max_hours_per_day,
    )
    session.add(profile)
    session.flush()
    return profile
