"""A student's own progress per subject: competency per topic, pace, and a predicted completion
date — computed by the same method as the staff's learning analytics (`analytics.learning`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.academics import service as academics
from app.academics.models import Batch, BatchMembership, Subject, Topic
from app.analytics import learning
from app.attendance.models import TopicProgress
from app.attendance.service import DONE_STATUSES
from app.core import clock
from app.core.clock import aware_utc
from app.core.tenancy import Actor
from app.identity.models import Institute


def _institute_tz(session: Session, institute_id: int) -> str:
    return session.get(Institute, institute_id).timezone


@dataclass(frozen=True)
class TopicCompetency:
    topic: str
    status: str  # not_started, in_progress, needs_review, completed, mastered
    competency: float  # 0–5
    sessions: int


@dataclass(frozen=True)
class SubjectProgress:
    subject: str
    started_on: date | None
    expected_completion: date | None  # the date the institute planned, if any
    topics: list[TopicCompetency]
    topics_per_week: float  # learning velocity over the last weeks
    predicted_completion: date | None  # at the current pace (None: nothing to go on yet)
    prediction_note: str
    status: str | None = None  # the enrolment's: active, paused, dropped, completed (None: none)
    recorded_pct: float | None = None  # the enrolment's completion %, as attendance keeps it
    status_changed_on: date | None = None
    completed_on: date | None = None

    @property
    def done(self) -> int:
        return sum(1 for t in self.topics if t.status in DONE_STATUSES)

    @property
    def completion_pct(self) -> float:
        """The enrolment's completion % (kept after each class and daily); counted from the
        topics for a subject studied in a batch without an enrolment."""
        if self.recorded_pct is not None:
            return round(float(self.recorded_pct), 1)
        return round(100 * self.done / len(self.topics), 1) if self.topics else 0.0

    @property
    def mean_competency(self) -> float | None:
        started = [t.competency for t in self.topics if t.sessions]
        return round(sum(started) / len(started), 2) if started else None


def my_progress(session: Session, *, actor: Actor) -> list[SubjectProgress]:
    """The signed-in student's competency per topic of each subject they study (enrolled in or
    in a current batch of), with completion, pace and a predicted completion date."""
    from app.academics.models import Enrollment

    student = academics.my_student(session, actor=actor)
    institute_id = student.institute_id
    subjects: dict[int, dict] = {}
    for subject_id, name, enrolment in session.exec(
        select(Subject.id, Subject.name, Enrollment)
        .join(Subject, col(Subject.id) == Enrollment.subject_id)
        .where(Enrollment.institute_id == institute_id, Enrollment.student_id == student.id)
    ).all():
        subjects[subject_id] = {
            "name": name,
            "started": enrolment.started_on,
            "expected": enrolment.expected_completion,
            "status": enrolment.status,
            "pct": enrolment.completion_pct,
            "changed": enrolment.status_changed_on,
            "completed": enrolment.completed_on,
        }
    for subject_id, name, joined in session.exec(
        select(Subject.id, Subject.name, func.min(BatchMembership.joined_on))
        .join(Batch, Batch.id == BatchMembership.batch_id)
        .join(Subject, Subject.id == Batch.subject_id)
        .where(
            BatchMembership.institute_id == institute_id,
            BatchMembership.student_id == student.id,
            col(BatchMembership.left_on).is_(None),
        )
        .group_by(Subject.id, Subject.name)
    ).all():
        entry = subjects.setdefault(subject_id, {"name": name, "started": None, "expected": None})
        entry["started"] = entry["started"] or joined
    if not subjects:
        return []
    topics: dict[int, list[TopicCompetency]] = {k: [] for k in subjects}
    minutes: dict[int, int] = dict.fromkeys(subjects, 0)  # syllabus minutes still to do
    finished: dict[int, list[tuple[datetime, int]]] = {k: [] for k in subjects}
    for subject_id, topic, estimate, status, competency, sessions, completed_at in session.exec(
        select(
            Topic.subject_id,
            Topic.name,
            Topic.estimated_minutes,
            TopicProgress.status,
            TopicProgress.competency,
            TopicProgress.sessions_count,
            TopicProgress.completed_at,
        )
        .outerjoin(
            TopicProgress,
            (TopicProgress.topic_id == Topic.id)
            & (TopicProgress.institute_id == institute_id)
            & (TopicProgress.student_id == student.id),
        )
        .where(
            Topic.institute_id == institute_id,
            col(Topic.subject_id).in_(list(subjects)),
            col(Topic.archived_at).is_(None),  # as the enrolment's completion counts them
        )
        .order_by(Topic.subject_id, Topic.position, Topic.id)
    ).all():
        topics[subject_id].append(
            TopicCompetency(
                topic=topic,
                status=status or "not_started",
                competency=float(competency or 0),
                sessions=int(sessions or 0),
            )
        )
        if completed_at is not None:
            finished[subject_id].append((aware_utc(completed_at), int(estimate or 0)))
        else:
            minutes[subject_id] += int(estimate or 0)
    tz = _institute_tz(session, institute_id)
    today = clock.today_in(tz)
    return sorted(
        (
            _subject_progress(v, topics[k], finished[k], minutes[k], today, ZoneInfo(tz))
            for k, v in subjects.items()
        ),
        key=lambda p: p.subject,
    )


def _subject_progress(
    subject: dict,
    topics: list[TopicCompetency],
    finished: list[tuple[datetime, int]],
    remaining: int,
    today: date,
    tz: ZoneInfo,
) -> SubjectProgress:
    """Pace and prediction as the staff's learning analytics compute them (the same method)."""

    first_week = today - timedelta(days=today.weekday()) - timedelta(weeks=learning.WEEKS - 1)
    weekly_topics = [0] * learning.WEEKS
    weekly_minutes = [0.0] * learning.WEEKS
    for completed_at, estimate in finished:
        local = completed_at.astimezone(tz).date()
        week = (local - timedelta(days=local.weekday()) - first_week).days // 7
        if 0 <= week < learning.WEEKS:
            weekly_topics[week] += 1
            weekly_minutes[week] += estimate
    predicted, _early, _late, note = (
        learning.predict(weekly_minutes, remaining, today)
        if topics
        else (None, None, None, "No topics in the syllabus yet.")
    )
    return SubjectProgress(
        subject=subject["name"],
        started_on=subject["started"],
        expected_completion=subject["expected"],
        topics=topics,
        topics_per_week=round(sum(weekly_topics) / learning.WEEKS, 2),
        predicted_completion=predicted if remaining > 0 else None,
        prediction_note=note,
        status=subject.get("status"),
        recorded_pct=subject.get("pct"),
        status_changed_on=subject.get("changed"),
        completed_on=subject.get("completed"),
    )
