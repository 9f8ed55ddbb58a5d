"""Demo feedback and points: a year of session and teacher feedback (mostly happy, some not, a
quarter anonymous, with the follow-up done on older ones) and rewards and penalties with a few
appeals, bulk-loaded per institute. Sentiment comes from the real classifier (once per comment
template), anonymity and duplicate guards from the real rules."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app.academics.models import Batch, BatchMembership, Student
from app.attendance.models import ClassSession
from app.core import clock, db
from app.core.roles import Role
from app.demo.bulk import bulk_load
from app.feedback import sentiment
from app.feedback.giving import guard_key
from app.feedback.models import Feedback, FeedbackStatus
from app.identity.models import User
from app.inbox import service as inbox_service

FEEDBACK_TABLES = ["feedback", "points_entries"]

COMMENTS: dict[int, list[str | None]] = {
    5: [
        "Excellent class, the examples made everything clear.",
        "Loved the session, very engaging and well explained.",
        "Best teacher I have had, always patient with our doubts.",
        "Great revision before the test, thank you!",
        "The practice problems were really helpful.",
        None,
    ],
    4: [
        "Good session, I understood most of the topic.",
        "Clear explanations, maybe a little more practice next time.",
        "Helpful notes and nice examples.",
        "Enjoyed the group activity.",
        None,
    ],
    3: [
        "The class was okay.",
        "We covered the chapter and did some exercises.",
        "Average session, some parts were unclear.",
        "It started late but we finished the topic.",
        None,
    ],
    2: [
        "Too fast, I could not follow the derivations.",
        "The session was confusing and the notes were missing.",
        "Hard to hear in the back, the room was noisy.",
        "Homework was not explained properly.",
        None,
    ],
    1: [
        "Boring and confusing, a waste of time.",
        "The teacher was rude when I asked a question.",
        "Class cancelled at the last minute again, very frustrating.",
        "Terrible explanation, nobody understood anything.",
        None,
    ],
}
REWARDS = [
    ("attendance", 10, "Perfect attendance this month"),
    ("performance", 20, "Top score in the weekly test"),
    ("performance", 15, "Big improvement since last test"),
    ("assignment", 10, "Excellent homework submission"),
    ("behavior", 5, "Helped classmates during revision"),
    ("other", 10, "Volunteered at the science fair"),
]
PENALTIES = [
    ("attendance", 5, "Late to class three times this week"),
    ("assignment", 10, "Homework not submitted"),
    ("behavior", 10, "Using the phone during class"),
    ("behavior", 5, "Disturbing the class"),
    ("attendance", 10, "Absent without informing"),
]
APPEALS = [
    "I was unwell that day; my parent informed the office.",
    "I did submit it, on paper, to the class monitor.",
    "The bus was late, I have the ticket to show.",
    "It was not my phone ringing.",
]


def _what_was_taught(
    session: Session, institute_id: int, now: datetime
) -> tuple[Any, dict[int, tuple[Any, Any]], dict[int, list[int]], int, list[Any]]:
    """The institute's admin, batches (teacher, subject), current members, how many students,
    and the closed classes with members and a teacher (what can be rated)."""
    admin_id = session.exec(
        select(User.id)
        .where(User.institute_id == institute_id, User.role == Role.ADMIN.value)
        .order_by(User.id)
    ).first()
    batches = {
        bid: (teacher, subject)
        for bid, teacher, subject in session.exec(
            select(Batch.id, Batch.teacher_user_id, Batch.subject_id).where(
                Batch.institute_id == institute_id
            )
        )
    }
    members: dict[int, list[int]] = defaultdict(list)
    for bid, sid in session.exec(
        select(BatchMembership.batch_id, BatchMembership.student_id)
        .where(
            BatchMembership.institute_id == institute_id,
            col(BatchMembership.left_on).is_(None),
        )
        .order_by(BatchMembership.id)
    ):
        members[bid].append(sid)
    student_count = db.count(session, Student, Student.institute_id == institute_id)
    sessions = session.exec(
        select(ClassSession.id, ClassSession.batch_id, ClassSession.starts_at)
        .where(
            ClassSession.institute_id == institute_id,
            ClassSession.status == "closed",
            ClassSession.starts_at <= now,
        )
        .order_by(ClassSession.id)
    ).all()
    sessions = [s for s in sessions if members.get(s[1]) and batches[s[1]][0]]
    return admin_id, batches, members, student_count, sessions


def _review_state(
    rng: random.Random, *, given: datetime, now: datetime, flagged: bool, admin_id: Any
) -> tuple[str, Any, datetime | None, str | None]:
    """How far the office got with a piece of feedback: older ones reviewed, flagged ones
    resolved with a note."""
    age = (now - given).days
    status, reviewed_by, reviewed_at, note = FeedbackStatus.PENDING.value, None, None, None
    if age > 21 or (age > 3 and rng.random() < 0.5):
        reviewed_by, reviewed_at = admin_id, given + timedelta(days=rng.randint(1, 3))
        if flagged or rng.random() < 0.3:
            status = FeedbackStatus.RESOLVED.value
            note = rng.choice(
                [
                    "Discussed with the teacher; pace adjusted.",
                    "Extra doubt-clearing session arranged.",
                    "Thanks for the feedback, shared with the team.",
                    "Room changed to a quieter one.",
                ]
            )
        else:
            status = FeedbackStatus.REVIEWED.value
    return status, reviewed_by, reviewed_at, note


def _load_feedback(session: Session, rows: list[tuple[Any, ...]]) -> int:
    """Bulk-load the feedback rows; returns how many."""
    return bulk_load(
        session,
        "feedback",
        (
            "institute_id",
            "student_id",
            "anonymous",
            "dedupe_guard",
            "feedback_type",
            "faculty_id",
            "session_id",
            "batch_id",
            "subject_id",
            "rating",
            "comments",
            "sentiment",
            "sentiment_score",
            "status",
            "reviewed_by",
            "reviewed_at",
            "resolution_note",
            "created_at",
            "updated_at",
        ),
        rows,
    )


def seed_feedback(
    session: Session, *, rng: random.Random, institute_id: int, timezone: str
) -> dict:
    """Bulk-load a year of feedback and points for one institute; returns what was made."""
    tz = ZoneInfo(timezone)
    now = clock.now()
    today = now.astimezone(tz).date()
    admin_id, batches, members, student_count, sessions = _what_was_taught(
        session, institute_id, now
    )
    if not sessions:
        return {"feedback": 0, "points": 0}

    # A teacher's "mood": most are liked, a few get more complaints.
    teachers = sorted({t for t, _ in batches.values() if t})
    mood = {t: rng.choice([0.9, 0.8, 0.8, 0.7, 0.5]) for t in teachers}
    labels: dict[str, tuple[str, float | None]] = {}

    def classify(comment: str | None, rating: int) -> tuple[str, float | None]:
        key = f"{rating}:{comment}"
        if key not in labels:
            label, score = sentiment.classify(comment, rating)
            labels[key] = (label.value, score)
        return labels[key]

    def rating_for(teacher: int) -> int:
        if rng.random() < mood[teacher]:
            return rng.choice([4, 4, 5, 5, 5, 3])
        return rng.choice([1, 2, 2, 3, 3])

    target = min(4 * student_count, 20_000, 3 * len(sessions))
    picks = [sessions[rng.randrange(len(sessions))] for _ in range(target)]
    guards: set[str] = set()
    rows: list[tuple] = []
    for session_id, batch_id, starts_at in picks:
        teacher, subject = batches[batch_id]
        student = rng.choice(members[batch_id])
        by_teacher = rng.random() < 0.2
        if by_teacher:
            local_month = starts_at.astimezone(tz).strftime("%Y-%m")
            key = f"faculty:{teacher}:{local_month}"
        else:
            key = f"session:{session_id}"
        guard = guard_key(institute_id, student, key)
        if guard in guards:
            continue
        guards.add(guard)
        rating = rating_for(teacher)
        comment = rng.choice(COMMENTS[rating])
        label, score = classify(comment, rating)
        anonymous = rng.random() < 0.25
        given = starts_at + timedelta(hours=rng.randint(1, 30))
        if given > now:
            given = now
        if anonymous:
            given = datetime.combine(given.astimezone(tz).date(), time(12), tzinfo=tz)
            if given > now:
                given -= timedelta(days=1)
        flagged = label == "negative" or rating <= 2
        status, reviewed_by, reviewed_at, note = _review_state(
            rng, given=given, now=now, flagged=flagged, admin_id=admin_id
        )
        rows.append(
            (
                institute_id,
                None if anonymous else student,
                anonymous,
                guard,
                "faculty" if by_teacher else "session",
                teacher,
                None if by_teacher else session_id,
                None if by_teacher else batch_id,
                subject,
                rating,
                comment,
                label,
                score,
                status,
                reviewed_by,
                reviewed_at,
                note,
                given,
                reviewed_at or given,
            )
        )
    # The latest few flagged ones are still waiting for the teacher, whatever day the demo is
    # built on, so the inbox always shows some.
    flagged_rows = sorted(
        (i for i, r in enumerate(rows) if r[11] == "negative" or r[9] <= 2),
        key=lambda i: rows[i][17],
    )
    for i in flagged_rows[-3:]:
        r = rows[i]
        rows[i] = (*r[:13], FeedbackStatus.PENDING.value, None, None, None, r[17], r[17])
    feedback_count = _load_feedback(session, rows)
    actions = _open_actions(session, institute_id=institute_id)
    points = _seed_points(
        session,
        rng=rng,
        institute_id=institute_id,
        today=today,
        admin_id=admin_id,
        members=members,
        batches=batches,
        count=min(3 * student_count, 30_000),
    )
    return {"feedback": feedback_count, "feedback_actions": actions, "points": points}


def _open_actions(session: Session, *, institute_id: int) -> int:
    """Inbox actions for the negative feedback still pending (the older ones were followed up)."""
    pending = session.exec(
        select(
            Feedback.id,
            Feedback.student_id,
            Feedback.batch_id,
            Feedback.session_id,
            Feedback.faculty_id,
            Feedback.rating,
            Feedback.sentiment,
            Feedback.comments,
        ).where(
            Feedback.institute_id == institute_id,
            Feedback.status == FeedbackStatus.PENDING.value,
            (Feedback.sentiment == "negative") | (Feedback.rating <= 2),
        )
    ).all()
    return inbox_service.open_actions_bulk_internal(
        session,
        institute_id=institute_id,
        actions=[
            {
                "type": "negative_feedback",
                "reason": f"{'Anonymous feedback' if sid is None else 'Feedback'} "
                f"({rating}★, {label})" + (f": “{text}”" if text else ""),
                "dedupe_key": f"feedback:{fid}",
                "student_id": sid,
                "batch_id": bid,
                "session_id": cid,
                "owner_user_id": teacher,
            }
            for fid, sid, bid, cid, teacher, rating, label, text in pending
        ],
    )


def _seed_points(
    session: Session,
    *,
    rng: random.Random,
    institute_id: int,
    today: date,
    admin_id: int | None,
    members: dict[int, list[int]],
    batches: dict[int, tuple[int | None, int]],
    count: int,
) -> int:
    pairs = [(bid, sid) for bid, sids in members.items() for sid in sids]
    if not pairs:
        return 0
    now = clock.now()
    rows: list[tuple] = []
    for _ in range(count):
        batch_id, student = pairs[rng.randrange(len(pairs))]
        teacher = batches[batch_id][0]
        day = today - timedelta(days=rng.randint(0, 364))
        at = min(datetime.combine(day, time(11), tzinfo=now.tzinfo), now)
        penalty = rng.random() < 0.3
        category, pts, reason = rng.choice(PENALTIES if penalty else REWARDS)
        giver = teacher if teacher and rng.random() < 0.8 else admin_id
        status, appeal, appealed_at, outcome, note, resolved_by, resolved_at = (
            "active",
            None,
            None,
            None,
            None,
            None,
            None,
        )
        if penalty and rng.random() < 0.08:
            appeal, appealed_at = rng.choice(APPEALS), min(at + timedelta(days=1), now)
            if (today - day).days > 10 or rng.random() < 0.3:
                status, outcome = "resolved", rng.choice(["upheld", "reversed"])
                note = (
                    "Checked with the office; the penalty is removed."
                    if outcome == "reversed"
                    else "The teacher's record stands; please be on time."
                )
                resolved_by = admin_id
                resolved_at = max(appealed_at, min(at + timedelta(days=3), now))
            else:
                status = "appealed"
        rows.append(
            (
                institute_id,
                student,
                giver if giver == teacher else None,
                "penalty" if penalty else "reward",
                category,
                reason,
                pts,
                day,
                giver,
                status,
                appeal,
                appealed_at,
                outcome,
                note,
                resolved_by,
                resolved_at,
                at,
                resolved_at or appealed_at or at,
            )
        )
    return bulk_load(
        session,
        "points_entries",
        (
            "institute_id",
            "student_id",
            "faculty_id",
            "type",
            "category",
            "reason",
            "points",
            "date",
            "created_by",
            "status",
            "appeal_text",
            "appealed_at",
            "appeal_outcome",
            "resolution_note",
            "resolved_by",
            "resolved_at",
            "created_at",
            "updated_at",
        ),
        rows,
    )
