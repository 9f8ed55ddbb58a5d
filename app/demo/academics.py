"""A year of academic history for the demo institutes: syllabus, batches, schedules, sessions,
attendance with realistic absence patterns (most students steady, some drifting away, a few
chronically absent), and topic progress. Bulk-loaded: COPY on PostgreSQL, executemany on SQLite."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from app.core import clock
from app.core.roles import Role
from app.demo.bulk import bulk_load, fix_sequences, next_id
from app.demo.school import (
    seed_batches,
    seed_students,
    seed_syllabus,
)
from app.fees import periods

DAYS_OF_HISTORY = 364
LOST_SLIDE_DAYS = 45  # how fast a "lost" student stops coming and handing work in
EXTRA_CLASS_MINUTES = 90


ACADEMIC_TABLES = [
    "subjects",
    "topics",
    "students",
    "guardians",
    "batches",
    "batch_schedules",
    "batch_memberships",
    "class_sessions",
    "attendance_records",
    "topic_progress",
    "holidays",
]

# Tables loaded with explicit ids, whose id sequences then move past them (PostgreSQL).
SEQUENCED_TABLES = [t for t in ACADEMIC_TABLES if t != "holidays"] + ["enrollments"]

HOLIDAY_NAME = "Founders' Day"
CANCEL_REASON = "Teacher at a training workshop"


def _demo_holiday(today: date, term: periods.Term) -> date:
    """A weekday of this term already past (three weeks in, or two weeks ago in a young term)."""
    day = term.starts_on + timedelta(days=21)
    if day >= today - timedelta(days=2):
        day = today - timedelta(days=14)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _demo_cancelled(
    today: date, holiday: date, batch_slots: dict[int, list[tuple[int, time, int]]]
) -> tuple[int, date] | None:
    """The last batch's most recent class day of the past week (not the holiday): cancelled."""
    if not batch_slots:
        return None
    batch_id = max(batch_slots)
    weekdays = {weekday for _s, _t, weekday in batch_slots[batch_id]}
    for back in range(1, 8):
        day = today - timedelta(days=back)
        if day.weekday() in weekdays and day != holiday:
            return batch_id, day
    return None


@dataclass
class BatchPlan:
    id: int
    subject_id: int
    teacher_id: int | None
    weekdays: tuple[int, ...]  # Monday = 0
    members: list[int]  # student ids


@dataclass
class AcademicYear:
    """What one institute's academic year built: a summary for `SeedResult.history`, and the
    shape later demo data builds on (batches, topics, each student's attendance profile)."""

    institute_id: int
    timezone: str
    summary: dict
    batches: list[BatchPlan] = field(default_factory=list)
    subjects: dict[int, str] = field(default_factory=dict)  # id → name
    topics_of: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # subject → topics
    # student id → ("steady" | "drifting" | "lost" | "low", steady presence probability)
    profile: dict[int, tuple[str, float]] = field(default_factory=dict)
    drift_start: date | None = None
    term_starts: str | None = None  # the institute's terms, which syllabus plans follow

    @property
    def lost(self) -> set[int]:
        """The students who stopped coming (their families stopped paying too)."""
        return {student for student, (kind, _) in self.profile.items() if kind == "lost"}

    def topic_on(self, subject_id: int, day: date) -> tuple[int, str]:
        """The topic a batch of the subject teaches on `day` (its term's plan)."""
        topics = self.topics_of[subject_id]
        term = periods.term_containing(day, self.term_starts)
        return topics[syllabus_position(day, term, len(topics))]


def syllabus_position(day: date, term: periods.Term, topics: int) -> int:
    """Which of a syllabus's `topics` (0-based, in order) a batch teaches on `day` when it
    covers the whole syllabus evenly over `term`."""
    length = (term.ends_on - term.starts_on).days + 1
    elapsed = min(max((day - term.starts_on).days, 0), length - 1)
    return elapsed * topics // length


def _class_open_now(
    batch_ids: list[int], sessions: list[tuple[Any, ...]], *, now: datetime, tz: ZoneInfo
) -> tuple[int, datetime] | None:
    """The demo teacher (who teaches `batch_ids`) has a class to take whenever the demo starts:
    unless one of theirs today started and runs another half hour, an extra class (batch, start)
    of the first of their batches free then, from the last full or half hour in the institute's
    time (so still today) for EXTRA_CLASS_MINUTES. None when nothing needs adding."""
    if not batch_ids:
        return None
    local = now.astimezone(tz)
    starts = local.replace(minute=local.minute - local.minute % 30, second=0, microsecond=0)
    starts = starts.astimezone(UTC)
    ends = starts + timedelta(minutes=EXTRA_CLASS_MINUTES)
    busy = set()
    for row in sessions:  # (id, institute, batch, schedule, day, starts, ends, status, …)
        if row[2] in batch_ids and row[4] == local.date():
            if row[7] == "scheduled" and row[5] <= now and row[6] >= now + timedelta(minutes=30):
                return None
            if row[5] < ends and starts < row[6]:
                busy.add(row[2])
    free = [b for b in batch_ids if b not in busy]
    return (free or batch_ids)[0], starts


def _seed_enrolments(
    session: Session,
    *,
    institute_id: int,
    today: date,
    started_on: date,
    batches: list[tuple[int, int, int | None]],
    members_of: dict[int, list[int]],
    active: set[int],
    topics_of: dict[int, list[int]],
    done: list[tuple[int, int]],
) -> int:
    """An enrolment for every membership's (student, subject), with the batch's teacher and the
    completion % of the topics done, as joining a batch and the daily job make them; one
    active student paused and one completed, the same ones on every seed. One bulk insert."""
    subject_of_topic = {t: subject for subject, topic_ids in topics_of.items() for t in topic_ids}
    finished: dict[tuple[int, int], int] = {}
    for student, topic in done:
        key = (student, subject_of_topic[topic])
        finished[key] = finished.get(key, 0) + 1
    plans: dict[tuple[int, int], int | None] = {}
    for batch_id, subject, teacher in batches:
        for student in members_of[batch_id]:
            plans.setdefault((student, subject), teacher)
    ordered = sorted(plans)
    chosen = [key for key in ordered if key[0] in active]
    paused = chosen[1] if len(chosen) > 1 else None
    completed = chosen[3] if len(chosen) > 3 else None
    e_id = next_id(session, "enrollments")
    rows = []
    for key in ordered:
        student, subject = key
        status, changed, reason, completed_on = "active", started_on, None, None
        if key == paused:
            status, changed, reason = "paused", today - timedelta(days=10), "Family travel"
        elif key == completed:
            status, changed, reason = "completed", today - timedelta(days=7), "Finished early"
            completed_on = changed
        topics = len(topics_of[subject])
        pct = round(100 * finished.get(key, 0) / topics, 1) if topics else 0.0
        rows.append(
            (
                e_id,
                institute_id,
                student,
                subject,
                started_on,
                pct,
                status,
                plans[key],
                changed,
                reason,
                completed_on,
            )
        )
        e_id += 1
    return bulk_load(
        session,
        "enrollments",
        [
            "id",
            "institute_id",
            "student_id",
            "subject_id",
            "started_on",
            "completion_pct",
            "status",
            "teacher_user_id",
            "status_changed_on",
            "status_reason",
            "completed_on",
        ],
        rows,
    )


def _attendance_profiles(
    rng: random.Random, students: list[tuple[Any, ...]], today: date
) -> tuple[dict[int, tuple[str, float]], date, Any]:
    """How each student attends: steady, drifting away over the last three months, or chronically
    absent; and, so that every demo has someone at each risk level, one active student in
    fifty (the first in the first batch) is "lost": they stopped coming, handing work in and
    paying over the last three months (HIGH risk); one more in fifty is chronically absent
    (MEDIUM). Returns the profiles, when drifting starts, and the chance of attending."""
    profile = {}
    for student in [row[0] for row in students]:
        roll = rng.random()
        profile[student] = (
            "drifting" if roll < 0.08 else "low" if roll < 0.12 else "steady",
            0.86 + rng.random() * 0.12,
        )
    active = [row[0] for row in students if row[6] == "active"]
    for student in active[2::50]:
        profile[student] = ("lost", profile[student][1])
    for student in active[5::50]:
        profile[student] = ("low", profile[student][1])
    drift_start = today - timedelta(days=90)

    def attendance_p(student: int, day: date) -> float:
        kind, base = profile[student]
        if kind == "low":
            return 0.6
        if kind == "drifting" and day >= drift_start:
            return max(0.3, base - (day - drift_start).days / 90 * 0.55)
        if kind == "lost" and day >= drift_start:
            return max(0.1, base - (day - drift_start).days / LOST_SLIDE_DAYS * 0.8)
        return base

    return profile, drift_start, attendance_p


def _simulate_sessions(
    session: Session,
    rng: random.Random,
    institute_id: int,
    *,
    tz: ZoneInfo,
    today: date,
    now: datetime,
    term: periods.Term,
    holiday: date,
    start_of_year: date,
    batch_slots: dict[int, list[tuple[int, time, int]]],
    batch_subject: dict[int, int],
    topics_of: dict[int, list[int]],
    members_of: dict[int, list[int]],
    attendance_p: Any,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], dict[tuple[int, int], list[Any]]]:
    """Sessions for the past year (closed, a few missed) and today/tomorrow (scheduled). Each batch
    works through its syllabus in order over this term (periods.term_containing, the
    institute's terms); the classes of earlier terms covered last term's course, not these
    topics. Returns the sessions, the marks and each student's topic progress."""
    # One holiday this term and one cancelled class, deterministic: their classes are cancelled
    # (no marks). The dice are still rolled for them so every other class keeps its marks.
    cancelled = _demo_cancelled(today, holiday, batch_slots)
    cs_id = next_id(session, "class_sessions")
    sessions: list[tuple[Any, ...]] = []
    records: list[tuple[Any, ...]] = []
    progress: dict[tuple[int, int], list] = {}
    day = start_of_year
    while day <= today + timedelta(days=1):
        weekday = day.weekday()
        for batch_id, batch_slot_list in batch_slots.items():
            for schedule_id, start, slot_day in batch_slot_list:
                if slot_day != weekday:
                    continue
                starts = datetime.combine(day, start, tz).astimezone(UTC)
                ends = starts + timedelta(minutes=60)
                past = ends + timedelta(minutes=10) < now
                missed = past and rng.random() < 0.02
                off = (
                    f"Holiday: {HOLIDAY_NAME}"
                    if day == holiday
                    else CANCEL_REASON
                    if (batch_id, day) == cancelled
                    else None
                )
                held = past and not missed and off is None
                topics = topics_of[batch_subject[batch_id]]
                topic = (
                    topics[syllabus_position(day, term, len(topics))]
                    if held and day >= term.starts_on
                    else None
                )
                status = (
                    "cancelled"
                    if off
                    else "missed"
                    if missed
                    else "closed"
                    if past
                    else "scheduled"
                )
                sessions.append(
                    (
                        cs_id,
                        institute_id,
                        batch_id,
                        schedule_id,
                        day,
                        starts,
                        ends,
                        status,
                        f"[{topic}]" if topic else None,
                        1 if held else 0,
                        starts + timedelta(minutes=50) if held else None,
                        off,
                    )
                )
                if past and not missed:
                    for student in members_of[batch_id]:
                        p = attendance_p(student, day)
                        roll = rng.random()
                        mark = (
                            "present"
                            if roll < p
                            else "late"
                            if roll < p + 0.03
                            else "excused"
                            if roll < p + 0.05
                            else "absent"
                        )
                        if off:
                            continue  # not held: the dice above keep the others' marks as they were
                        records.append((institute_id, cs_id, student, mark))
                        if topic is not None and mark in ("present", "late"):
                            entry = progress.setdefault((student, topic), [0, 0.0, None, None])
                            entry[0] += 1
                            entry[1] += 2.5 + rng.random() * 2.5
                            entry[3] = starts
                            if entry[2] is None and entry[1] / entry[0] >= 3.5:
                                entry[2] = starts  # first reached completed
                cs_id += 1
        day += timedelta(days=1)
    return sessions, records, progress


def _load_year(
    session: Session,
    institute_id: int,
    *,
    sessions: list[tuple[Any, ...]],
    holiday: date,
    records: list[tuple[Any, ...]],
    progress: dict[tuple[int, int], list[Any]],
    now: datetime,
) -> tuple[int, list[tuple[Any, ...]]]:
    """Bulk-load the year's classes, its holiday, the marks and each student's topic progress
    (its status from the competency reached); returns how many marks and the progress rows."""
    bulk_load(
        session,
        "class_sessions",
        [
            "id",
            "institute_id",
            "batch_id",
            "schedule_id",
            "date",
            "starts_at",
            "ends_at",
            "status",
            "topics_covered",
            "version",
            "submitted_at",
            "cancel_reason",
        ],
        sessions,
    )
    bulk_load(
        session,
        "holidays",
        ["institute_id", "date", "name", "batch_id", "created_by", "created_at"],
        [(institute_id, holiday, HOLIDAY_NAME, None, None, now)],
    )
    n_records = bulk_load(
        session,
        "attendance_records",
        ["institute_id", "session_id", "student_id", "status"],
        records,
    )
    progress_rows = []
    for (student, topic), (count, total, completed_at, last_at) in progress.items():
        competency = round(total / count, 2)
        status = (
            "mastered"
            if competency >= 4.5 and count >= 2
            else "completed"
            if competency >= 3.5
            else "in_progress"
        )
        done_at = completed_at if status != "in_progress" else None
        progress_rows.append(
            (institute_id, student, topic, competency, status, 60 * count, count, last_at, done_at)
        )
    bulk_load(
        session,
        "topic_progress",
        [
            "institute_id",
            "student_id",
            "topic_id",
            "competency",
            "status",
            "minutes_spent",
            "sessions_count",
            "last_session_at",
            "completed_at",
        ],
        progress_rows,
    )
    return n_records, progress_rows


def seed_academics(
    session: Session,
    *,
    rng: random.Random,
    institute_id: int,
    timezone: str,
    users: dict[str, list[tuple[int, str, str | None]]],
    term_starts: str | None = None,
    history_days: int = DAYS_OF_HISTORY,
) -> AcademicYear:
    """Build one institute's academic year. `users` maps role → [(id, name, phone)]."""
    tz = ZoneInfo(timezone)
    today = clock.now().astimezone(tz).date()
    now = clock.now()
    # The demo's teacher is the one dev sign-in lists first (by name): they teach the first batch.
    staff = users[Role.TEACHER.value]
    lead = min(staff, key=lambda u: (u[1], u[0]))[0] if staff else None
    teachers = [lead] + [u[0] for u in staff if u[0] != lead] if staff else [None]
    subject_ids, topics_of, subjects_rows, topic_rows = seed_syllabus(session, institute_id)
    students, student_ids = seed_students(session, rng, institute_id, users, now)
    start_of_year = today - timedelta(days=history_days)
    batches, batch_subject, batch_slots, members_of = seed_batches(
        session,
        rng,
        institute_id,
        student_ids=student_ids,
        subject_ids=subject_ids,
        teachers=teachers,
        start_of_year=start_of_year,
        now=now,
    )
    profile, drift_start, attendance_p = _attendance_profiles(rng, students, today)
    term = periods.term_containing(today, term_starts)
    holiday = _demo_holiday(today, term)
    sessions, records, progress = _simulate_sessions(
        session,
        rng,
        institute_id,
        tz=tz,
        today=today,
        now=now,
        term=term,
        holiday=holiday,
        start_of_year=start_of_year,
        batch_slots=batch_slots,
        batch_subject=batch_subject,
        topics_of=topics_of,
        members_of=members_of,
        attendance_p=attendance_p,
    )
    cs_id = next_id(session, "class_sessions") + len(sessions)
    extra = _class_open_now(
        [row[0] for row in batches if lead is not None and row[4] == lead],
        sessions,
        now=now,
        tz=tz,
    )
    if extra is not None:
        batch_id, starts = extra
        sessions.append(
            (cs_id, institute_id, batch_id, None, today, starts)
            + (starts + timedelta(minutes=EXTRA_CLASS_MINUTES), "scheduled", None, 0, None, None)
        )
        cs_id += 1
    n_records, progress_rows = _load_year(
        session,
        institute_id,
        sessions=sessions,
        holiday=holiday,
        records=records,
        progress=progress,
        now=now,
    )
    n_enrolments = _seed_enrolments(
        session,
        institute_id=institute_id,
        today=today,
        started_on=start_of_year,
        batches=[(row[0], row[3], row[4]) for row in batches],
        members_of=members_of,
        active={row[0] for row in students if row[6] == "active"},
        topics_of=topics_of,
        done=[(row[1], row[2]) for row in progress_rows if row[4] in ("completed", "mastered")],
    )
    fix_sequences(session, SEQUENCED_TABLES)
    topic_names = {row[0]: row[3] for row in topic_rows}
    return AcademicYear(
        institute_id=institute_id,
        timezone=timezone,
        summary={
            "students": len(students),
            "batches": len(batches),
            "sessions": len(sessions),
            "attendance": n_records,
            "enrolments": n_enrolments,
        },
        batches=[
            BatchPlan(
                id=row[0],
                subject_id=row[3],
                teacher_id=row[4],
                weekdays=tuple(sorted(slot[2] for slot in batch_slots[row[0]])),
                members=members_of[row[0]],
            )
            for row in batches
        ],
        subjects={row[0]: row[2] for row in subjects_rows},
        topics_of={
            subject: [(t, topic_names[t]) for t in topic_ids]
            for subject, topic_ids in topics_of.items()
        },
        profile=profile,
        drift_start=drift_start,
        term_starts=term_starts,
    )
