"""Demo coursework: about ten weeks of weekly homework with a submission row per batch member,
an assessment every two to three weeks with a result per member, and each institute's grade
scale.

Most students hand homework in on time and score in the sixties and seventies. The students the
attendance history already treats badly (chronically absent, or drifting away since three months
ago) and a few who attend but struggle are late, miss work and score low, the drifting ones more
so week by week: the minority an early-warning risk engine should find. Rows are built in Python
and bulk-loaded (COPY on PostgreSQL), all institutes at once.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col

from app.core import clock
from app.coursework import service as coursework
from app.coursework.models import HomeworkSubmission, SubmissionStatus
from app.demo.academics import LOST_SLIDE_DAYS, AcademicYear, BatchPlan
from app.demo.bulk import bulk_load, fix_sequences, next_id

COURSEWORK_TABLES = [
    "grade_bands",
    "homework",
    "homework_submissions",
    "assessments",
    "assessment_results",
]
HOMEWORK_WEEKS = 10
HOMEWORK_TASKS = [
    "worksheet",
    "practice problems",
    "exercise set",
    "reading and questions",
    "revision sheet",
]
# kind, weight, possible maximum marks
ASSESSMENT_KINDS = [
    ("quiz", 40, (10.0, 20.0, 25.0)),
    ("assignment", 20, (20.0, 25.0)),
    ("exam", 15, (50.0, 100.0)),
    ("practical", 15, (30.0, 50.0)),
    ("project", 10, (50.0,)),
]
NO_PRACTICALS = {"Mathematics"}


@dataclass(frozen=True)
class _Learner:
    diligence: float  # chance a piece of homework comes in on time (before any drift)
    ability: float  # the percentage their work scores on average (before any drift)
    drift_start: date | None  # from this day on they slide (the attendance seed's "drifting")
    slide_days: int = 90  # how long the slide takes to hit bottom
    floor: float = 0.12  # the chance of homework on time at the bottom

    def decline(self, day: date) -> float:
        """0 before the slide starts, rising to 1 `slide_days` into it."""
        if self.drift_start is None or day <= self.drift_start:
            return 0.0
        return min(1.0, (day - self.drift_start).days / self.slide_days)

    def on_time_chance(self, day: date) -> float:
        return max(self.floor, self.diligence - 0.55 * self.decline(day))

    def level(self, day: date) -> float:
        return self.ability - 22 * self.decline(day)


HAND_IN_TEXT = (
    "My answers are below; I was not sure about question 3, so I showed two ways to do it."
)


def _learners(year: AcademicYear, rng: random.Random) -> dict[int, _Learner]:
    learners = {}
    for student, (kind, presence) in year.profile.items():
        if kind == "low":
            learner = _Learner(0.35 + 0.2 * rng.random(), rng.gauss(45, 8), None)
        elif kind == "drifting":
            learner = _Learner(0.8 + 0.15 * rng.random(), rng.gauss(66, 9), year.drift_start)
        elif kind == "lost":  # slides as fast as their attendance
            learner = _Learner(
                0.75 + 0.1 * rng.random(), rng.gauss(58, 6), year.drift_start, LOST_SLIDE_DAYS, 0.05
            )
        elif rng.random() < 0.015:  # attends, but struggles with the work
            learner = _Learner(0.4 + 0.2 * rng.random(), rng.gauss(42, 7), None)
        else:  # the steadier the attendance, the more reliable the homework
            diligence = 0.86 + (presence - 0.86) / 0.12 * 0.09 + 0.05 * rng.random()
            learner = _Learner(min(0.99, diligence), rng.gauss(73, 9), None)
        learners[student] = _Learner(
            learner.diligence,
            min(97.0, max(20.0, learner.ability)),
            learner.drift_start,
            learner.slide_days,
            learner.floor,
        )
    return learners


def _class_day_on_or_before(day: date, weekdays: tuple[int, ...]) -> date:
    while day.weekday() not in weekdays:
        day -= timedelta(days=1)
    return day


def _nth_class_day_after(day: date, weekdays: tuple[int, ...], n: int) -> date:
    while n:
        day += timedelta(days=1)
        n -= day.weekday() in weekdays
    return day


def _half_marks(percentage: float, max_marks: float) -> float:
    """Marks out of `max_marks` for a percentage, to the nearest half mark, within 0…max."""
    marks = round(max(0.0, min(100.0, percentage)) / 100 * max_marks * 2) / 2
    return min(max_marks, max(0.0, marks))


@dataclass
class _Rows:
    bands: list[tuple]
    homework: list[tuple]
    submissions: list[tuple]
    assessments: list[tuple]
    results: list[tuple]


def seed_coursework(
    session: Session, *, rng: random.Random, years: Sequence[AcademicYear]
) -> dict[int, dict]:
    """Build every institute's recent coursework and grade scale; returns counts per institute."""
    rows = _Rows([], [], [], [], [])
    hw_id, as_id = next_id(session, "homework"), next_id(session, "assessments")
    counts: dict[int, dict] = {}
    for year in years:
        before = (len(rows.homework), len(rows.submissions))
        before_a = (len(rows.assessments), len(rows.results))
        # The default scale, as the coursework service would create it on first use.
        rows.bands += [(year.institute_id, g, float(m)) for g, m in coursework.DEFAULT_SCALE]
        learners = _learners(year, rng)
        for batch in year.batches:
            hw_id = _homework(rows, rng, year, batch, learners, hw_id)
            as_id = _assessments(rows, rng, year, batch, learners, as_id)
        counts[year.institute_id] = {
            "homework": len(rows.homework) - before[0],
            "submissions": len(rows.submissions) - before[1],
            "assessments": len(rows.assessments) - before_a[0],
            "results": len(rows.results) - before_a[1],
        }
    bulk_load(session, "grade_bands", ["institute_id", "grade", "min_percent"], rows.bands)
    bulk_load(
        session,
        "homework",
        [
            "id",
            "institute_id",
            "batch_id",
            "topic_id",
            "title",
            "instructions",
            "assigned_on",
            "due_on",
            "max_marks",
            "created_by",
            "created_at",
        ],
        rows.homework,
    )
    bulk_load(
        session,
        "homework_submissions",
        [
            "institute_id",
            "homework_id",
            "student_id",
            "status",
            "submitted_on",
            "on_time",
            "marks",
            "comment",
            "updated_by",
            "updated_at",
        ],
        rows.submissions,
    )
    # Work waiting to be marked was handed in through Cohort: its text (files stay in class).
    session.execute(
        update(HomeworkSubmission)
        .where(
            col(HomeworkSubmission.institute_id).in_({r[0] for r in rows.submissions} or {0}),
            col(HomeworkSubmission.status).in_(
                (SubmissionStatus.SUBMITTED.value, SubmissionStatus.LATE.value)
            ),
        )
        .values(
            hand_in_text=HAND_IN_TEXT,
            handed_in_at=HomeworkSubmission.updated_at,
            hand_ins=1,
        )
    )
    bulk_load(
        session,
        "assessments",
        [
            "id",
            "institute_id",
            "batch_id",
            "subject_id",
            "topic_id",
            "kind",
            "title",
            "max_marks",
            "held_on",
            "created_by",
            "created_at",
        ],
        rows.assessments,
    )
    bulk_load(
        session,
        "assessment_results",
        [
            "institute_id",
            "assessment_id",
            "student_id",
            "marks",
            "percentage",
            "grade",
            "absent",
            "feedback",
            "entered_by",
            "entered_at",
        ],
        rows.results,
    )
    fix_sequences(session, COURSEWORK_TABLES)
    return counts


def _homework(
    rows: _Rows,
    rng: random.Random,
    year: AcademicYear,
    batch: BatchPlan,
    learners: dict[int, _Learner],
    hw_id: int,
) -> int:
    """Weekly homework on the same class day, due two or three classes later; the latest is
    always still open."""
    tz = ZoneInfo(year.timezone)
    now = clock.now()
    today = now.astimezone(tz).date()
    latest = _class_day_on_or_before(today, batch.weekdays)

    def at(day: date, hour: int) -> datetime:
        return min(now, datetime.combine(day, time(hour), tz).astimezone(UTC))

    for week in range(HOMEWORK_WEEKS - 1, -1, -1):
        assigned = latest - timedelta(days=7 * week)
        if week and rng.random() < 0.06:
            continue  # a week without homework (a test, a holiday)
        due = _nth_class_day_after(assigned, batch.weekdays, rng.choice((2, 3)))
        topic_id, topic = year.topic_on(batch.subject_id, assigned)  # what class is on
        task = rng.choice(HOMEWORK_TASKS)
        max_marks = rng.choice((None, None, 10.0, 10.0, 20.0))
        rows.homework.append(
            (
                hw_id,
                year.institute_id,
                batch.id,
                topic_id,
                f"{topic}: {task}",
                f"Complete the {task} on {topic.lower()} and hand it in by {due:%A %d %b}.",
                assigned,
                due,
                max_marks,
                batch.teacher_id,
                at(assigned, 18),
            )
        )
        open_ = due >= today  # due by the end of that day: not missing yet
        window = (due - assigned).days
        for student in batch.members:
            if open_:
                rows.submissions.append(
                    (year.institute_id, hw_id, student, "assigned", None, False, *[None] * 4)
                )
                continue
            learner = learners[student]
            on_time_chance = learner.on_time_chance(due)
            roll = rng.random()
            if roll < on_time_chance:
                on_time, submitted = True, assigned + timedelta(days=rng.randint(0, window))
            elif roll < on_time_chance + (1 - on_time_chance) * 0.45:
                on_time, submitted = False, min(today, due + timedelta(days=rng.randint(1, 4)))
            else:
                # The worker marks it missing the day after the due date.
                missed = at(due + timedelta(days=1), 0)
                rows.submissions.append(
                    (year.institute_id, hw_id, student, "missing", None, False, *[None] * 3, missed)
                )
                continue
            marked_on = submitted + timedelta(days=rng.randint(1, 3))
            if max_marks and marked_on < today and rng.random() < 0.92:
                percentage = rng.gauss(learner.level(due), 9) - (0 if on_time else 6)
                marks = _half_marks(percentage, max_marks)
                comment = (
                    "Excellent work."
                    if marks >= 0.9 * max_marks
                    else "See me about this one."
                    if marks < 0.4 * max_marks
                    else None
                )
                rows.submissions.append(
                    (
                        year.institute_id,
                        hw_id,
                        student,
                        "graded",
                        submitted,
                        on_time,
                        marks,
                        comment,
                        batch.teacher_id,
                        at(marked_on, 19),
                    )
                )
            else:
                status = "submitted" if on_time else "late"
                rows.submissions.append(
                    (
                        year.institute_id,
                        hw_id,
                        student,
                        status,
                        submitted,
                        on_time,
                        None,
                        None,
                        None,
                        at(submitted, 20),
                    )
                )
        hw_id += 1
    return hw_id


def _assessments(
    rows: _Rows,
    rng: random.Random,
    year: AcademicYear,
    batch: BatchPlan,
    learners: dict[int, _Learner],
    as_id: int,
) -> int:
    """An assessment on a class day every two to three weeks, marked for every member."""
    tz = ZoneInfo(year.timezone)
    now = clock.now()
    today = now.astimezone(tz).date()
    scale = list(coursework.DEFAULT_SCALE)
    subject = year.subjects.get(batch.subject_id)
    kinds = [k for k in ASSESSMENT_KINDS if k[0] != "practical" or subject not in NO_PRACTICALS]
    held = today - timedelta(days=7 * HOMEWORK_WEEKS - rng.randrange(0, 14))
    while True:
        held = _nth_class_day_after(held, batch.weekdays, 1)
        if held >= today:  # marks come in after the day it is held
            break
        kind, _weight, maxima = rng.choices(kinds, weights=[k[1] for k in kinds])[0]
        max_marks = rng.choice(maxima)
        topic_id, topic = year.topic_on(batch.subject_id, held)
        entered = datetime.combine(held + timedelta(days=rng.randint(0, 2)), time(19), tz)
        entered = min(now, entered.astimezone(UTC))
        rows.assessments.append(
            (
                as_id,
                year.institute_id,
                batch.id,
                batch.subject_id,
                topic_id,
                kind,
                f"{kind.capitalize()}: {topic}",
                max_marks,
                held,
                batch.teacher_id,
                min(now, datetime.combine(held - timedelta(days=7), time(12), tz).astimezone(UTC)),
            )
        )
        harder = -6 if kind == "exam" else 4 if kind in ("project", "practical") else 0
        for student in batch.members:
            learner = learners[student]
            weak = learner.on_time_chance(held) < 0.6
            if rng.random() < (0.12 if weak else 0.025):
                rows.results.append(
                    (year.institute_id, as_id, student, None, None, None, True, None)
                    + (batch.teacher_id, entered)
                )
                continue
            marks = _half_marks(rng.gauss(learner.level(held), 10) + harder, max_marks)
            percentage = coursework.percentage_of(marks, max_marks)
            grade = coursework.grade_for(percentage, scale)
            rows.results.append(
                (year.institute_id, as_id, student, marks, percentage, grade, False, None)
                + (batch.teacher_id, entered)
            )
        as_id += 1
        held += timedelta(days=rng.choice((12, 14, 17, 19)))
    return as_id
