"""Learning analytics: how fast each enrolment moves through its syllabus and when it should
finish, which topics are hard or well taught, and how each teacher's classes do.

A topic counts as **completed** from the moment its progress first reached completed or
mastered (`topic_progress.completed_at`, set by the class pipeline and by test results).

Method for an enrolment (a student in a batch, on the batch's subject), over the last
`WEEKS` (8) whole weeks up to today:
- **velocity** = topics completed per week (mean over the weeks); **trend** = the mean of the
  last four weeks minus the mean of the four before (positive: speeding up);
- **pace** = estimated minutes (from the syllabus) of the topics completed, per week; its
  spread is the standard deviation of the weekly values;
- **remaining** = estimated minutes of the syllabus topics not completed yet;
- **predicted completion** = today + remaining ÷ pace weeks, with a range from
  remaining ÷ (pace + spread) (early) to remaining ÷ max(pace − spread, pace ÷ 2) (late).
  Without anything completed in the window there is no prediction (said so, not guessed);
  with nothing remaining the enrolment is complete.

Everything is a few grouped queries per batch, subject or institute — never one per student.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from app.academics import service as academics
from app.academics.models import Batch, BatchMembership, Student, Subject, Topic
from app.attendance import service as attendance_service
from app.attendance.models import ClassSession, SessionStatus, TopicProgress
from app.core import clock
from app.core.errors import ValidationError
from app.core.ownership import get_owned
from app.core.roles import Role
from app.core.tenancy import Actor
from app.feedback import analytics as feedback_analytics
from app.identity.models import Institute, User, UserStatus

WEEKS = 8
DONE = ("completed", "mastered")
STAFF = (Role.ADMIN, Role.TEACHER)


def _of_current_members(query, batch):
    """A query over topic progress narrowed to the batch's current members."""
    return query.join(
        BatchMembership,
        (BatchMembership.institute_id == TopicProgress.institute_id)
        & (BatchMembership.student_id == TopicProgress.student_id),
    ).where(BatchMembership.batch_id == batch.id, col(BatchMembership.left_on).is_(None))


def _today(session: Session, institute_id: int) -> date:
    return clock.today_in(session.get(Institute, institute_id).timezone)


def _batch(session: Session, actor: Actor, batch_id: int) -> Batch:
    batch = get_owned(session, Batch, actor, batch_id, "batch")
    academics.ensure_teacher_scope(session, actor=actor, batch=batch)
    return batch


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class EnrolmentRow:
    student_id: int
    student: str
    enrollment_no: str
    topics: int
    completed: int
    velocity: float  # topics a week
    trend: float  # topics a week, last 4 weeks against the 4 before
    remaining_minutes: int
    predicted: date | None
    earliest: date | None
    latest: date | None
    note: str


def predict(
    weekly_minutes: list[float], remaining: int, today: date
) -> tuple[date | None, date | None, date | None, str]:
    """Predicted completion date and its range from weekly paces (minutes a week)."""
    if remaining <= 0:
        return today, today, today, "Syllabus complete."
    pace = statistics.fmean(weekly_minutes) if weekly_minutes else 0.0
    if pace <= 0:
        return None, None, None, f"Nothing completed in the last {WEEKS} weeks: no prediction."
    spread = statistics.pstdev(weekly_minutes) if len(weekly_minutes) > 1 else 0.0

    def after(minutes_a_week: float) -> date:
        return today + timedelta(days=math.ceil(7 * remaining / minutes_a_week))

    return (
        after(pace),
        after(pace + spread),
        after(max(pace - spread, pace / 2)),
        f"At {pace:.0f} estimated minutes of syllabus a week.",
    )


def enrolments(session: Session, *, actor: Actor, batch_id: int) -> list[EnrolmentRow]:
    """Each current member of a batch on the batch's subject: done, velocity, trend and the
    predicted completion with its range."""
    actor.require(*STAFF)
    batch = _batch(session, actor, batch_id)
    institute_id = batch.institute_id
    today = _today(session, institute_id)
    first_week = _week_start(today) - timedelta(weeks=WEEKS - 1)
    tz = ZoneInfo(session.get(Institute, institute_id).timezone)
    topics = dict(
        session.exec(
            select(Topic.id, Topic.estimated_minutes).where(
                Topic.institute_id == institute_id,
                Topic.subject_id == batch.subject_id,
                col(Topic.archived_at).is_(None),  # an archived topic is no longer to do
            )
        ).all()
    )
    members = session.exec(
        select(Student.id, Student.name, Student.enrollment_no)
        .join(BatchMembership, BatchMembership.student_id == Student.id)
        .where(
            BatchMembership.institute_id == institute_id,
            BatchMembership.batch_id == batch.id,
            col(BatchMembership.left_on).is_(None),
            Student.institute_id == institute_id,
        )
        .order_by(Student.name)
    ).all()
    done: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    if topics and members:
        for student_id, topic_id, completed_at in session.exec(
            _of_current_members(
                select(
                    TopicProgress.student_id, TopicProgress.topic_id, TopicProgress.completed_at
                ),
                batch,
            ).where(
                TopicProgress.institute_id == institute_id,
                col(TopicProgress.topic_id).in_(list(topics)),
                col(TopicProgress.completed_at).is_not(None),
            )
        ).all():
            done[student_id].append((topic_id, completed_at))
    total_minutes = sum(topics.values())
    rows = []
    for student_id, name, enrollment_no in members:
        weekly_topics = [0] * WEEKS
        weekly_minutes = [0.0] * WEEKS
        finished = {topic_id for topic_id, _ in done[student_id]}
        for topic_id, completed_at in done[student_id]:
            local = completed_at.replace(tzinfo=completed_at.tzinfo or UTC).astimezone(tz).date()
            week = (_week_start(local) - first_week).days // 7
            if 0 <= week < WEEKS:
                weekly_topics[week] += 1
                weekly_minutes[week] += topics[topic_id]
        remaining = total_minutes - sum(topics[t] for t in finished)
        predicted, earliest, latest, note = predict(weekly_minutes, remaining, today)
        rows.append(
            EnrolmentRow(
                student_id=student_id,
                student=name,
                enrollment_no=enrollment_no,
                topics=len(topics),
                completed=len(finished),
                velocity=round(statistics.fmean(weekly_topics), 2),
                trend=round(
                    statistics.fmean(weekly_topics[WEEKS // 2 :])
                    - statistics.fmean(weekly_topics[: WEEKS // 2]),
                    2,
                ),
                remaining_minutes=remaining,
                predicted=predicted,
                earliest=earliest,
                latest=latest,
                note=note,
            )
        )
    return rows


def timeline(
    session: Session, *, actor: Actor, batch_id: int, student_id: int | None = None
) -> list[dict]:
    """Topics completed per week by the batch's current members (or one of them), with the
    running total, since the first completion."""
    actor.require(*STAFF)
    batch = _batch(session, actor, batch_id)
    institute_id = batch.institute_id
    tz = ZoneInfo(session.get(Institute, institute_id).timezone)
    query = _of_current_members(
        select(TopicProgress.completed_at).join(Topic, Topic.id == TopicProgress.topic_id), batch
    ).where(
        TopicProgress.institute_id == institute_id,
        Topic.subject_id == batch.subject_id,
        col(Topic.archived_at).is_(None),
        col(TopicProgress.completed_at).is_not(None),
    )
    if student_id is not None:
        query = query.where(TopicProgress.student_id == student_id)
    weeks: dict[date, int] = defaultdict(int)
    for completed_at in session.exec(query).all():
        local = completed_at.replace(tzinfo=completed_at.tzinfo or UTC).astimezone(tz).date()
        weeks[_week_start(local)] += 1
    out, running = [], 0
    for week in sorted(weeks):
        running += weeks[week]
        out.append({"Week of": week, "Completed": weeks[week], "Total so far": running})
    return out


def topics(session: Session, *, actor: Actor, subject_id: int) -> list[dict]:
    """Per topic of a subject: how many students are on it, their average competency, the share
    who completed it and the classes it took them — how hard it is against its rating."""
    actor.require(*STAFF)
    institute_id = actor.institute_scope()
    get_owned(session, Subject, actor, subject_id, "subject")
    is_done = col(TopicProgress.status).in_(DONE)
    stats = {
        topic_id: (int(n), float(avg or 0), int(n_done or 0), float(sessions or 0))
        for topic_id, n, avg, n_done, sessions in session.exec(
            select(
                TopicProgress.topic_id,
                func.count(),
                func.avg(TopicProgress.competency),
                func.sum(case((is_done, 1), else_=0)),
                func.avg(case((is_done, TopicProgress.sessions_count))),
            )
            .join(Topic, Topic.id == TopicProgress.topic_id)
            .where(
                TopicProgress.institute_id == institute_id,
                Topic.institute_id == institute_id,
                Topic.subject_id == subject_id,
                col(Topic.archived_at).is_(None),
            )
            .group_by(TopicProgress.topic_id)
        ).all()
    }
    rows = []
    for topic in session.exec(
        select(Topic)
        .where(
            Topic.institute_id == institute_id,
            Topic.subject_id == subject_id,
            col(Topic.archived_at).is_(None),
        )
        .order_by(Topic.position, Topic.id)
    ):
        n, avg, n_done, sessions = stats.get(topic.id, (0, 0.0, 0, 0.0))
        rows.append(
            {
                "Topic": topic.name,
                "Difficulty (set)": topic.difficulty,
                "Students": n,
                "Average competency": round(avg, 2) if n else None,
                "Completed %": round(100 * n_done / n, 1) if n else None,
                "Classes to complete": round(sessions, 1) if n_done else None,
            }
        )
    return rows


def teachers(session: Session, *, actor: Actor, start: date, end: date) -> list[dict]:
    """Per teacher (a teacher: themselves) over a range: classes taught, attendance in them,
    topics their current students completed on their batches' subjects, those students'
    average competency there, and the feedback about them."""
    actor.require(*STAFF)
    if end < start:
        raise ValidationError("The end date is before the start date.", field="end")
    institute_id = actor.institute_scope()
    tz = ZoneInfo(session.get(Institute, institute_id).timezone)
    since = datetime.combine(start, time.min, tzinfo=tz).astimezone(UTC)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    mine = Batch.teacher_user_id == actor.user_id if actor.role == Role.TEACHER else True
    teacher_of = dict(
        session.exec(
            select(Batch.id, Batch.teacher_user_id).where(Batch.institute_id == institute_id, mine)
        ).all()
    )
    classes = _classes_per_teacher(session, actor, institute_id, teacher_of, start, end)
    progress = _progress_per_teacher(session, institute_id, mine, since, until)
    ratings = {
        s.key: s
        for s in feedback_analytics.by_teacher(session, actor=actor, since=start, until=end)
    }
    people = session.exec(
        select(User.id, User.name).where(
            User.institute_id == institute_id,
            User.role == Role.TEACHER.value,
            User.status == UserStatus.ACTIVE.value,
            User.id == actor.user_id if actor.role == Role.TEACHER else True,
        )
    ).all()
    rows = []
    for uid, name in sorted(people, key=lambda p: (p[1] or "").lower()):
        n, present, total = classes.get(uid, (0, 0, 0))
        completed, competency = progress.get(uid, (0, 0.0))
        rating = ratings.get(uid)
        rows.append(
            {
                "Teacher": name or f"Teacher {uid}",
                "Classes": n,
                "Attendance %": round(100 * present / total, 1) if total else None,
                "Topics completed": completed,
                "Average competency": round(competency, 2) if uid in progress else None,
                "Feedback": rating.count if rating else 0,
                "Average rating": round(rating.average_rating, 2) if rating else None,
            }
        )
    return rows


def _classes_per_teacher(
    session: Session,
    actor: Actor,
    institute_id: int,
    teacher_of: dict[Any, Any],
    start: date,
    end: date,
) -> dict[Any, list[int]]:
    """Per teacher: classes taught in the range, present marks and all marks in them."""
    in_range = (
        ClassSession.institute_id == institute_id,
        col(ClassSession.status).in_((SessionStatus.SUBMITTED.value, SessionStatus.CLOSED.value)),
        ClassSession.date >= start,
        ClassSession.date <= end,
    )
    if actor.role == Role.TEACHER:
        in_range += (col(ClassSession.batch_id).in_(list(teacher_of) or [0]),)
    # Classes and marks grouped by batch in one pass (cheap), then summed per teacher.
    classes: dict[int | None, list[int]] = defaultdict(lambda: [0, 0, 0])
    present, marks, with_marks = attendance_service.mark_sums(session)
    for batch_id, n, n_present, n_marks in session.exec(
        with_marks(select(ClassSession.batch_id, func.count(col(ClassSession.id)), present, marks))
        .where(*in_range)
        .group_by(ClassSession.batch_id)
    ).all():
        row = classes[teacher_of[batch_id]]
        row[0] += int(n)
        row[1] += int(n_present or 0)
        row[2] += int(n_marks or 0)
    return classes


def _progress_per_teacher(
    session: Session, institute_id: int, mine: Any, since: datetime, until: datetime
) -> dict[Any, tuple[int, float]]:
    """Per teacher: topics their current students completed in the range on their batches'
    subjects, and those students' average competency there."""
    # Topic progress of each teacher's current students on their batches' subjects: each
    # student's progress per subject grouped first, then joined to who teaches whom what and
    # summed per teacher, all in the database. (One four-way join let SQLite walk every progress
    # row of the institute once per batch; the grouped subquery is computed once.)
    in_range = (col(TopicProgress.completed_at) >= since) & (
        col(TopicProgress.completed_at) < until
    )
    per_student = (
        select(
            TopicProgress.student_id.label("student_id"),
            Topic.subject_id.label("subject_id"),
            func.sum(case((in_range, 1), else_=0)).label("done"),
            func.sum(TopicProgress.competency).label("total"),
            func.count().label("n"),
        )
        .join(Topic, Topic.id == TopicProgress.topic_id)
        .where(
            TopicProgress.institute_id == institute_id,
            Topic.institute_id == institute_id,
            col(Topic.archived_at).is_(None),
        )
        .group_by(TopicProgress.student_id, Topic.subject_id)
        .subquery()
    )
    # Who teaches which current student what. On PostgreSQL it is materialized first: under
    # row-level security the planner cannot estimate the batches it will see and once joined
    # every batch to every student's progress (1.5 s on the large demo) before probing the
    # memberships. SQLite flattens it into the join instead (materialized, it would compare the
    # two sets row by row: 4.7 s).
    taught = (
        select(
            col(Batch.teacher_user_id).label("teacher_user_id"),
            col(BatchMembership.student_id).label("student_id"),
            col(Batch.subject_id).label("subject_id"),
        )
        .join(
            BatchMembership,
            (BatchMembership.institute_id == Batch.institute_id)
            & (BatchMembership.batch_id == Batch.id),
        )
        .where(Batch.institute_id == institute_id, col(BatchMembership.left_on).is_(None), mine)
        .cte("taught")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    sums = {
        uid: (int(done or 0), float(total or 0), int(n or 0))
        for uid, done, total, n in session.exec(
            select(
                taught.c.teacher_user_id,
                func.sum(per_student.c.done),
                func.sum(per_student.c.total),
                func.sum(per_student.c.n),
            )
            .select_from(taught)
            .join(
                per_student,
                (per_student.c.student_id == taught.c.student_id)
                & (per_student.c.subject_id == taught.c.subject_id),
            )
            .group_by(taught.c.teacher_user_id)
        ).all()
    }
    progress = {uid: (int(done), total / n) for uid, (done, total, n) in sums.items() if n}
    return progress
