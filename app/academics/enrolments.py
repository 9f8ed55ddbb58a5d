"""Enrolments of students in subjects: made when a student joins a batch (or is enrolled by the
office), with a teacher, an expected completion and a status that moves active ⇄ paused, →
dropped or completed, each change dated, explained and audited. Completion % is kept by
attendance (after each class and by a daily job), which reads the syllabus and topic progress."""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert
from sqlmodel import Session, col, select

from app.academics.common import STAFF, local_today_internal
from app.academics.models import (
    Batch,
    BatchMembership,
    Enrollment,
    EnrollmentStatus,
    Student,
    Subject,
)
from app.academics.students import ensure_student_scope, institute_user_internal
from app.core import audit, db
from app.core.errors import Conflict, PermissionDenied, ValidationError
from app.core.ownership import get_owned
from app.core.roles import Role
from app.core.tenancy import Actor
from app.identity.models import User

ACTIVE, PAUSED, DROPPED, COMPLETED = (
    EnrollmentStatus.ACTIVE.value,
    EnrollmentStatus.PAUSED.value,
    EnrollmentStatus.DROPPED.value,
    EnrollmentStatus.COMPLETED.value,
)
# Where a status may go next. Completed and dropped come back to active only (reopened,
# re-enrolled); a paused enrolment resumes (or is dropped) before it can be completed.
TRANSITIONS: dict[str, set[str]] = {
    ACTIVE: {PAUSED, DROPPED, COMPLETED},
    PAUSED: {ACTIVE, DROPPED},
    DROPPED: {ACTIVE},
    COMPLETED: {ACTIVE},
}
REASON_NEEDED = {PAUSED, DROPPED}
REASON_MAX = 300
# Who changes an enrolment's status, teacher or expected completion: the office (admins).
# Pausing or dropping a student touches fees and the family; teachers see the result.
MANAGING = (Role.ADMIN,)


def enrol_for_batch_internal(
    session: Session,
    *,
    institute_id: int,
    student_id: int,
    subject_id: int,
    teacher_user_id: int | None,
    on: date,
    batch_name: str,
) -> tuple[Enrollment, str]:
    """The student's enrolment in the subject of a batch they join: made when there is none,
    made active again when it was paused or dropped (a completed one stays completed). Returns
    the enrolment and what happened: "created", "reactivated" or "kept". The one path by which
    joining a batch — from the office, an inquiry's conversion or an import — enrols."""
    enrolment = session.exec(
        select(Enrollment).where(
            Enrollment.institute_id == institute_id,
            Enrollment.student_id == student_id,
            Enrollment.subject_id == subject_id,
        )
    ).first()
    if enrolment is None:
        enrolment = Enrollment(
            institute_id=institute_id,
            student_id=student_id,
            subject_id=subject_id,
            started_on=on,
            teacher_user_id=teacher_user_id,
            status=ACTIVE,
            status_changed_on=on,
        )
        if not db.add_unless_duplicate(session, enrolment):
            # Enrolled a moment ago by a concurrent join: use that one.
            return enrol_for_batch_internal(
                session,
                institute_id=institute_id,
                student_id=student_id,
                subject_id=subject_id,
                teacher_user_id=teacher_user_id,
                on=on,
                batch_name=batch_name,
            )
        return enrolment, "created"
    what = "kept"
    if enrolment.status in (PAUSED, DROPPED):
        enrolment.status = ACTIVE
        enrolment.status_changed_on = on
        enrolment.status_reason = f"Joined {batch_name}"[:REASON_MAX]
        what = "reactivated"
    if enrolment.teacher_user_id is None and teacher_user_id is not None:
        enrolment.teacher_user_id = teacher_user_id
    session.add(enrolment)
    session.flush()
    return enrolment, what


def enrol_new_students_internal(
    session: Session, *, institute_id: int, joins: list[tuple[int, int]], on: date
) -> int:
    """Enrolments for students just created and put in batches (the import): one per (student,
    batch subject), with the batch's teacher, in two statements. The students are new, so none
    has an enrolment yet. `joins`: (student id, batch id)."""
    if not joins:
        return 0
    batches = {
        batch_id: (subject_id, teacher_id)
        for batch_id, subject_id, teacher_id in session.exec(
            select(Batch.id, Batch.subject_id, Batch.teacher_user_id).where(
                Batch.institute_id == institute_id,
                col(Batch.id).in_(sorted({b for _, b in joins})),
            )
        ).all()
    }
    rows: dict[tuple[int, int], dict[str, object]] = {}
    for student_id, batch_id in joins:
        subject_id, teacher_id = batches[batch_id]
        rows.setdefault(
            (student_id, subject_id),
            {
                "institute_id": institute_id,
                "student_id": student_id,
                "subject_id": subject_id,
                "started_on": on,
                "completion_pct": 0.0,
                "status": ACTIVE,
                "teacher_user_id": teacher_id,
                "status_changed_on": on,
            },
        )
    session.execute(insert(Enrollment), list(rows.values()))
    return len(rows)


def enroll(
    session: Session,
    *,
    actor: Actor,
    student_id: int,
    subject_id: int,
    started_on: date | None = None,
    expected_completion: date | None = None,
    teacher_user_id: int | None = None,
) -> Enrollment:
    """Enrol a student in a subject (teacher and expected completion optional)."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    student = get_owned(session, Student, actor, student_id, "student")
    subject = get_owned(session, Subject, actor, subject_id, "subject")
    if subject.archived_at is not None:
        raise ValidationError(f"{subject.name} is archived; restore it before enrolling.")
    if teacher_user_id is not None:
        institute_user_internal(
            session,
            student.institute_id,
            teacher_user_id,
            (Role.TEACHER,),
            "teacher_user_id",
            "a teacher",
        )
    existing = session.exec(
        select(Enrollment.id).where(
            Enrollment.institute_id == student.institute_id,
            Enrollment.student_id == student.id,
            Enrollment.subject_id == subject_id,
        )
    ).first()
    if existing is not None:
        raise Conflict(f"{student.name} is already enrolled in {subject.name}.")
    start = started_on or local_today_internal(session, student.institute_id)
    if expected_completion is not None and expected_completion < start:
        raise ValidationError(
            "The expected completion is before the start.", field="expected_completion"
        )
    enrollment = Enrollment(
        institute_id=student.institute_id,
        student_id=student_id,
        subject_id=subject_id,
        started_on=start,
        expected_completion=expected_completion,
        teacher_user_id=teacher_user_id,
        status_changed_on=start,
    )
    audit.save_audited(
        session,
        enrollment,
        "enrolment.create",
        actor=actor,
        detail={"student_id": student.id, "subject_id": subject_id},
    )
    return enrollment


def change_enrolment_status(
    session: Session,
    *,
    actor: Actor,
    enrolment_id: int,
    status: str,
    reason: str | None = None,
    on: date | None = None,
) -> Enrollment:
    """Pause, resume, drop, complete or reopen a student's enrolment, with the day and (to pause
    or drop) a reason. Admins, and a teacher for a student they teach the subject to (in one of
    their batches now)."""
    actor.require(*MANAGING, Role.TEACHER)
    enrolment = get_owned(session, Enrollment, actor, enrolment_id, "enrolment")
    if actor.role == Role.TEACHER:
        _teaches(session, actor, enrolment)
    try:
        new = EnrollmentStatus(status).value
    except ValueError as exc:
        raise ValidationError(
            f"'{status}' is not an enrolment status; use active, paused, dropped or completed.",
            field="status",
        ) from exc
    old = enrolment.status
    if new == old:
        raise Conflict(f"This enrolment is already {old}.")
    if new not in TRANSITIONS.get(old, set()):
        hint = " Resume it first." if old == PAUSED and new == COMPLETED else ""
        raise ValidationError(
            f"A {old} enrolment cannot become {new}; it can become "
            f"{' or '.join(sorted(TRANSITIONS.get(old, set())))}.{hint}",
            field="status",
        )
    clean = (reason or "").strip() or None
    if new in REASON_NEEDED and clean is None:
        raise ValidationError(f"Say why the enrolment is {new}.", field="reason")
    if clean is not None and len(clean) > REASON_MAX:
        raise ValidationError(f"The reason is at most {REASON_MAX} characters.", field="reason")
    day = on or local_today_internal(session, enrolment.institute_id)
    if day < enrolment.started_on:
        raise ValidationError(
            f"The enrolment started on {enrolment.started_on:%d %b %Y}; choose a later day.",
            field="on",
        )
    enrolment.status = new
    enrolment.status_changed_on = day
    enrolment.status_reason = clean
    enrolment.completed_on = day if new == COMPLETED else None
    audit.save_audited(
        session,
        enrolment,
        "enrolment.status",
        actor=actor,
        detail={
            "student_id": enrolment.student_id,
            "subject_id": enrolment.subject_id,
            "from": old,
            "to": new,
            "on": day.isoformat(),
            "reason": clean,
        },
    )
    return enrolment


def _teaches(session: Session, actor: Actor, enrolment: Enrollment) -> None:
    """Refuse a teacher who does not teach this student this subject in a batch now."""
    taught = session.exec(
        select(BatchMembership.id)
        .join(Batch, col(Batch.id) == col(BatchMembership.batch_id))
        .where(
            BatchMembership.institute_id == enrolment.institute_id,
            BatchMembership.student_id == enrolment.student_id,
            col(BatchMembership.left_on).is_(None),
            Batch.teacher_user_id == actor.user_id,
            Batch.subject_id == enrolment.subject_id,
        )
    ).first()
    if taught is None:
        raise PermissionDenied("You change enrolments only of students you teach that subject.")


def update_enrolment(
    session: Session,
    *,
    actor: Actor,
    enrolment_id: int,
    teacher_user_id: int | None,
    expected_completion: date | None,
) -> Enrollment:
    """Set an enrolment's teacher and expected completion date (either may be cleared)."""
    actor.require(*MANAGING)
    enrolment = get_owned(session, Enrollment, actor, enrolment_id, "enrolment")
    if teacher_user_id is not None:
        institute_user_internal(
            session,
            enrolment.institute_id,
            teacher_user_id,
            (Role.TEACHER,),
            "teacher_user_id",
            "a teacher",
        )
    if expected_completion is not None and expected_completion < enrolment.started_on:
        raise ValidationError(
            f"The expected completion is before the start ({enrolment.started_on:%d %b %Y}).",
            field="expected_completion",
        )
    before = {
        "teacher_user_id": enrolment.teacher_user_id,
        "expected_completion": str(enrolment.expected_completion or ""),
    }
    enrolment.teacher_user_id = teacher_user_id
    enrolment.expected_completion = expected_completion
    audit.save_audited(
        session,
        enrolment,
        "enrolment.update",
        actor=actor,
        detail={
            "before": before,
            "after": {
                "teacher_user_id": teacher_user_id,
                "expected_completion": str(expected_completion or ""),
            },
        },
    )
    return enrolment


def enrolments_of(
    session: Session, *, actor: Actor, student_id: int
) -> list[tuple[Enrollment, str, str | None]]:
    """A student's enrolments with their subject names and teachers' names, in one query."""
    actor.require(*STAFF)
    get_owned(session, Student, actor, student_id, "student")
    ensure_student_scope(session, actor=actor, student_id=student_id)
    return [
        (enrolment, subject, teacher)
        for enrolment, subject, teacher in session.exec(
            select(Enrollment, Subject.name, User.name)
            .join(Subject, col(Subject.id) == Enrollment.subject_id)
            .outerjoin(User, col(User.id) == Enrollment.teacher_user_id)
            .where(
                Enrollment.institute_id == actor.institute_scope(),
                Enrollment.student_id == student_id,
            )
            .order_by(col(Subject.name))
        ).all()
    ]
