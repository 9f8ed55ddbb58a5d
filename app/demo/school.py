"""Who and what a demo institute has: subjects and topics, students with their guardians
(names and phones of their own), and batches with weekly classes."""

from __future__ import annotations

import random
from datetime import date, datetime, time
from typing import Any

from sqlmodel import Session

from app.core.roles import Role
from app.demo.bulk import bulk_load, next_id

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


# How a batch is named: the class or exam it prepares for, the subject's short name, the time of
# day it meets and a section letter ("Class 10 Maths — Morning A").
TRACKS = {
    "Mathematics": ("Maths", ["Class 9", "Class 10", "Class 11", "Class 12", "JEE"]),
    "Physics": ("Physics", ["Class 10", "Class 11", "Class 12", "JEE", "NEET"]),
    "Computer Science": ("Computer Science", ["Class 9", "Class 10", "Class 11", "Class 12"]),
}


MOTHERS = [
    "Sunita",
    "Anjali",
    "Kavita",
    "Lakshmi",
    "Pooja",
    "Rekha",
    "Shalini",
    "Deepa",
    "Geeta",
    "Farida",
    "Wambui",
    "Akinyi",
    "Njeri",
    "Mary",
    "Jane",
    "Halima",
    "Rose",
    "Susan",
]


FATHERS = [
    "Rajesh",
    "Suresh",
    "Anil",
    "Sanjay",
    "Ramesh",
    "Vijay",
    "Manoj",
    "Prakash",
    "Imran",
    "Mohammed",
    "Peter",
    "John",
    "James",
    "Paul",
    "Ochieng",
    "Mutiso",
    "Kiprono",
    "George",
]


SLOT_PATTERNS = [(0, 2, 4), (1, 3, 5), (2, 4, 6), (1, 3, 6)]  # Monday = 0; weekend classes too


START_TIMES = [time(h, m) for h in range(7, 20) for m in (0, 30)]


def new_phone(rng: random.Random, taken: set[str]) -> str:
    """A mobile number nobody in `taken` has (and now taken)."""
    phone = None
    while phone is None or phone in taken:
        phone = rng.choice("6789") + "".join(rng.choice("0123456789") for _ in range(9))
    taken.add(phone)
    return phone


def time_of_day(start: time) -> str:
    return "Morning" if start.hour < 12 else "Afternoon" if start.hour < 16 else "Evening"


def section_letter(n: int) -> str:
    """A, B, … Z, then A2, B2, … (the large demo has hundreds of batches)."""
    return chr(ord("A") + n % 26) + (str(n // 26 + 1) if n >= 26 else "")


def seed_syllabus(session: Session, institute_id: int) -> tuple[Any, Any, Any, Any]:
    """The demo subjects and their topics, in order; returns their ids and the rows loaded."""
    subject_ids: list[int] = []
    topics_of: dict[int, list[int]] = {}
    sid, tid = next_id(session, "subjects"), next_id(session, "topics")
    subjects_rows, topic_rows = [], []
    for name, topics in SUBJECTS.items():
        subjects_rows.append((sid, institute_id, name, name[:3].upper()))
        topics_of[sid] = []
        for pos, topic_name in enumerate(topics, start=1):
            topic_rows.append(
                (tid, institute_id, sid, topic_name, pos, 60 + 15 * (pos % 3), 1 + pos % 5)
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
    return subject_ids, topics_of, subjects_rows, topic_rows


def seed_students(
    session: Session,
    rng: random.Random,
    institute_id: int,
    users: dict[str, list[tuple[int, str, str | None]]],
    now: datetime,
) -> tuple[list[tuple[Any, ...]], list[int]]:
    """One student row per student user, with a guardian each; returns the rows and ids."""
    student_users = users[Role.STUDENT.value]
    # Guardians have phones of their own, unlike anyone else's in the institute.
    phones = {phone for people in users.values() for _, _, phone in people if phone}
    st_id, g_id = next_id(session, "students"), next_id(session, "guardians")
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
        relationship = rng.choice(["mother", "father", "guardian"])
        parent = rng.choice(
            MOTHERS
            if relationship == "mother"
            else FATHERS
            if relationship == "father"
            else MOTHERS + FATHERS
        )
        guardians.append(
            (
                g_id,
                institute_id,
                st_id,
                f"{parent} {name.split()[-1]}",  # the family's surname
                new_phone(rng, phones),
                str(700_000_000 + st_id),
                relationship,
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
    return students, student_ids


def seed_batches(
    session: Session,
    rng: random.Random,
    institute_id: int,
    *,
    student_ids: list[int],
    subject_ids: list[int],
    teachers: list[Any],
    start_of_year: date,
    now: datetime,
) -> tuple[
    list[tuple[Any, ...]],
    dict[int, int],
    dict[int, list[tuple[int, time, int]]],
    dict[int, list[int]],
]:
    """Batches of about 25, three classes a week; a quarter of the students also take a second
    subject. Returns the batch rows, each batch's subject, weekly slots and members."""
    size = 25
    b_id, s_id, m_id = (
        next_id(session, "batches"),
        next_id(session, "batch_schedules"),
        next_id(session, "batch_memberships"),
    )
    batches, slots, memberships = [], [], []
    members_of: dict[int, list[int]] = {}
    batch_subject: dict[int, int] = {}
    batch_slots: dict[int, list[tuple[int, time, int]]] = {}
    first = [student_ids[i : i + size] for i in range(0, len(student_ids), size)]
    seconds = [s for s in student_ids if rng.random() < 0.25]
    groups = [(g, n % len(subject_ids)) for n, g in enumerate(first)]
    groups += [
        (seconds[i : i + size], (k + 1) % len(subject_ids))
        for k, i in enumerate(range(0, len(seconds), size))
    ]
    sections: dict[str, int] = {}
    subject_names = list(SUBJECTS)
    for n, (group, subject_index) in enumerate(groups):
        subject = subject_ids[subject_index]
        start = START_TIMES[(n * 7) % len(START_TIMES)]
        short, tracks = TRACKS[subject_names[subject_index]]
        track = tracks[(n // len(subject_ids)) % len(tracks)]
        base = f"{track} {short} — {time_of_day(start)}"
        section = sections.get(base, 0)
        sections[base] = section + 1
        batches.append(
            (
                b_id,
                institute_id,
                f"{base} {section_letter(section)}",
                subject,
                teachers[n % len(teachers)],
                track,
                "regular",
                30,
                True,
                now,
            )
        )
        batch_subject[b_id] = subject
        pattern = SLOT_PATTERNS[n % len(SLOT_PATTERNS)]
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
    return batches, batch_subject, batch_slots, members_of
