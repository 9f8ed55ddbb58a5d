"""A year of academic history for the demo institutes: syllabus, batches, schedules, sessions,
attendance with realistic absence patterns (most students steady, some drifting away, a few
chronically absent), and topic progress. Bulk-loaded: COPY on PostgreSQL, executemany on SQLite."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlmodel import Session

from app.core import clock
from app.core.roles import Role

SUBJECTS = {
    "Mathematics": [
        "Number systems",
        "Fractions",
        "Algebra basics",
        "Linear equations",
        "Quadratics",
        "Geometry",
        "Trigonometry",
        "Statistics",
        "Probability",
        "Calculus intro",
    ],
    "Physics": [
        "Units",
        "Motion",
        "Forces",
        "Work and energy",
        "Gravitation",
        "Waves",
        "Sound",
        "Light",
        "Electricity",
        "Magnetism",
    ],
    "Computer Science": [
        "Computers",
        "Algorithms",
        "Python basics",
        "Conditions",
        "Loops",
        "Functions",
        "Lists",
        "Files",
        "Databases",
        "Web basics",
    ],
}
SLOT_PATTERNS = [(0, 2, 4), (1, 3, 5), (2, 4, 6), (1, 3, 6)]  # Monday = 0; weekend classes too
START_TIMES = [time(h, m) for h in range(7, 20) for m in (0, 30)]
DAYS_OF_HISTORY = 364


def bulk_load(session: Session, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """Insert many rows fast in the session's transaction; returns how many."""
    connection = session.connection()
    raw = connection.connection.dbapi_connection
    count = 0
    if connection.dialect.name == "postgresql":
        # COPY cannot write through row-level security: stage in a temporary table, then one
        # INSERT … SELECT (which the policies check).
        cols = ", ".join(columns)
        with raw.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE staging_{table} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            with cursor.copy(f"COPY staging_{table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM staging_{table}")
            cursor.execute(f"DROP TABLE staging_{table}")
        return count
    cursor = raw.cursor()
    placeholders = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    batch: list[tuple] = []
    for row in rows:
        batch.append(tuple(_sqlite_value(v) for v in row))
        if len(batch) >= 20_000:
            cursor.executemany(sql, batch)
            count += len(batch)
            batch = []
    if batch:
        cursor.executemany(sql, batch)
        count += len(batch)
    cursor.close()
    return count


def _sqlite_value(value):
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, time):
        return value.strftime("%H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _next_id(session: Session, table: str) -> int:
    return int(session.execute(text(f"select coalesce(max(id), 0) + 1 from {table}")).scalar())


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
]


def analyze(session: Session, tables: Sequence[str]) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL), so queries use indexes."""
    if session.get_bind().dialect.name == "postgresql":
        for table in tables:
            session.execute(text(f"ANALYZE {table}"))


def _fix_sequences(session: Session, tables: Sequence[str]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        for table in tables:
            session.execute(
                text(
                    f"select setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"coalesce((select max(id) from {table}), 1))"
                )
            )


def seed_academics(
    session: Session,
    *,
    rng: random.Random,
    institute_id: int,
    timezone: str,
    users: dict[str, list[tuple[int, str, str | None]]],
    history_days: int = DAYS_OF_HISTORY,
) -> dict:
    """Build one institute's academic year. `users` maps role → [(id, name, phone)]."""
    tz = ZoneInfo(timezone)
    today = clock.now().astimezone(tz).date()
    now = clock.now()
    teachers = [u[0] for u in users[Role.TEACHER.value]] or [None]
    # Syllabus
    subject_ids, topics_of = [], {}
    sid, tid = _next_id(session, "subjects"), _next_id(session, "topics")
    subjects_rows, topic_rows = [], []
    for name, topics in SUBJECTS.items():
        subjects_rows.append((sid, institute_id, name, name[:3].upper()))
        topics_of[sid] = []
        for pos, topic in enumerate(topics, start=1):
            topic_rows.append(
                (tid, institute_id, sid, topic, pos, 60 + 15 * (pos % 3), 1 + pos % 5)
            )
            topics_of[sid].append(tid)
            tid += 1
        subject_ids.append(sid)
        sid += 1
    bulk_load(session, "subjects", ["id", "institute_id", "name", "code"], subjects_rows)
    bulk_load(
        session,
        "topics",
        ["id", "institute_id", "subject_id", "name", "position", "estimated_minutes", "difficulty"],
        topic_rows,
    )
    # Students: one row per student user, with a guardian each.
    student_users = users[Role.STUDENT.value]
    st_id, g_id = _next_id(session, "students"), _next_id(session, "guardians")
    students, guardians, student_ids = [], [], []
    for n, (user_id, name, phone) in enumerate(student_users):
        status = (
            "active" if rng.random() > 0.05 else rng.choice(["on_hold", "dropped", "completed"])
        )
        students.append(
            (
                st_id,
                institute_id,
                user_id,
                f"ADM-{n + 1:05d}",
                name,
                phone,
                status,
                rng.choice(["visual", "auditory", "reading", "kinesthetic"]),
                now,
            )
        )
        guardians.append(
            (
                g_id,
                institute_id,
                st_id,
                f"Parent of {name}",
                phone,
                str(700_000_000 + st_id),
                rng.choice(["mother", "father", "guardian"]),
            )
        )
        student_ids.append(st_id)
        st_id += 1
        g_id += 1
    bulk_load(
        session,
        "students",
        [
            "id",
            "institute_id",
            "user_id",
            "enrollment_no",
            "name",
            "phone",
            "status",
            "learning_style",
            "created_at",
        ],
        students,
    )
    bulk_load(
        session,
        "guardians",
        ["id", "institute_id", "student_id", "name", "phone", "telegram_chat_id", "relationship"],
        guardians,
    )
    # Batches of about 25, three classes a week; a quarter of the students also take a second subject.
    size = 25
    b_id, s_id, m_id = (
        _next_id(session, "batches"),
        _next_id(session, "batch_schedules"),
        _next_id(session, "batch_memberships"),
    )
    batches, slots, memberships = [], [], []
    members_of: dict[int, list[int]] = {}
    batch_subject: dict[int, int] = {}
    batch_slots: dict[int, list[tuple[int, time, int]]] = {}
    start_of_year = today - timedelta(days=history_days)
    first = [student_ids[i : i + size] for i in range(0, len(student_ids), size)]
    seconds = [s for s in student_ids if rng.random() < 0.25]
    groups = [(g, n % len(subject_ids)) for n, g in enumerate(first)]
    groups += [
        (seconds[i : i + size], (k + 1) % len(subject_ids))
        for k, i in enumerate(range(0, len(seconds), size))
    ]
    for n, (group, subject_index) in enumerate(groups):
        subject = subject_ids[subject_index]
        batches.append(
            (
                b_id,
                institute_id,
                f"{['Math', 'Physics', 'CS'][subject_ids.index(subject)]} {n + 1:03d}",
                subject,
                teachers[n % len(teachers)],
                f"Level {1 + n % 4}",
                "regular",
                30,
                True,
                now,
            )
        )
        batch_subject[b_id] = subject
        pattern = SLOT_PATTERNS[n % len(SLOT_PATTERNS)]
        start = START_TIMES[(n * 7) % len(START_TIMES)]
        batch_slots[b_id] = []
        for weekday in pattern:
            slots.append((s_id, institute_id, b_id, weekday, start, 60, True))
            batch_slots[b_id].append((s_id, start, weekday))
            s_id += 1
        members_of[b_id] = group
        for student in group:
            memberships.append((m_id, institute_id, b_id, student, start_of_year))
            m_id += 1
        b_id += 1
    bulk_load(
        session,
        "batches",
        [
            "id",
            "institute_id",
            "name",
            "subject_id",
            "teacher_user_id",
            "level",
            "type",
            "capacity",
            "active",
            "created_at",
        ],
        batches,
    )
    bulk_load(
        session,
        "batch_schedules",
        ["id", "institute_id", "batch_id", "weekday", "start_time", "duration_minutes", "active"],
        slots,
    )
    bulk_load(
        session,
        "batch_memberships",
        ["id", "institute_id", "batch_id", "student_id", "joined_on"],
        memberships,
    )
    # How each student attends: steady, drifting away over the last three months, or chronically absent.
    profile = {}
    for student in student_ids:
        roll = rng.random()
        profile[student] = (
            "drifting" if roll < 0.08 else "low" if roll < 0.12 else "steady",
            0.86 + rng.random() * 0.12,
        )
    drift_start = today - timedelta(days=90)

    def attendance_p(student: int, day: date) -> float:
        kind, base = profile[student]
        if kind == "low":
            return 0.6
        if kind == "drifting" and day >= drift_start:
            return max(0.3, base - (day - drift_start).days / 90 * 0.55)
        return base

    # Sessions for the past year (closed, a few missed) and today/tomorrow (scheduled).
    cs_id = _next_id(session, "class_sessions")
    sessions, records = [], []
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
                topics = topics_of[batch_subject[batch_id]]
                topic = (
                    topics[(len(progress) + batch_id + day.toordinal() // 7) % len(topics)]
                    if past and not missed
                    else None
                )
                status = "missed" if missed else "closed" if past else "scheduled"
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
                        1 if past and not missed else 0,
                        starts + timedelta(minutes=50) if past and not missed else None,
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
                        records.append((institute_id, cs_id, student, mark))
                        if mark in ("present", "late"):
                            entry = progress.setdefault((student, topic), [0, 0.0])
                            entry[0] += 1
                            entry[1] += 2.5 + rng.random() * 2.5
                cs_id += 1
        day += timedelta(days=1)
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
        ],
        sessions,
    )
    n_records = bulk_load(
        session,
        "attendance_records",
        ["institute_id", "session_id", "student_id", "status"],
        records,
    )
    progress_rows = []
    for (student, topic), (count, total) in progress.items():
        competency = round(total / count, 2)
        status = (
            "mastered"
            if competency >= 4.5 and count >= 2
            else "completed"
            if competency >= 3.5
            else "in_progress"
        )
        progress_rows.append((institute_id, student, topic, competency, status, 60 * count, count))
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
        ],
        progress_rows,
    )
    _fix_sequences(
        session,
        [
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
        ],
    )
    return {
        "students": len(students),
        "batches": len(batches),
        "sessions": len(sessions),
        "attendance": n_records,
    }
