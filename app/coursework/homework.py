"""Homework: set for a batch's current members, marked in one table, missing after the due date; newcomers get the open work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from app.academics.models import Topic
from app.core import audit, clock
from app.core.errors import ValidationError
from app.core.rows import carry
from app.core.tenancy import Actor
from app.coursework.common import (
    HANDED_IN,
    TEACHING,
    as_date,
    batch_in_scope,
    by_student_internal,
    check_table_students,
    check_topic_internal,
    homework_in_scope,
    insert_for_current_members,
    number_field,
    open_batch,
    text_field,
    title_field,
    today_internal,
    update_student_rows,
)
from app.coursework.models import (
    Homework,
    HomeworkSubmission,
    SubmissionStatus,
)


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
    batch = open_batch(session, actor, batch_id)
    title = title_field(title)
    assigned_on = assigned_on or today_internal(session, batch.institute_id)
    if due_on is None:
        raise ValidationError("Choose the due date.", field="due_on")
    if due_on < assigned_on:
        raise ValidationError(
            f"The due date {due_on:%d %b %Y} is before the day it is set ({assigned_on:%d %b %Y}).",
            field="due_on",
        )
    max_marks = number_field(max_marks, "Maximum marks")
    if max_marks is not None and max_marks <= 0:
        raise ValidationError(
            "Maximum marks must be more than zero (or leave it empty).", field="max_marks"
        )
    check_topic_internal(session, batch.institute_id, batch.subject_id, topic_id)
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
    students = insert_for_current_members(
        session,
        batch,
        HomeworkSubmission,
        {
            "homework_id": homework.id,
            "status": SubmissionStatus.ASSIGNED.value,
            "on_time": False,
        },
    )
    audit.on(
        session,
        actor,
        "homework.create",
        homework.id,
        {"batch_id": batch.id, "due_on": str(due_on), "students": students},
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
    """A batch's homework, newest due date first, with how many handed it in: three queries
    (the batch, checked to be the actor's; its homework; the hand-in counts)."""
    actor.require(*TEACHING)
    batch = batch_in_scope(session, actor, batch_id)
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
        carry(
            HomeworkSummary,
            h,
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
        for row in by_student_internal(
            session,
            HomeworkSubmission,
            HomeworkSubmission.homework_id == homework.id,
            homework.institute_id,
            HomeworkSubmission.status,
            HomeworkSubmission.submitted_on,
            HomeworkSubmission.on_time,
            HomeworkSubmission.marks,
            HomeworkSubmission.comment,
        )
    ]


def homework_marking(session: Session, *, actor: Actor, homework_id: int) -> MarkingSheet:
    """The marking table of one homework: every student it was set for, with status and marks."""
    actor.require(*TEACHING)
    homework, batch = homework_in_scope(session, actor, homework_id)
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
    marks = number_field(row["marks"], f"{name}'s marks") if "marks" in row else current.marks
    comment = (
        text_field(row["comment"], 1000, f"{name}'s comment")
        if "comment" in row
        else current.comment
    )
    given_date = as_date(row.get("submitted_on"), f"{name}'s hand-in date")
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
    homework, _ = homework_in_scope(session, actor, homework_id)
    current = {r.student_id: r for r in _submissions(session, homework)}
    check_table_students(
        rows,
        current,
        "who were not set this homework; reload the marking table and try again. "
        "Nothing was saved.",
    )
    today = today_internal(session, homework.institute_id)
    now = clock.now()
    changes = []
    for row in rows:
        submission = current[row["student_id"]]
        new = _check_marking_row(homework, submission, row, today)
        if new is not None:
            changes.append((submission.student_id, new))
    if not changes:
        return 0
    update_student_rows(
        session,
        HomeworkSubmission,
        (
            HomeworkSubmission.institute_id == homework.institute_id,
            HomeworkSubmission.homework_id == homework.id,
        ),
        changes,
        {"updated_by": actor.user_id, "updated_at": now},
    )
    audit.on(session, actor, "homework.mark", homework.id, {"changed": len(changes)})
    return len(changes)


def mark_missing_homework_internal(session: Session, *, institute_id: int) -> int:
    """Work still `assigned` whose due date has passed (institute time) becomes `missing`.

    One UPDATE; running it again changes nothing. Returns how many submissions it marked.
    """
    today = today_internal(session, institute_id)
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
