"""After a class: topic progress and competency, guardians told of absences, absence streaks; assessment results feed competency too."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from app.academics.models import (
    Batch,
    Guardian,
    Student,
    Topic,
)
from app.attendance.common import DONE_STATUSES, aware_utc
from app.attendance.completion import enrolment_completion_internal
from app.attendance.models import (
    ABSENT_MARKS,
    AttendanceRecord,
    ClassSession,
    Mark,
    SessionStatus,
    TopicProgress,
)
from app.core import clock, events
from app.core.ownership import owned
from app.identity.models import Institute
from app.inbox import service as inbox
from app.notify import buttons as notify_buttons
from app.notify import service as notify


def post_class_pipeline(
    session: Session,
    *,
    row: ClassSession,
    batch: Batch,
    marks: dict[int, str],
    ratings: dict[int, int],
    topic_ids: list[int],
) -> dict:
    """Topic progress, guardian absence messages (deduplicated), absence streak actions."""
    rules = notify.effective_rules_internal(
        session, institute_id=row.institute_id, batch_id=batch.id
    )
    progress = _topic_progress(session, row=row, marks=marks, ratings=ratings, topic_ids=topic_ids)
    if progress:
        enrolment_completion_internal(
            session,
            institute_id=row.institute_id,
            subject_id=batch.subject_id,
            student_ids=[
                sid for sid, m in marks.items() if m in (Mark.PRESENT.value, Mark.LATE.value)
            ],
        )
    absent = [sid for sid, m in marks.items() if m in ABSENT_MARKS]
    messages = 0
    if absent and rules.notify_guardian_on_absence:
        tz = ZoneInfo(session.get(Institute, row.institute_id).timezone)
        local = aware_utc(row.starts_at).astimezone(tz)
        names = {
            s.id: s.name for s in session.exec(select(Student).where(col(Student.id).in_(absent)))
        }
        guardians = session.exec(
            select(Guardian).where(
                Guardian.institute_id == row.institute_id, col(Guardian.student_id).in_(absent)
            )
        ).all()
        messages = notify.enqueue_many_internal(
            session,
            institute_id=row.institute_id,
            messages=[
                {
                    "channel": "telegram",
                    "recipient": g.telegram_chat_id,
                    "text": f"{names[g.student_id]} was absent from {batch.name} on {local:%A %d %B} at {local:%H:%M}. "
                    "Please reply to the institute if this is unexpected.",
                    "dedupe_key": f"absence:{row.id}:{g.student_id}:{g.id}",
                    # Pressed on Telegram (app.bot): acknowledged, or tomorrow's classes told.
                    "buttons": [
                        [
                            notify_buttons.act("Noted", "an", f"{g.id}-{row.id}"),
                            notify_buttons.act("Will be absent tomorrow", "at", f"{g.id}-{row.id}"),
                        ]
                    ],
                }
                for g in guardians
            ],
        )
    streaks = _absence_streaks(
        session, row=row, batch=batch, absent=absent, threshold=rules.absence_streak_threshold
    )
    # Badges whose rules this class may now meet (attendance, competency) are awarded at once.
    reactions = events.publish(
        session,
        events.AttendanceSubmitted(
            institute_id=row.institute_id,
            session_id=row.id,
            batch_id=batch.id,
            student_ids=frozenset(marks),
        ),
    )
    badges = reactions.get("badges") or {}
    return {
        "topic_progress": progress,
        "guardian_messages": messages,
        "streak_actions": streaks,
        "badges": badges.get("rule_awards", 0) + badges.get("progression_awards", 0),
    }


def _topic_progress(
    session: Session,
    *,
    row: ClassSession,
    marks: dict[int, str],
    ratings: dict[int, int],
    topic_ids: list[int],
) -> int:
    """Competency 0–5 is the running mean of understanding ratings (3 when a class gave none)."""
    attended = [sid for sid, m in marks.items() if m in (Mark.PRESENT.value, Mark.LATE.value)]
    if not topic_ids or not attended:
        return 0
    minutes = int((aware_utc(row.ends_at) - aware_utc(row.starts_at)).total_seconds() // 60) // len(
        topic_ids
    )
    existing = {
        (p.student_id, p.topic_id): p
        for p in session.exec(
            select(TopicProgress).where(
                TopicProgress.institute_id == row.institute_id,
                col(TopicProgress.student_id).in_(attended),
                col(TopicProgress.topic_id).in_(topic_ids),
            )
        )
    }
    new_rows = []
    for student_id in attended:
        rating = ratings.get(student_id, 3)
        for topic_id in topic_ids:
            p = existing.get((student_id, topic_id))
            count = p.sessions_count if p else 0
            competency = round(((p.competency if p else 0) * count + rating) / (count + 1), 2)
            status = (
                "needs_review"
                if rating <= 2
                else "mastered"
                if competency >= 4.5 and count + 1 >= 2
                else "completed"
                if competency >= 3.5
                else "in_progress"
            )
            if p is None:
                new_rows.append(
                    {
                        "institute_id": row.institute_id,
                        "student_id": student_id,
                        "topic_id": topic_id,
                        "competency": competency,
                        "status": status,
                        "minutes_spent": minutes,
                        "sessions_count": 1,
                        "last_session_at": row.starts_at,
                        "completed_at": row.starts_at if status in DONE_STATUSES else None,
                    }
                )
            else:
                p.competency, p.status, p.sessions_count = competency, status, count + 1
                p.minutes_spent += minutes
                p.last_session_at = row.starts_at
                if status in DONE_STATUSES and p.completed_at is None:
                    p.completed_at = row.starts_at
                session.add(p)
    if new_rows:
        session.execute(insert(TopicProgress), new_rows)
    session.flush()
    return len(attended) * len(topic_ids)


def _absence_streaks(
    session: Session, *, row: ClassSession, batch: Batch, absent: list[int], threshold: int
) -> int:
    """Students absent from the batch's last `threshold` taken sessions get one action per streak."""
    if not absent or threshold < 1:
        return 0
    recent = list(
        session.exec(
            select(ClassSession.id)
            .where(
                ClassSession.institute_id == row.institute_id,
                ClassSession.batch_id == batch.id,
                col(ClassSession.status).in_(
                    [SessionStatus.SUBMITTED.value, SessionStatus.CLOSED.value]
                ),
                ClassSession.starts_at <= row.starts_at,
            )
            .order_by(col(ClassSession.starts_at).desc())
            .limit(threshold)
        )
    )
    if len(recent) < threshold:
        return 0
    marks = session.exec(
        select(
            AttendanceRecord.student_id, AttendanceRecord.session_id, AttendanceRecord.status
        ).where(
            AttendanceRecord.institute_id == row.institute_id,
            col(AttendanceRecord.session_id).in_(recent),
            col(AttendanceRecord.student_id).in_(absent),
        )
    ).all()
    absences: dict[int, int] = {}
    for student_id, _sid, status in marks:
        if status in ABSENT_MARKS:
            absences[student_id] = absences.get(student_id, 0) + 1
    opened = 0
    names = {s.id: s.name for s in session.exec(select(Student).where(col(Student.id).in_(absent)))}
    for student_id, n in absences.items():
        if n >= threshold:
            inbox.open_action_internal(
                session,
                institute_id=row.institute_id,
                type="absence_streak",
                student_id=student_id,
                batch_id=batch.id,
                session_id=row.id,
                owner_user_id=batch.teacher_user_id,
                reason=f"{names[student_id]} missed the last {threshold} classes of {batch.name}.",
                dedupe_key=f"absence_streak:{student_id}:{batch.id}:{recent[-1]}",
            )
            opened += 1
    return opened


ASSESSMENT_WEIGHT = 2  # one assessment result counts as much as two class understanding ratings


def apply_assessment_internal(
    session: Session, *, institute_id: int, topic_id: int, percentages: dict[int, float]
) -> int:
    """Fold assessment results on a topic into the students' topic progress (set-based).

    A result of p% is a competency of p / 20 (0–5). It joins the running mean that class ratings
    keep, weighted ASSESSMENT_WEIGHT: new = (competency × sessions_count + result × weight) /
    (sessions_count + weight); a student never rated in class takes the result as it is. The
    status follows the class rules with the result in place of the rating: needs_review for a
    result of 2 or less (40% or less), mastered at 4.5 or more once a class is behind it too,
    completed at 3.5 or more, otherwise in_progress. sessions_count, minutes_spent and
    last_session_at stay the classes' own. Students without a row get one; enrolment
    completion is refreshed as after a class. One read, one bulk insert, one bulk update.
    """
    if not percentages:
        return 0
    topic = owned(session, Topic, topic_id, institute_id, "topic")
    existing = {
        student_id: (row_id, competency, count, completed_at)
        for row_id, student_id, competency, count, completed_at in session.exec(
            select(
                TopicProgress.id,
                TopicProgress.student_id,
                TopicProgress.competency,
                TopicProgress.sessions_count,
                TopicProgress.completed_at,
            ).where(
                TopicProgress.institute_id == institute_id,
                TopicProgress.topic_id == topic_id,
                col(TopicProgress.student_id).in_(list(percentages)),
            )
        )
    }
    new_rows, changes = [], []
    now = clock.now()
    for student_id, percent in percentages.items():
        result = min(max(float(percent), 0.0), 100.0) / 20
        row_id, current, count, completed_at = existing.get(student_id, (None, 0.0, 0, None))
        competency = round(
            ((current or 0) * count + result * ASSESSMENT_WEIGHT) / (count + ASSESSMENT_WEIGHT), 2
        )
        status = (
            "needs_review"
            if result <= 2
            else "mastered"
            if competency >= 4.5 and count >= 1
            else "completed"
            if competency >= 3.5
            else "in_progress"
        )
        if row_id is None:
            new_rows.append(
                {
                    "institute_id": institute_id,
                    "student_id": student_id,
                    "topic_id": topic_id,
                    "competency": competency,
                    "status": status,
                    "minutes_spent": 0,
                    "sessions_count": 0,
                    "completed_at": now if status in DONE_STATUSES else None,
                }
            )
        else:
            if completed_at is None and status in DONE_STATUSES:
                completed_at = now
            changes.append(
                {
                    "id": row_id,
                    "competency": competency,
                    "status": status,
                    "completed_at": completed_at,
                }
            )
    if new_rows:
        session.execute(insert(TopicProgress), new_rows)
    if changes:
        session.execute(update(TopicProgress), changes)
    session.flush()
    enrolment_completion_internal(
        session,
        institute_id=institute_id,
        subject_id=topic.subject_id,
        student_ids=list(percentages),
    )
    return len(percentages)
