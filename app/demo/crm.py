"""Demo CRM: a year of inquiries and follow-ups per institute, bulk-loaded.

Sources, priorities and conversion follow real patterns: referrals and walk-ins convert best,
social media worst; inquiries older than a month are mostly closed (enrolled, linked to a demo
student, or lost with a reason); recent ones are still new, contacted or have a call planned
(some of those overdue, so the counselors' inboxes have work). About one in a hundred is the same
person asking again (the same phone), for the duplicate finder. Lead scores are
then computed by the real set-based pass. Sizes: `large` has 50,000 inquiries in all (31,000 in
the biggest institute and 1,000 in each of the 19 others).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from app.academics.models import Student, Subject
from app.core import clock
from app.crm import jobs as crm_jobs
from app.crm import leadscore
from app.crm.service import LOST_REASONS
from app.demo.bulk import analyze, bulk_load, fix_sequences, next_id

CRM_TABLES = ["crm_inquiries", "crm_follow_ups"]
# (biggest institute, every other institute)
INQUIRIES = {"small": (120, 60), "medium": (1_500, 300), "large": (31_000, 1_000)}
SOURCES = [
    ("website", 30, 0.15),
    ("walk_in", 20, 0.28),
    ("referral", 15, 0.38),
    ("social_media", 20, 0.08),
    ("campaign", 15, 0.12),
]
PRIORITIES = [("low", 30), ("medium", 50), ("high", 20)]
TYPES = ["call", "call", "call", "whatsapp", "sms", "email", "visit"]
ANSWERED = ["interested", "considering", "callback_requested", "not_interested"]
NOTES = [
    "Asked about weekend batches",
    "Wants to compare fees with another centre",
    "Parent will call back after discussing",
    "Interested in the crash course",
    "Asked for a demo class",
    "Needs transport details",
    None,
    None,
]
FIRST = ["Aarav", "Diya", "Ishaan", "Kavya", "Rohan", "Saanvi", "Arjun", "Priya", "Kabir", "Nisha"]
FIRST += ["Amani", "Baraka", "Wanjiru", "Kamau", "Neema", "Juma", "Faith", "Brian", "Mercy", "Zara"]
LAST = ["Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Khan", "Singh", "Das", "Menon"]
LAST += ["Mwangi", "Odhiambo", "Kariuki", "Wafula", "Njoroge", "Mutua", "Chebet", "Onyango"]


def _pick(rng: random.Random, weighted: list[tuple]) -> tuple:
    return rng.choices(weighted, weights=[w[1] for w in weighted])[0]


def _contacts(
    rng: random.Random,
    follow_ups: list[tuple[Any, ...]],
    *,
    fid: int,
    institute_id: int,
    iid: int,
    counselor: int | None,
    contacts: int,
    created_day: date,
    today: date,
    tz: ZoneInfo,
) -> tuple[int, date, bool, datetime | None, datetime | None]:
    """A few contacts over the weeks after an inquiry came in (rows added to `follow_ups`);
    returns the next follow-up id, the last day, whether anyone answered, and when the
    inquiry was first contacted and first had a call planned."""
    day, answered_any = created_day, False
    contacted_at = scheduled_at = None
    for c in range(contacts):
        day = day + timedelta(days=rng.randrange(1, 8))
        if day > today:
            break
        answered = rng.random() < 0.7
        answered_any |= answered
        at = datetime.combine(day, time(rng.randrange(9, 19)), tzinfo=tz).astimezone(UTC)
        contacted_at = contacted_at or at
        planned = c + 1 < contacts
        scheduled_at = scheduled_at or (at if planned else None)
        follow_ups.append(
            (
                fid,
                institute_id,
                iid,
                counselor,
                day,
                rng.choice(TYPES),
                rng.choice(NOTES),
                None,
                "completed",
                rng.choice(ANSWERED) if answered else "no_answer",
                at,
                at,
            )
        )
        fid += 1
    return fid, day, answered_any, contacted_at, scheduled_at


def _load(
    session: Session, inquiries: list[tuple[Any, ...]], follow_ups: list[tuple[Any, ...]]
) -> None:
    """Bulk-load the inquiries and their follow-ups."""
    bulk_load(
        session,
        "crm_inquiries",
        [
            "id",
            "institute_id",
            "counselor_user_id",
            "student_name",
            "phone",
            "email",
            "interested_subjects",
            "source",
            "status",
            "priority",
            "lost_reason",
            "next_follow_up_date",
            "notes",
            "tags",
            "referrer_student_id",
            "student_id",
            "lead_score",
            "score_reasons",
            "contacted_at",
            "scheduled_at",
            "closed_at",
            "created_by",
            "created_at",
            "updated_at",
        ],
        inquiries,
    )
    bulk_load(
        session,
        "crm_follow_ups",
        [
            "id",
            "institute_id",
            "inquiry_id",
            "counselor_user_id",
            "follow_up_date",
            "follow_up_type",
            "notes",
            "next_follow_up_date",
            "status",
            "outcome",
            "created_at",
            "updated_at",
        ],
        follow_ups,
    )


def _close(
    rng: random.Random,
    follow_ups: list[tuple[Any, ...]],
    counts: dict[str, int],
    free_students: list[Any],
    *,
    outcome: str,
    fid: int,
    institute_id: int,
    iid: int,
    counselor: int | None,
    age: int,
    day: date,
    today: date,
    created_day: date,
    created: datetime,
    tz: ZoneInfo,
    answered_any: bool,
    contacted_at: datetime | None,
    scheduled_at: datetime | None,
) -> tuple[Any, ...]:
    """How the inquiry stands now: enrolled (a free student), lost (with a reason) or still
    open, perhaps with a call planned (a pending follow-up added). Returns the next follow-up
    id, the status, the lost reason, the student, when it closed, the next follow-up day and
    the contact times."""
    status, lost_reason, student_id, closed_at, next_day = "new", None, None, None, None
    close_day = min(day + timedelta(days=rng.randrange(1, 15)), today)
    closed = datetime.combine(close_day, time(rng.randrange(9, 19)), tzinfo=tz).astimezone(UTC)
    if outcome == "enrolled" and free_students:
        status, student_id, closed_at = "enrolled", free_students.pop(), closed
        counts["enrolled"] += 1
    elif outcome in ("lost", "enrolled"):
        status, closed_at = "lost", closed
        lost_reason = "Could not be reached" if not answered_any else rng.choice(LOST_REASONS)
        counts["lost"] += 1
    else:
        status = "contacted" if contacted_at else "new"
        if rng.random() < (0.6 if age > 3 else 0.2):
            # A planned call: mostly in the coming days, some already overdue.
            next_day = today + timedelta(days=rng.randrange(-4, 8))
            next_day = max(next_day, created_day)
            status = "follow_up_scheduled"
            scheduled_at = scheduled_at or created
            contacted_at = contacted_at or created
            counts["overdue"] += next_day < today
            follow_ups.append(
                (
                    fid,
                    institute_id,
                    iid,
                    counselor,
                    next_day,
                    "call",
                    None,
                    None,
                    "pending",
                    None,
                    created,
                    created,
                )
            )
            fid += 1
    if closed_at is not None and contacted_at is None and status == "enrolled":
        contacted_at = closed_at
    return (
        fid,
        status,
        lost_reason,
        student_id,
        closed_at,
        next_day,
        contacted_at,
        scheduled_at,
    )


def seed_crm(
    session: Session,
    *,
    rng: random.Random,
    institute_id: int,
    timezone: str,
    counselors: list[int],
    size: str,
    biggest: bool,
) -> dict:
    """Load one institute's year of inquiries and follow-ups; returns counts."""
    count = INQUIRIES[size][0 if biggest else 1]
    tz = ZoneInfo(timezone)
    now = clock.now()
    today = now.astimezone(tz).date()
    subjects = list(
        session.exec(
            select(Subject.id).where(Subject.institute_id == institute_id).order_by(Subject.id)
        )
    )
    students = list(
        session.exec(
            select(Student.id)
            .where(Student.institute_id == institute_id, Student.status == "active")
            .order_by(Student.id)
        )
    )
    free_students = list(students)
    rng.shuffle(free_students)
    iid, fid = next_id(session, "crm_inquiries"), next_id(session, "crm_follow_ups")
    inquiries, follow_ups = [], []
    phones: list[str] = []
    counts = {"enrolled": 0, "lost": 0, "overdue": 0}
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        # A steady stream over the year, and this week's inquiries not yet called.
        age = rng.randrange(0, 364) if rng.random() > 0.06 else rng.randrange(0, 4)
        created_day = today - timedelta(days=age)
        created = datetime.combine(
            created_day, time(rng.randrange(8, 20), rng.randrange(60)), tzinfo=tz
        ).astimezone(UTC)
        if phones and rng.random() < 0.01:
            # The same person again (stored, like every phone, in E.164).
            phone = rng.choice(phones)
        else:
            digits = rng.choice("6789") + "".join(rng.choice("0123456789") for _ in range(9))
            phone = f"+91{digits}"
            phones.append(phone)
        email = f"{first}.{last}{n}@mail.example".lower() if rng.random() < 0.6 else None
        source, _, convert_p = _pick(rng, SOURCES)
        priority = _pick(rng, PRIORITIES)[0]
        counselor = rng.choice(counselors) if counselors else None
        wants = (
            rng.sample(subjects, k=min(len(subjects), rng.choice([1, 1, 2]))) if subjects else []
        )
        referrer = (
            rng.choice(students)
            if source == "referral" and students and rng.random() < 0.7
            else None
        )
        # How it went: a few contacts over the following weeks, then (for older ones) a close.
        contacts = rng.choice([0, 1, 1, 2, 2, 3, 4]) if age > 3 else 0
        if age > 30:
            outcome = "enrolled" if rng.random() < convert_p else "lost"
        else:
            outcome = rng.choices(
                ["open", "enrolled", "lost"], weights=[80, 10 * convert_p * 5, 10]
            )[0]
        if outcome == "enrolled":
            contacts = max(contacts, 1)
        fid, day, answered_any, contacted_at, scheduled_at = _contacts(
            rng,
            follow_ups,
            fid=fid,
            institute_id=institute_id,
            iid=iid,
            counselor=counselor,
            contacts=contacts,
            created_day=created_day,
            today=today,
            tz=tz,
        )
        (
            fid,
            status,
            lost_reason,
            student_id,
            closed_at,
            next_day,
            contacted_at,
            scheduled_at,
        ) = _close(
            rng,
            follow_ups,
            counts,
            free_students,
            outcome=outcome,
            fid=fid,
            institute_id=institute_id,
            iid=iid,
            counselor=counselor,
            age=age,
            day=day,
            today=today,
            created_day=created_day,
            created=created,
            tz=tz,
            answered_any=answered_any,
            contacted_at=contacted_at,
            scheduled_at=scheduled_at,
        )
        inquiries.append(
            (
                iid,
                institute_id,
                counselor,
                f"{first} {last}",
                phone,
                email,
                json.dumps(sorted(wants)),
                source,
                status,
                priority,
                lost_reason,
                next_day,
                None,
                json.dumps(["weekend"] if rng.random() < 0.15 else []),
                referrer,
                student_id,
                0,
                "[]",
                contacted_at,
                scheduled_at,
                closed_at,
                counselor,
                created,
                closed_at or created,
            )
        )
        iid += 1
    _load(session, inquiries, follow_ups)
    return {
        "inquiries": len(inquiries),
        "follow_ups": len(follow_ups),
        "inquiries_enrolled": counts["enrolled"],
        "inquiries_lost": counts["lost"],
        "follow_ups_overdue": counts["overdue"],
    }


def finish_crm(session: Session, *, institute_ids: list[int]) -> dict:
    """After every institute is loaded: sequences, statistics, the real lead-score pass and the
    follow_up_due actions for calls already overdue."""
    fix_sequences(session, CRM_TABLES)
    analyze(session, CRM_TABLES)
    actions = 0
    for institute_id in institute_ids:
        leadscore.recompute_institute_internal(session, institute_id=institute_id, force=True)
        actions += crm_jobs.open_due_actions_internal(session, institute_id=institute_id)
    return {"follow_up_actions": actions}
