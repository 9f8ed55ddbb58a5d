"""Homework and assessments: set for a batch, marked for the whole batch in one table, graded on
the institute's scale; results feed topic progress; one report card per student.

Homework: creating it writes one submission (assigned) per current batch member. Marking sets
submitted / late / missing / graded with the hand-in date; `on_time` is always derived from that
date (handed in on or before the due date), never typed. Work still `assigned` after its due
date becomes `missing` (the daily `homework_missing` job).

Assessments: creating one writes one result row per current batch member; entering marks sets
percentage = marks / max × 100 (2 decimals) and the grade from the institute's scale.

Teachers act only on the batches they teach, admins on every batch of their institute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import case, delete, func, insert, literal, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.academics import service as academics
from app.academics.models import Batch, BatchMembership, Student, Subject, Topic
from app.attendance import service as attendance_service
from app.attendance.models import AttendanceRecord, ClassSession, Mark, TopicProgress
from app.core import audit, clock, events
from app.core.errors import NotFound, PermissionDenied, ValidationError
from app.core.roles import Role
from app.core.tenancy import Actor
from app.coursework import reportcard
from app.coursework.models import (
    Assessment,
    AssessmentKind,
    AssessmentResult,
    GradeBand,
    Homework,
    HomeworkSubmission,
    SubmissionStatus,
)
from app.identity.models import Institute

DEFAULT_SCALE: tuple[tuple[str, float], ...] = (
    ("A+", 90),
    ("A", 80),
    ("B", 70),
    ("C", 60),
    ("D", 50),
    ("E", 40),
    ("F", 0),
)
TEACHING = (Role.ADMIN, Role.TEACHER)
STAFF = (Role.ADMIN, Role.TEACHER, Role.COUNSELOR)
HANDED_IN = (
    SubmissionStatus.SUBMITTED.value,
    SubmissionStatus.LATE.value,
    SubmissionStatus.GRADED.value,
)


# ------------------------------------------------------------------ helpers


def _today(session: Session, institute_id: int) -> date:
    return clock.today_in(session.get(Institute, institute_id).timezone)


def _batch(session: Session, actor: Actor, batch_id: int) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None or batch.institute_id != actor.institute_scope():
        raise NotFound("That batch does not exist.")
    academics.ensure_teacher_scope(session, actor=actor, batch=batch)
    return batch


def _open_batch(session: Session, actor: Actor, batch_id: int) -> Batch:
    batch = _batch(session, actor, batch_id)
    if not batch.active:
        raise ValidationError(f"{batch.name} is closed; reopen it before setting work.")
    return batch


def _homework(session: Session, actor: Actor, homework_id: int) -> tuple[Homework, Batch]:
    homework = session.get(Homework, homework_id)
    if homework is None or homework.institute_id != actor.institute_scope():
        raise NotFound("That homework does not exist.")
    return homework, _batch(session, actor, homework.batch_id)


def _assessment(session: Session, actor: Actor, assessment_id: int) -> tuple[Assessment, Batch]:
    assessment = session.get(Assessment, assessment_id)
    if assessment is None or assessment.institute_id != actor.institute_scope():
        raise NotFound("That assessment does not exist.")
    return assessment, _batch(session, actor, assessment.batch_id)


def _check_topic(
    session: Session, institute_id: int, subject_id: int, topic_id: int | None
) -> Topic | None:
    if topic_id is None:
        return None
    topic = session.get(Topic, topic_id)
    if topic is None or topic.institute_id != institute_id or topic.subject_id != subject_id:
        raise ValidationError("Choose a topic from the subject's syllabus.", field="topic_id")
    return topic


def _title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationError("Give it a title.", field="title")
    if len(title) > 200:
        raise ValidationError("The title is longer than 200 characters.", field="title")
    return title


def _current_members(institute_id: int, batch_id: int):
    """The batch's current members (membership not ended), as a subquery-ready select."""
    return select(BatchMembership.student_id).where(
        BatchMembership.institute_id == institute_id,
        BatchMembership.batch_id == batch_id,
        col(BatchMembership.left_on).is_(None),
    )


def _number(value, what: str) -> float | None:
    """A mark from a form or table: None/empty/NaN is no mark; anything else must be a number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{what}: '{value}' is not a number.") from None
    return None if math.isnan(number) else number


def _as_date(value, what: str) -> date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValidationError(f"{what}: '{value}' is not a date.") from None


def _text(value, limit: int, what: str) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if len(text) > limit:
        raise ValidationError(f"{what} is longer than {limit} characters.")
    return text or None


def batch_topics(
    session: Session, *, actor: Actor, batch_id: int, subject_id: int | None = None
) -> list[Topic]:
    """The syllabus of a batch's subject (or of another subject the batch is tested on), to
    choose the topic of homework or a test."""
    actor.require(*TEACHING)
    batch = _batch(session, actor, batch_id)
    return list(
        session.exec(
            select(Topic)
            .where(
                Topic.institute_id == batch.institute_id,
                Topic.subject_id == (subject_id or batch.subject_id),
            )
            .order_by(Topic.position)
        )
    )


def give_open_work_internal(
    session: Session, *, institute_id: int, batch_id: int, student_ids: list[int], on: date
) -> tuple[int, int]:
    """Students joining a batch get its homework not yet due and its assessments not yet held
    (empty rows to fill in, as the others got when the work was set), so they are marked,
    chased and counted like everyone else. Work they already have a row for is left alone.
    Returns (homework rows, assessment rows) added. Called by academics when students join."""
    if not student_ids:
        return 0, 0
    joiners = (
        select(Student.id.label("student_id"))
        .where(Student.institute_id == institute_id, col(Student.id).in_(student_ids))
        .subquery()
    )
    has_row = (
        select(HomeworkSubmission.id)
        .where(
            HomeworkSubmission.institute_id == institute_id,
            HomeworkSubmission.homework_id == Homework.id,
            HomeworkSubmission.student_id == joiners.c.student_id,
        )
        .exists()
    )
    homework = session.execute(
        insert(HomeworkSubmission).from_select(
            ["institute_id", "homework_id", "student_id", "status", "on_time"],
            select(
                literal(institute_id),
                Homework.id,
                joiners.c.student_id,
                literal(SubmissionStatus.ASSIGNED.value),
                literal(False),
            )
            .select_from(Homework)
            .join(joiners, literal(True))
            .where(
                Homework.institute_id == institute_id,
                Homework.batch_id == batch_id,
                Homework.due_on >= on,
                ~has_row,
            ),
        )
    ).rowcount
    has_result = (
        select(AssessmentResult.id)
        .where(
            AssessmentResult.institute_id == institute_id,
            AssessmentResult.assessment_id == Assessment.id,
            AssessmentResult.student_id == joiners.c.student_id,
        )
        .exists()
    )
    results = session.execute(
        insert(AssessmentResult).from_select(
            ["institute_id", "assessment_id", "student_id", "absent"],
            select(literal(institute_id), Assessment.id, joiners.c.student_id, literal(False))
            .select_from(Assessment)
            .join(joiners, literal(True))
            .where(
                Assessment.institute_id == institute_id,
                Assessment.batch_id == batch_id,
                Assessment.held_on >= on,
                ~has_result,
            ),
        )
    ).rowcount
    session.flush()
    return homework, results


# ------------------------------------------------------------------ homework


def create_homework(
    session: Session,
    *,
    actor: Actor,
    batch_id: int,
    title: str,
    due_on: date,
    instructions: str = "",
    assigned_on: date | None = None,
    topic_id: int | None = None,
    max_marks: float | None = None,
) -> Homework:
    """Set homework for a batch: every current member gets it (one bulk insert)."""
    actor.require(*TEACHING)
    batch = _open_batch(session, actor, batch_id)
    title = _title(title)
    assigned_on = assigned_on or _today(session, batch.institute_id)
    if due_on is None:
        raise ValidationError("Choose the due date.", field="due_on")
    if due_on < assigned_on:
        raise ValidationError(
            f"The due date {due_on:%d %b %Y} is before the day it is set ({assigned_on:%d %b %Y}).",
            field="due_on",
        )
    max_marks = _number(max_marks, "Maximum marks")
    if max_marks is not None and max_marks <= 0:
        raise ValidationError(
            "Maximum marks must be more than zero (or leave it empty).", field="max_marks"
        )
    _check_topic(session, batch.institute_id, batch.subject_id, topic_id)
    homework = Homework(
        institute_id=batch.institute_id,
        batch_id=batch.id,
        topic_id=topic_id,
        title=title,
        instructions=(instructions or "").strip(),
        assigned_on=assigned_on,
        due_on=due_on,
        max_marks=max_marks,
        created_by=actor.user_id,
    )
    session.add(homework)
    session.flush()
    members = _current_members(batch.institute_id, batch.id).subquery()
    students = session.execute(
        insert(HomeworkSubmission).from_select(
            ["institute_id", "homework_id", "student_id", "status", "on_time"],
            select(
                literal(batch.institute_id),
                literal(homework.id),
                members.c.student_id,
                literal(SubmissionStatus.ASSIGNED.value),
                literal(False),
            ),
        )
    ).rowcount
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="homework.create",
        target_type="homework",
        target_id=homework.id,
        detail={"batch_id": batch.id, "due_on": str(due_on), "students": students},
    )
    return homework


@dataclass(frozen=True)
class HomeworkSummary:
    id: int
    title: str
    assigned_on: date
    due_on: date
    max_marks: float | None
    topic: str | None
    students: int
    handed_in: int
    on_time: int
    missing: int
    graded: int


def list_homework(session: Session, *, actor: Actor, batch_id: int) -> list[HomeworkSummary]:
    """A batch's homework, newest due date first, with how many handed it in (two queries)."""
    actor.require(*TEACHING)
    batch = _batch(session, actor, batch_id)
    rows = session.exec(
        select(Homework, Topic.name)
        .outerjoin(Topic, Topic.id == Homework.topic_id)
        .where(Homework.institute_id == batch.institute_id, Homework.batch_id == batch.id)
        .order_by(col(Homework.due_on).desc(), col(Homework.id).desc())
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for homework_id, status, on_time, n in session.exec(
        select(
            HomeworkSubmission.homework_id,
            HomeworkSubmission.status,
            HomeworkSubmission.on_time,
            func.count(),
        )
        .join(Homework, Homework.id == HomeworkSubmission.homework_id)
        .where(
            HomeworkSubmission.institute_id == batch.institute_id,
            Homework.batch_id == batch.id,
        )
        .group_by(
            HomeworkSubmission.homework_id, HomeworkSubmission.status, HomeworkSubmission.on_time
        )
    ):
        c = counts.setdefault(
            homework_id, {"students": 0, "handed_in": 0, "on_time": 0, "missing": 0, "graded": 0}
        )
        c["students"] += n
        if status in HANDED_IN:
            c["handed_in"] += n
            c["on_time"] += n if on_time else 0
        c["missing"] += n if status == SubmissionStatus.MISSING.value else 0
        c["graded"] += n if status == SubmissionStatus.GRADED.value else 0
    empty = {"students": 0, "handed_in": 0, "on_time": 0, "missing": 0, "graded": 0}
    return [
        HomeworkSummary(
            id=h.id,
            title=h.title,
            assigned_on=h.assigned_on,
            due_on=h.due_on,
            max_marks=h.max_marks,
            topic=topic,
            **counts.get(h.id, empty),
        )
        for h, topic in rows
    ]


@dataclass(frozen=True)
class MarkingRow:
    student_id: int
    student: str
    enrollment_no: str
    status: str
    submitted_on: date | None
    on_time: bool
    marks: float | None
    comment: str | None


@dataclass(frozen=True)
class MarkingSheet:
    homework: Homework
    batch: str
    rows: list[MarkingRow]


def _submissions(session: Session, homework: Homework) -> list[MarkingRow]:
    return [
        MarkingRow(*row)
        for row in session.exec(
            select(
                HomeworkSubmission.student_id,
                Student.name,
                Student.enrollment_no,
                HomeworkSubmission.status,
                HomeworkSubmission.submitted_on,
                HomeworkSubmission.on_time,
                HomeworkSubmission.marks,
                HomeworkSubmission.comment,
            )
            .join(Student, Student.id == HomeworkSubmission.student_id)
            .where(
                HomeworkSubmission.institute_id == homework.institute_id,
                HomeworkSubmission.homework_id == homework.id,
            )
            .order_by(Student.name, Student.id)
        ).all()
    ]


def homework_marking(session: Session, *, actor: Actor, homework_id: int) -> MarkingSheet:
    """The marking table of one homework: every student it was set for, with status and marks."""
    actor.require(*TEACHING)
    homework, batch = _homework(session, actor, homework_id)
    return MarkingSheet(homework=homework, batch=batch.name, rows=_submissions(session, homework))


def _check_marking_row(
    homework: Homework, current: MarkingRow, row: dict, today: date
) -> dict | None:
    """The new state of one submission from a marking row (None when nothing changes)."""
    name = current.student
    raw_status = str(row.get("status") or current.status).strip().lower()
    try:
        status = SubmissionStatus(raw_status).value
    except ValueError:
        raise ValidationError(
            f"{name}: '{raw_status}' is not a status; use submitted, late, missing or graded."
        ) from None
    marks = _number(row["marks"], f"{name}'s marks") if "marks" in row else current.marks
    comment = (
        _text(row["comment"], 1000, f"{name}'s comment") if "comment" in row else current.comment
    )
    given_date = _as_date(row.get("submitted_on"), f"{name}'s hand-in date")
    due = homework.due_on
    if status in HANDED_IN:
        if marks is not None and status != SubmissionStatus.GRADED.value:
            status = SubmissionStatus.GRADED.value  # work with marks is graded work
        if marks is not None:
            if homework.max_marks is None:
                raise ValidationError(
                    "This homework has no maximum marks, so it takes no marks; leave marks "
                    "empty and use the comment."
                )
            if not 0 <= marks <= homework.max_marks:
                raise ValidationError(
                    f"{name}: {marks:g} marks is not between 0 and {homework.max_marks:g}."
                )
        if raw_status == SubmissionStatus.LATE.value:
            submitted_on = given_date or current.submitted_on or today
            if submitted_on <= due:
                raise ValidationError(
                    f"{name}: handed in on {submitted_on:%d %b %Y}, by the due date "
                    f"{due:%d %b %Y}; mark it submitted, or give the day it came in."
                )
        else:
            # Without a date, "submitted" (or graded) means it came in on time.
            submitted_on = given_date or current.submitted_on or min(today, due)
            if raw_status == SubmissionStatus.SUBMITTED.value and submitted_on > due:
                raise ValidationError(
                    f"{name}: handed in on {submitted_on:%d %b %Y}, after the due date "
                    f"{due:%d %b %Y}; mark it late."
                )
        if submitted_on > today:
            raise ValidationError(
                f"{name}: the hand-in date {submitted_on:%d %b %Y} is in the future."
            )
        on_time = submitted_on <= due
    else:
        # Values still showing from before the status change are dropped; new ones are refused.
        if marks is not None and marks != current.marks:
            raise ValidationError(
                f"{name}: marks are only for work that was handed in; clear them or change "
                "the status."
            )
        if given_date is not None and given_date != current.submitted_on:
            raise ValidationError(
                f"{name}: a hand-in date is only for work that was handed in; clear it or "
                "change the status."
            )
        submitted_on, marks, on_time = None, None, False
    new = {
        "status": status,
        "submitted_on": submitted_on,
        "on_time": on_time,
        "marks": marks,
        "comment": comment,
    }
    old = {
        "status": current.status,
        "submitted_on": current.submitted_on,
        "on_time": bool(current.on_time),
        "marks": current.marks,
        "comment": current.comment,
    }
    return None if new == old else new


def mark_homework(session: Session, *, actor: Actor, homework_id: int, rows: list[dict]) -> int:
    """Save the marking table in one go: per student the status (submitted, late, missing,
    graded), hand-in date, marks and comment. Every row is checked first; one bad row refuses
    the whole table and nothing is written. Returns how many submissions changed.

    A row's missing keys keep what was saved; `on_time` is derived from the hand-in date.
    """
    actor.require(*TEACHING)
    homework, _ = _homework(session, actor, homework_id)
    current = {r.student_id: r for r in _submissions(session, homework)}
    seen: set[int] = set()
    strangers = 0
    for row in rows:
        student_id = row.get("student_id")
        if student_id not in current:
            strangers += 1
        elif student_id in seen:
            raise ValidationError(f"{current[student_id].student} appears twice in the table.")
        seen.add(student_id)
    if strangers:
        raise ValidationError(
            f"{strangers} row{'s are' if strangers > 1 else ' is'} for students who were not set "
            "this homework; reload the marking table and try again. Nothing was saved."
        )
    today = _today(session, homework.institute_id)
    now = clock.now()
    changes = []
    for row in rows:
        submission = current[row["student_id"]]
        new = _check_marking_row(homework, submission, row, today)
        if new is not None:
            changes.append((submission.student_id, new))
    if not changes:
        return 0
    ids = dict(
        session.exec(
            select(HomeworkSubmission.student_id, HomeworkSubmission.id).where(
                HomeworkSubmission.institute_id == homework.institute_id,
                HomeworkSubmission.homework_id == homework.id,
                col(HomeworkSubmission.student_id).in_([sid for sid, _ in changes]),
            )
        ).all()
    )
    session.execute(
        update(HomeworkSubmission),
        [
            {"id": ids[sid], **new, "updated_by": actor.user_id, "updated_at": now}
            for sid, new in changes
        ],
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="homework.mark",
        target_type="homework",
        target_id=homework.id,
        detail={"changed": len(changes)},
    )
    return len(changes)


def mark_missing_homework_internal(session: Session, *, institute_id: int) -> int:
    """Work still `assigned` whose due date has passed (institute time) becomes `missing`.

    One UPDATE; running it again changes nothing. Returns how many submissions it marked.
    """
    today = _today(session, institute_id)
    overdue = select(Homework.id).where(
        Homework.institute_id == institute_id, Homework.due_on < today
    )
    marked = session.execute(
        update(HomeworkSubmission)
        .where(
            HomeworkSubmission.institute_id == institute_id,
            HomeworkSubmission.status == SubmissionStatus.ASSIGNED.value,
            col(HomeworkSubmission.homework_id).in_(overdue),
        )
        .values(status=SubmissionStatus.MISSING.value, on_time=False)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.flush()
    return int(marked or 0)


# ------------------------------------------------------------------ grade scale


def _scale(session: Session, institute_id: int) -> list[tuple[str, float]]:
    """The institute's grade scale, highest band first; the default one is created on first use."""
    bands = session.exec(
        select(GradeBand.grade, GradeBand.min_percent)
        .where(GradeBand.institute_id == institute_id)
        .order_by(col(GradeBand.min_percent).desc())
    ).all()
    if bands:
        return [(g, float(m)) for g, m in bands]
    try:
        with session.begin_nested():
            session.execute(
                insert(GradeBand),
                [
                    {"institute_id": institute_id, "grade": g, "min_percent": m}
                    for g, m in DEFAULT_SCALE
                ],
            )
    except IntegrityError:  # created a moment ago by someone else: theirs is the same default
        pass
    return [(g, float(m)) for g, m in DEFAULT_SCALE]


def grade_for(percentage: float | None, scale: list[tuple[str, float]]) -> str | None:
    """The grade of a percentage: the highest band whose minimum it reaches."""
    if percentage is None:
        return None
    for grade, minimum in sorted(scale, key=lambda band: -band[1]):
        if percentage >= minimum:
            return grade
    return None


def grade_scale(session: Session, *, actor: Actor) -> list[tuple[str, float]]:
    """The institute's grade scale as (grade, minimum percent), highest first."""
    actor.require(*STAFF)
    return _scale(session, actor.institute_scope())


def set_grade_scale(
    session: Session, *, actor: Actor, bands: list[tuple[str, float]]
) -> list[tuple[str, float]]:
    """Admin: replace the grade scale. The lowest band starts at 0; grades and minimums are
    distinct and between 0 and 100. Results already entered are re-graded on the new scale."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    clean: list[tuple[str, float]] = []
    for grade, minimum in bands:
        grade = (str(grade) if grade is not None else "").strip()
        number = _number(minimum, f"Grade {grade or '?'}")
        if not grade and number is None:
            continue
        if not grade:
            raise ValidationError(f"The band from {number:g}% needs a grade name.")
        if len(grade) > 10:
            raise ValidationError(f"Grade {grade} is longer than 10 characters.")
        if number is None or not 0 <= number <= 100:
            raise ValidationError(f"Grade {grade}: the minimum is a percent from 0 to 100.")
        clean.append((grade, number))
    if not clean:
        raise ValidationError("Give at least one grade.")
    grades = [g.lower() for g, _ in clean]
    if len(set(grades)) != len(grades):
        raise ValidationError("Each grade appears once.")
    minimums = [m for _, m in clean]
    if len(set(minimums)) != len(minimums):
        raise ValidationError("Two grades start at the same percent; each needs its own minimum.")
    if min(minimums) != 0:
        raise ValidationError("The lowest grade must start at 0% so every result gets a grade.")
    clean.sort(key=lambda band: -band[1])
    session.execute(delete(GradeBand).where(GradeBand.institute_id == institute_id))
    session.execute(
        insert(GradeBand),
        [{"institute_id": institute_id, "grade": g, "min_percent": m} for g, m in clean],
    )
    regraded = session.execute(
        update(AssessmentResult)
        .where(
            AssessmentResult.institute_id == institute_id,
            col(AssessmentResult.percentage).is_not(None),
        )
        .values(
            grade=case(*[(col(AssessmentResult.percentage) >= m, g) for g, m in clean], else_=None)
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="grades.scale_set",
        detail={"bands": [[g, m] for g, m in clean], "regraded": int(regraded or 0)},
    )
    return clean


# ------------------------------------------------------------------ assessments


def create_assessment(
    session: Session,
    *,
    actor: Actor,
    batch_id: int,
    kind: str,
    title: str,
    max_marks: float,
    held_on: date,
    subject_id: int | None = None,
    topic_id: int | None = None,
) -> Assessment:
    """A quiz, assignment, project, exam or practical for a batch: every current member gets a
    result row to fill in (one bulk insert). The subject defaults to the batch's."""
    actor.require(*TEACHING)
    batch = _open_batch(session, actor, batch_id)
    try:
        kind = AssessmentKind(str(kind or "").strip().lower()).value
    except ValueError:
        raise ValidationError(
            "Choose the kind: quiz, assignment, project, exam or practical.", field="kind"
        ) from None
    title = _title(title)
    max_marks = _number(max_marks, "Maximum marks")
    if max_marks is None or max_marks <= 0:
        raise ValidationError("Maximum marks must be more than zero.", field="max_marks")
    if held_on is None:
        raise ValidationError("Choose the date it is held.", field="held_on")
    subject_id = subject_id or batch.subject_id
    subject = session.get(Subject, subject_id)
    if subject is None or subject.institute_id != batch.institute_id:
        raise ValidationError("Choose a subject of this institute.", field="subject_id")
    _check_topic(session, batch.institute_id, subject_id, topic_id)
    assessment = Assessment(
        institute_id=batch.institute_id,
        batch_id=batch.id,
        subject_id=subject_id,
        topic_id=topic_id,
        kind=kind,
        title=title,
        max_marks=max_marks,
        held_on=held_on,
        created_by=actor.user_id,
    )
    session.add(assessment)
    session.flush()
    members = _current_members(batch.institute_id, batch.id).subquery()
    students = session.execute(
        insert(AssessmentResult).from_select(
            ["institute_id", "assessment_id", "student_id", "absent"],
            select(
                literal(batch.institute_id),
                literal(assessment.id),
                members.c.student_id,
                literal(False),
            ),
        )
    ).rowcount
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="assessment.create",
        target_type="assessment",
        target_id=assessment.id,
        detail={"batch_id": batch.id, "kind": kind, "held_on": str(held_on), "students": students},
    )
    return assessment


@dataclass(frozen=True)
class AssessmentSummary:
    id: int
    kind: str
    title: str
    held_on: date
    max_marks: float
    subject: str | None
    topic: str | None
    students: int
    entered: int
    absent: int
    mean_percent: float | None


def list_assessments(session: Session, *, actor: Actor, batch_id: int) -> list[AssessmentSummary]:
    """A batch's assessments, latest first, with how many results are in and their mean %."""
    actor.require(*TEACHING)
    batch = _batch(session, actor, batch_id)
    stats = (
        select(
            AssessmentResult.assessment_id,
            func.count().label("students"),
            func.count(AssessmentResult.marks).label("entered"),
            func.sum(case((col(AssessmentResult.absent).is_(True), 1), else_=0)).label("absent"),
            func.avg(AssessmentResult.percentage).label("mean"),
        )
        .where(
            AssessmentResult.institute_id == batch.institute_id,
            col(AssessmentResult.assessment_id).in_(
                select(Assessment.id).where(
                    Assessment.institute_id == batch.institute_id,
                    Assessment.batch_id == batch.id,
                )
            ),
        )
        .group_by(AssessmentResult.assessment_id)
        .subquery()
    )
    rows = session.exec(
        select(
            Assessment,
            Subject.name,
            Topic.name,
            stats.c.students,
            stats.c.entered,
            stats.c.absent,
            stats.c.mean,
        )
        .outerjoin(Subject, Subject.id == Assessment.subject_id)
        .outerjoin(Topic, Topic.id == Assessment.topic_id)
        .outerjoin(stats, stats.c.assessment_id == Assessment.id)
        .where(Assessment.institute_id == batch.institute_id, Assessment.batch_id == batch.id)
        .order_by(col(Assessment.held_on).desc(), col(Assessment.id).desc())
    ).all()
    return [
        AssessmentSummary(
            id=a.id,
            kind=a.kind,
            title=a.title,
            held_on=a.held_on,
            max_marks=a.max_marks,
            subject=subject,
            topic=topic,
            students=int(students or 0),
            entered=int(entered or 0),
            absent=int(absent or 0),
            mean_percent=round(float(mean), 2) if mean is not None else None,
        )
        for a, subject, topic, students, entered, absent, mean in rows
    ]


@dataclass(frozen=True)
class ResultRow:
    student_id: int
    student: str
    enrollment_no: str
    scheduled_on: date | None
    marks: float | None
    absent: bool
    percentage: float | None
    grade: str | None
    feedback: str | None


@dataclass(frozen=True)
class ResultSheet:
    assessment: Assessment
    batch: str
    rows: list[ResultRow]
    scale: list[tuple[str, float]] = field(default_factory=list)


def _results(session: Session, assessment: Assessment) -> list[ResultRow]:
    return [
        ResultRow(
            student_id=sid,
            student=name,
            enrollment_no=no,
            scheduled_on=scheduled_on,
            marks=marks,
            absent=bool(absent),
            percentage=percentage,
            grade=grade,
            feedback=feedback,
        )
        for sid, name, no, scheduled_on, marks, absent, percentage, grade, feedback in session.exec(
            select(
                AssessmentResult.student_id,
                Student.name,
                Student.enrollment_no,
                AssessmentResult.scheduled_on,
                AssessmentResult.marks,
                AssessmentResult.absent,
                AssessmentResult.percentage,
                AssessmentResult.grade,
                AssessmentResult.feedback,
            )
            .join(Student, Student.id == AssessmentResult.student_id)
            .where(
                AssessmentResult.institute_id == assessment.institute_id,
                AssessmentResult.assessment_id == assessment.id,
            )
            .order_by(Student.name, Student.id)
        ).all()
    ]


def assessment_sheet(session: Session, *, actor: Actor, assessment_id: int) -> ResultSheet:
    """The marks table of one assessment: every student with marks, %, grade and feedback."""
    actor.require(*TEACHING)
    assessment, batch = _assessment(session, actor, assessment_id)
    return ResultSheet(
        assessment=assessment,
        batch=batch.name,
        rows=_results(session, assessment),
        scale=_scale(session, assessment.institute_id),
    )


def percentage_of(marks: float, max_marks: float) -> float:
    """Marks as a percentage of the maximum, to 2 decimals."""
    return round(marks / max_marks * 100, 2)


def enter_marks(session: Session, *, actor: Actor, assessment_id: int, rows: list[dict]) -> int:
    """Save the marks of a whole batch in one go: per student marks (or absent) and feedback.
    Percentages and grades follow; every row is checked first and one bad row refuses the table.
    When the assessment has a topic, the new results feed the students' topic progress.
    Returns how many results changed. A row's missing keys keep what was saved."""
    actor.require(*TEACHING)
    assessment, _ = _assessment(session, actor, assessment_id)
    current = {r.student_id: r for r in _results(session, assessment)}
    seen: set[int] = set()
    strangers = 0
    for row in rows:
        student_id = row.get("student_id")
        if student_id not in current:
            strangers += 1
        elif student_id in seen:
            raise ValidationError(f"{current[student_id].student} appears twice in the table.")
        seen.add(student_id)
    if strangers:
        raise ValidationError(
            f"{strangers} row{'s are' if strangers > 1 else ' is'} for students who do not sit "
            "this assessment; reload the marks table and try again. Nothing was saved."
        )
    scale = _scale(session, assessment.institute_id)
    changes: list[tuple[int, dict]] = []
    for row in rows:
        old = current[row["student_id"]]
        name = old.student
        marks = _number(row["marks"], f"{name}'s marks") if "marks" in row else old.marks
        absent = bool(row["absent"]) if "absent" in row else old.absent
        feedback = (
            _text(row["feedback"], 1000, f"{name}'s feedback")
            if "feedback" in row
            else old.feedback
        )
        if absent and marks is not None:
            # The value the teacher just changed wins over the one left from before.
            absent_changed = absent != old.absent
            marks_changed = marks != old.marks
            if absent_changed and not marks_changed:
                marks = None
            elif marks_changed and not absent_changed:
                absent = False
            else:
                raise ValidationError(f"{name} is marked absent and has marks; keep one of them.")
        if marks is not None and not 0 <= marks <= assessment.max_marks:
            raise ValidationError(
                f"{name}: {marks:g} marks is not between 0 and {assessment.max_marks:g}."
            )
        percentage = percentage_of(marks, assessment.max_marks) if marks is not None else None
        new = {
            "marks": marks,
            "absent": absent,
            "percentage": percentage,
            "grade": grade_for(percentage, scale),
            "feedback": feedback,
        }
        if new != {
            "marks": old.marks,
            "absent": old.absent,
            "percentage": old.percentage,
            "grade": old.grade,
            "feedback": old.feedback,
        }:
            changes.append((old.student_id, new))
    if not changes:
        return 0
    ids = dict(
        session.exec(
            select(AssessmentResult.student_id, AssessmentResult.id).where(
                AssessmentResult.institute_id == assessment.institute_id,
                AssessmentResult.assessment_id == assessment.id,
                col(AssessmentResult.student_id).in_([sid for sid, _ in changes]),
            )
        ).all()
    )
    now = clock.now()
    session.execute(
        update(AssessmentResult),
        [
            {"id": ids[sid], **new, "entered_by": actor.user_id, "entered_at": now}
            for sid, new in changes
        ],
    )
    session.flush()
    if assessment.topic_id is not None:
        attendance_service.apply_assessment_internal(
            session,
            institute_id=assessment.institute_id,
            topic_id=assessment.topic_id,
            percentages={
                sid: new["percentage"]
                for sid, new in changes
                if new["percentage"] is not None and new["percentage"] != current[sid].percentage
            },
        )
    # Badges whose rules these marks may now meet are awarded at once, not overnight.
    events.publish(
        session,
        events.MarksEntered(
            institute_id=assessment.institute_id,
            assessment_id=assessment.id,
            student_ids=frozenset(sid for sid, _ in changes),
        ),
    )
    audit.record(
        session,
        actor=actor,
        action="assessment.marks",
        target_type="assessment",
        target_id=assessment.id,
        detail={"changed": len(changes)},
    )
    return len(changes)


def schedule_sitting(
    session: Session,
    *,
    actor: Actor,
    assessment_id: int,
    student_id: int,
    scheduled_on: date | None,
) -> AssessmentResult:
    """Give one student another date to sit an assessment (a make-up); None puts them back on
    the assessment's own date. Scheduling a sitting clears an 'absent' mark."""
    actor.require(*TEACHING)
    assessment, _ = _assessment(session, actor, assessment_id)
    result = session.exec(
        select(AssessmentResult).where(
            AssessmentResult.institute_id == assessment.institute_id,
            AssessmentResult.assessment_id == assessment.id,
            AssessmentResult.student_id == student_id,
        )
    ).first()
    if result is None:
        raise NotFound("That student does not sit this assessment.")
    if result.marks is not None:
        raise ValidationError(
            "This student's marks are already in; clear them before moving their sitting."
        )
    scheduled_on = _as_date(scheduled_on, "The sitting date")
    if scheduled_on == assessment.held_on:
        scheduled_on = None
    result.scheduled_on = scheduled_on
    if scheduled_on is not None:
        result.absent = False
    session.add(result)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="assessment.schedule",
        target_type="assessment",
        target_id=assessment.id,
        detail={"student_id": student_id, "scheduled_on": str(scheduled_on or "")},
    )
    return result


# ------------------------------------------------------------------ report card


@dataclass(frozen=True)
class AttendanceSummary:
    sessions: int = 0  # classes whose attendance was taken with the student on the sheet
    present: int = 0
    late: int = 0
    absent: int = 0
    excused: int = 0

    @property
    def percent(self) -> float | None:
        """Classes attended (present or late) out of those not excused."""
        counted = self.sessions - self.excused
        return round(100 * (self.present + self.late) / counted, 1) if counted else None


@dataclass(frozen=True)
class HomeworkRecord:
    set: int = 0  # homework due in the period
    on_time: int = 0
    late: int = 0
    missing: int = 0
    pending: int = 0  # not handed in yet, not yet due
    mean_percent: float | None = None  # mean of marks / max marks over marked homework


@dataclass(frozen=True)
class AssessmentLine:
    date: date
    kind: str
    title: str
    subject: str | None
    marks: float | None
    max_marks: float
    percentage: float | None
    grade: str | None
    absent: bool


@dataclass(frozen=True)
class TopicLine:
    subject: str
    topic: str
    status: str
    competency: float


@dataclass(frozen=True)
class ReportCard:
    student_id: int
    student: str
    enrollment_no: str
    institute: str
    start: date
    end: date
    batches: list[str]
    attendance: AttendanceSummary
    homework: HomeworkRecord
    assessments: list[AssessmentLine]
    topics: list[TopicLine]

    @property
    def mean_percent(self) -> float | None:
        """Mean percentage over the assessments sat in the period."""
        marked = [a.percentage for a in self.assessments if a.percentage is not None]
        return round(sum(marked) / len(marked), 2) if marked else None


def my_student(session: Session, *, actor: Actor) -> Student | None:
    """The student record of the signed-in student (None when none is linked yet)."""
    try:
        return academics.my_student(session, actor=actor)
    except NotFound:
        return None


def _report_student(session: Session, actor: Actor, student_id: int | None) -> Student:
    """Who the report card is of, if the actor may see it."""
    actor.require(*STAFF, Role.STUDENT)
    institute_id = actor.institute_scope()
    if actor.role == Role.STUDENT:
        student = my_student(session, actor=actor)
        if student is None:
            raise NotFound("Your account is not linked to a student record yet; ask the institute.")
        if student_id is not None and student_id != student.id:
            raise PermissionDenied("You can see only your own report card.")
        return student
    if student_id is None:
        raise ValidationError("Choose a student.")
    student = session.get(Student, student_id)
    if student is None or student.institute_id != institute_id:
        raise NotFound("That student does not exist.")
    if actor.role == Role.TEACHER:
        taught = session.exec(
            select(BatchMembership.id)
            .join(Batch, Batch.id == BatchMembership.batch_id)
            .where(
                BatchMembership.institute_id == institute_id,
                BatchMembership.student_id == student.id,
                Batch.teacher_user_id == actor.user_id,
            )
        ).first()
        if taught is None:
            raise PermissionDenied("This student is not in one of your batches.")
    return student


def report_card(
    session: Session,
    *,
    actor: Actor,
    start: date,
    end: date,
    student_id: int | None = None,
) -> ReportCard:
    """One student's report card for a period: attendance, homework, assessments and topic
    progress. Staff see any student they may (a teacher: of their batches); a student sees
    only their own (student_id may be left out). A handful of grouped queries."""
    student = _report_student(session, actor, student_id)
    if start is None or end is None or end < start:
        raise ValidationError("The period ends before it starts.")
    institute_id = student.institute_id
    batches = list(
        session.exec(
            select(Batch.name)
            .join(BatchMembership, BatchMembership.batch_id == Batch.id)
            .where(
                BatchMembership.institute_id == institute_id,
                BatchMembership.student_id == student.id,
                BatchMembership.joined_on <= end,
                (col(BatchMembership.left_on).is_(None)) | (BatchMembership.left_on >= start),
            )
            .distinct()
            .order_by(Batch.name)
        )
    )
    marks = dict(
        session.exec(
            select(AttendanceRecord.status, func.count())
            .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
            .where(
                AttendanceRecord.institute_id == institute_id,
                AttendanceRecord.student_id == student.id,
                ClassSession.date >= start,
                ClassSession.date <= end,
            )
            .group_by(AttendanceRecord.status)
        ).all()
    )
    attendance = AttendanceSummary(
        sessions=sum(marks.values()),
        present=marks.get(Mark.PRESENT.value, 0),
        late=marks.get(Mark.LATE.value, 0),
        absent=marks.get(Mark.ABSENT.value, 0),
        excused=marks.get(Mark.EXCUSED.value, 0),
    )
    scored = col(HomeworkSubmission.marks).is_not(None) & col(Homework.max_marks).is_not(None)
    homework_rows = session.exec(
        select(
            HomeworkSubmission.status,
            HomeworkSubmission.on_time,
            func.count(),
            func.sum(case((scored, HomeworkSubmission.marks * 100.0 / Homework.max_marks))),
            func.count(case((scored, 1))),
        )
        .join(Homework, Homework.id == HomeworkSubmission.homework_id)
        .where(
            HomeworkSubmission.institute_id == institute_id,
            HomeworkSubmission.student_id == student.id,
            Homework.due_on >= start,
            Homework.due_on <= end,
        )
        .group_by(HomeworkSubmission.status, HomeworkSubmission.on_time)
    ).all()
    tally = {"set": 0, "on_time": 0, "late": 0, "missing": 0, "pending": 0}
    total_percent, marked = 0.0, 0
    for status, on_time, n, percent_sum, n_marked in homework_rows:
        tally["set"] += n
        if status in HANDED_IN:
            tally["on_time" if on_time else "late"] += n
        elif status == SubmissionStatus.MISSING.value:
            tally["missing"] += n
        else:
            tally["pending"] += n
        total_percent += float(percent_sum or 0)
        marked += int(n_marked or 0)
    homework = HomeworkRecord(
        **tally, mean_percent=round(total_percent / marked, 2) if marked else None
    )
    sat_on = func.coalesce(AssessmentResult.scheduled_on, Assessment.held_on)
    assessments = [
        AssessmentLine(
            date=day,
            kind=kind,
            title=title,
            subject=subject,
            marks=result_marks,
            max_marks=max_marks,
            percentage=percentage,
            grade=grade,
            absent=bool(absent),
        )
        for day, kind, title, subject, result_marks, max_marks, percentage, grade, absent in (
            session.exec(
                select(
                    sat_on,
                    Assessment.kind,
                    Assessment.title,
                    Subject.name,
                    AssessmentResult.marks,
                    Assessment.max_marks,
                    AssessmentResult.percentage,
                    AssessmentResult.grade,
                    AssessmentResult.absent,
                )
                .join(Assessment, Assessment.id == AssessmentResult.assessment_id)
                .outerjoin(Subject, Subject.id == Assessment.subject_id)
                .where(
                    AssessmentResult.institute_id == institute_id,
                    AssessmentResult.student_id == student.id,
                    sat_on >= start,
                    sat_on <= end,
                )
                .order_by(sat_on, Assessment.id)
            ).all()
        )
    ]
    topics = [
        TopicLine(subject=subject, topic=topic, status=status, competency=float(competency))
        for subject, topic, status, competency in session.exec(
            select(Subject.name, Topic.name, TopicProgress.status, TopicProgress.competency)
            .join(Topic, Topic.id == TopicProgress.topic_id)
            .join(Subject, Subject.id == Topic.subject_id)
            .where(
                TopicProgress.institute_id == institute_id,
                TopicProgress.student_id == student.id,
            )
            .order_by(Subject.name, Topic.position)
        ).all()
    ]
    return ReportCard(
        student_id=student.id,
        student=student.name,
        enrollment_no=student.enrollment_no,
        institute=session.get(Institute, institute_id).name,
        start=start,
        end=end,
        batches=batches,
        attendance=attendance,
        homework=homework,
        assessments=assessments,
        topics=topics,
    )


def report_card_pdf(
    session: Session,
    *,
    actor: Actor,
    start: date,
    end: date,
    student_id: int | None = None,
) -> bytes:
    """The report card as a PDF to download (who may see it: as for the report card)."""
    card = report_card(session, actor=actor, start=start, end=end, student_id=student_id)
    return reportcard.render(card)


def default_period(session: Session, *, actor: Actor) -> tuple[date, date]:
    """The report card's default period: the last 90 days up to today, institute time."""
    actor.require(*STAFF, Role.STUDENT)
    today = _today(session, actor.institute_scope())
    return today - timedelta(days=90), today


# ------------------------------------------------------------------ the student's own work


@dataclass(frozen=True)
class MyHomework:
    id: int
    title: str
    instructions: str
    batch: str
    subject: str
    topic: str | None
    assigned_on: date
    due_on: date
    status: str
    on_time: bool
    submitted_on: date | None
    marks: float | None
    max_marks: float | None
    comment: str | None

    @property
    def open(self) -> bool:
        """Still to hand in (the due date has not passed)."""
        return self.status == SubmissionStatus.ASSIGNED.value


def my_homework(
    session: Session, *, actor: Actor, open_only: bool = False, limit: int = 300
) -> list[MyHomework]:
    """The signed-in student's homework, what is still to hand in first (soonest due), then the
    rest newest first, with marks and the teacher's comment. One indexed query."""
    student = academics.my_student(session, actor=actor)
    query = (
        select(HomeworkSubmission, Homework, Batch.name, Subject.name, Topic.name)
        .join(Homework, Homework.id == HomeworkSubmission.homework_id)
        .join(Batch, Batch.id == Homework.batch_id)
        .join(Subject, Subject.id == Batch.subject_id)
        .outerjoin(Topic, Topic.id == Homework.topic_id)
        .where(
            HomeworkSubmission.institute_id == student.institute_id,
            HomeworkSubmission.student_id == student.id,
        )
    )
    if open_only:
        query = query.where(HomeworkSubmission.status == SubmissionStatus.ASSIGNED.value)
    rows = session.exec(query.order_by(col(Homework.due_on).desc()).limit(limit)).all()
    items = [
        MyHomework(
            id=hw.id,
            title=hw.title,
            instructions=hw.instructions,
            batch=batch,
            subject=subject,
            topic=topic,
            assigned_on=hw.assigned_on,
            due_on=hw.due_on,
            status=sub.status,
            on_time=sub.on_time,
            submitted_on=sub.submitted_on,
            marks=sub.marks,
            max_marks=hw.max_marks,
            comment=sub.comment,
        )
        for sub, hw, batch, subject, topic in rows
    ]
    still_open = sorted((h for h in items if h.open), key=lambda h: (h.due_on, h.id))
    return still_open + [h for h in items if not h.open]


@dataclass(frozen=True)
class MyResult:
    date: date
    kind: str
    title: str
    batch: str
    subject: str | None
    marks: float | None
    max_marks: float
    percentage: float | None
    grade: str | None
    absent: bool
    feedback: str | None

    @property
    def upcoming(self) -> bool:
        """Not sat yet: no marks and not absent."""
        return self.marks is None and not self.absent


def my_results(session: Session, *, actor: Actor) -> list[MyResult]:
    """The signed-in student's tests and assessments: marks, percentage, grade and feedback,
    newest first (those still to sit included). One indexed query."""
    student = academics.my_student(session, actor=actor)
    sat_on = func.coalesce(AssessmentResult.scheduled_on, Assessment.held_on)
    rows = session.exec(
        select(sat_on, Assessment, AssessmentResult, Batch.name, Subject.name)
        .join(Assessment, Assessment.id == AssessmentResult.assessment_id)
        .join(Batch, Batch.id == Assessment.batch_id)
        .outerjoin(Subject, Subject.id == Assessment.subject_id)
        .where(
            AssessmentResult.institute_id == student.institute_id,
            AssessmentResult.student_id == student.id,
        )
        .order_by(sat_on.desc(), col(Assessment.id).desc())
    ).all()
    return [
        MyResult(
            date=day,
            kind=a.kind,
            title=a.title,
            batch=batch,
            subject=subject,
            marks=r.marks,
            max_marks=a.max_marks,
            percentage=r.percentage
            if r.percentage is not None or r.marks is None
            else percentage_of(r.marks, a.max_marks),
            grade=r.grade,
            absent=bool(r.absent),
            feedback=r.feedback,
        )
        for day, a, r, batch, subject in rows
    ]
