"""Reports home: once a month (and on demand from the report card) each active student's
guardians get a progress summary on Telegram: attendance, topics completed, the latest marks
and the fee balance, with the month's report card PDF. A guardian may opt out; a guardian never gets the same month twice (the
outbox's dedupe key is the guardian and the month). Every figure of an institute is read in a
handful of grouped queries, whatever the number of students."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select

from app.academics.models import Guardian, Student, StudentStatus
from app.attendance.models import AttendanceRecord, ClassSession, Mark, TopicProgress
from app.core import audit
from app.core.errors import ValidationError
from app.core.money import format_money
from app.core.ownership import find_owned
from app.core.roles import Role
from app.core.tenancy import Actor
from app.coursework import service as coursework
from app.coursework.models import Assessment, AssessmentResult
from app.fees import reports as fee_reports
from app.identity.models import Institute
from app.integrations.telegram import Document
from app.notify import service as notify


@dataclass(frozen=True)
class Summary:
    student_id: int
    name: str
    present: int
    classes: int
    topics: int
    latest: tuple[str, float] | None  # (assessment title, percentage)
    due_minor: int
    overdue_minor: int


def month_of(day: date) -> tuple[date, date]:
    """The first and last day of `day`'s month."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def parse_month(text: str) -> date:
    """'2026-11' → 1 November 2026, with a message a person can act on."""
    try:
        return datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError as exc:
        raise ValidationError("Give the month as YYYY-MM, e.g. 2026-11.", field="month") from exc


def _own(parent: Any, child: Any, parent_id: Any) -> Any:
    """Join `child` rows to their `parent` row (by `parent_id`) of the same institute."""
    return and_(
        col(parent.institute_id) == col(child.institute_id), col(parent.id) == col(parent_id)
    )


def summaries_internal(
    session: Session, *, institute_id: int, month: date, student_ids: list[int] | None = None
) -> list[Summary]:
    """The month's figures of the institute's active students (or of `student_ids`)."""
    first, last = month_of(month)
    institute = session.get(Institute, institute_id)
    if institute is None:
        return []
    tz = ZoneInfo(institute.timezone)
    since = datetime.combine(first, time.min, tzinfo=tz).astimezone(UTC)
    until = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    who = select(Student.id, Student.name).where(
        Student.institute_id == institute_id, Student.status == StudentStatus.ACTIVE.value
    )
    if student_ids is not None:
        who = who.where(col(Student.id).in_(student_ids or [0]))
    names: dict[int, str] = {sid: name for sid, name in session.exec(who).all() if sid}
    if not names:
        return []
    ids = list(names)
    attended = {
        sid: (int(p or 0), int(n or 0))
        for sid, p, n in session.exec(
            select(
                AttendanceRecord.student_id,
                func.sum(
                    case(
                        (
                            col(AttendanceRecord.status).in_((Mark.PRESENT.value, Mark.LATE.value)),
                            1,
                        ),
                        else_=0,
                    )
                ),
                func.sum(case((col(AttendanceRecord.status) != Mark.EXCUSED.value, 1), else_=0)),
            )
            .join(ClassSession, _own(ClassSession, AttendanceRecord, AttendanceRecord.session_id))
            .where(
                AttendanceRecord.institute_id == institute_id,
                col(AttendanceRecord.student_id).in_(ids),
                ClassSession.date >= first,
                ClassSession.date <= last,
            )
            .group_by(col(AttendanceRecord.student_id))
        ).all()
    }
    topics = dict(
        session.exec(
            select(TopicProgress.student_id, func.count())
            .where(
                TopicProgress.institute_id == institute_id,
                col(TopicProgress.student_id).in_(ids),
                col(TopicProgress.completed_at) >= since,
                col(TopicProgress.completed_at) < until,
            )
            .group_by(col(TopicProgress.student_id))
        ).all()
    )
    sat_on = func.coalesce(AssessmentResult.scheduled_on, Assessment.held_on)
    ranked = (
        select(
            col(AssessmentResult.student_id).label("student_id"),
            col(Assessment.title).label("title"),
            col(AssessmentResult.percentage).label("percentage"),
            func.row_number()
            .over(
                partition_by=col(AssessmentResult.student_id),
                order_by=(sat_on.desc(), col(AssessmentResult.id).desc()),
            )
            .label("rn"),
        )
        .join(Assessment, _own(Assessment, AssessmentResult, AssessmentResult.assessment_id))
        .where(
            AssessmentResult.institute_id == institute_id,
            col(AssessmentResult.student_id).in_(ids),
            col(AssessmentResult.percentage).is_not(None),
            col(AssessmentResult.absent).is_(False),
            sat_on <= last,
        )
        .subquery()
    )
    latest = {
        sid: (title, float(pct))
        for sid, title, pct in session.execute(
            select(ranked.c.student_id, ranked.c.title, ranked.c.percentage).where(ranked.c.rn == 1)
        )
    }
    standing = fee_reports.standing_query(institute_ids=[institute_id], today=last)
    owed = {
        sid: (int(due or 0), int(overdue or 0))
        for sid, due, overdue in session.execute(
            select(standing.c.student_id, standing.c.open_minor, standing.c.overdue_minor).where(
                col(standing.c.student_id).in_(ids)
            )
        )
    }
    return [
        Summary(
            student_id=sid,
            name=names[sid],
            present=attended.get(sid, (0, 0))[0],
            classes=attended.get(sid, (0, 0))[1],
            topics=int(topics.get(sid, 0)),
            latest=latest.get(sid),
            due_minor=owed.get(sid, (0, 0))[0],
            overdue_minor=owed.get(sid, (0, 0))[1],
        )
        for sid in sorted(names)
    ]


def message(summary: Summary, *, month: date, institute: str, currency: str) -> str:
    """The report as the guardian reads it (plain text: Telegram shows it as typed)."""
    lines = [f"{summary.name}: progress in {month:%B %Y}"]
    if summary.classes:
        share = round(100 * summary.present / summary.classes)
        lines.append(
            f"Attendance: present at {summary.present} of {summary.classes} classes ({share}%)."
        )
    else:
        lines.append("Attendance: no classes were taken this month.")
    lines.append(
        f"Topics completed: {summary.topics}." if summary.topics else "Topics completed: none yet."
    )
    if summary.latest:
        title, pct = summary.latest
        lines.append(f"Latest test: {title}, {pct:.0f}%.")
    if summary.due_minor > 0:
        due = format_money(summary.due_minor, currency)
        overdue = (
            f" ({format_money(summary.overdue_minor, currency)} of it overdue)"
            if summary.overdue_minor
            else ""
        )
        lines.append(f"Fees: {due} to pay{overdue}.")
    else:
        lines.append("Fees: nothing to pay.")
    lines.append(f"— {institute}")
    return "\n".join(lines)


def send_month_internal(
    session: Session, *, institute_id: int, month: date, student_ids: list[int] | None = None
) -> int:
    """Queue the month's report for every opted-in guardian with a Telegram chat of the
    institute's active students (or of `student_ids`); returns how many were new (a guardian
    already sent this month's report is skipped)."""
    institute = session.get(Institute, institute_id)
    if institute is None:
        return 0
    summaries = {
        s.student_id: s
        for s in summaries_internal(
            session, institute_id=institute_id, month=month, student_ids=student_ids
        )
    }
    if not summaries:
        return 0
    guardians = session.exec(
        select(Guardian.id, Guardian.student_id, Guardian.telegram_chat_id).where(
            Guardian.institute_id == institute_id,
            col(Guardian.student_id).in_(list(summaries)),
            col(Guardian.progress_reports).is_(True),
            col(Guardian.telegram_chat_id).is_not(None),
        )
    ).all()
    texts = {
        sid: message(s, month=month, institute=institute.name, currency=institute.currency)
        for sid, s in summaries.items()
    }
    return notify.enqueue_many_internal(
        session,
        institute_id=institute_id,
        messages=[
            {
                "channel": "telegram",
                "recipient": chat,
                "text": texts[sid],
                "dedupe_key": f"progress_report:{gid}:{month:%Y-%m}",
                "subject": f"Progress in {month:%B %Y}",
                # Telegram carries files: the month's report card goes with the summary.
                "attachment": f"report_card:{sid}:{month:%Y-%m}",
            }
            for gid, sid, chat in guardians
        ],
    )


def send_for_student(session: Session, *, actor: Actor, student_id: int, month: date) -> int:
    """On demand (the report card): this student's report for `month` to their guardians.
    Admins, and the teachers of the student's batches. Returns how many messages were queued;
    a guardian who already had this month's report gets nothing again."""
    actor.require(Role.ADMIN, Role.TEACHER)
    student = coursework.report_student(session, actor=actor, student_id=student_id)
    sent = send_month_internal(
        session, institute_id=student.institute_id, month=month, student_ids=[student_id]
    )
    audit.on(
        session,
        actor,
        "progress_report.send",
        student_id,
        {"month": f"{month:%Y-%m}", "queued": sent},
        target_type="student",
    )
    return sent


def report_card_attachment_internal(
    session: Session, institute_id: int, ref: str
) -> Document | None:
    """The report card PDF of one student for one month ("<student id>:<YYYY-MM>"), built at
    delivery for the guardian's message (system context); None if the student is gone."""
    student_id, month_text = ref.split(":", 1)
    month = parse_month(month_text)
    first, last = month_of(month)
    student = find_owned(session, Student, int(student_id), institute_id)
    if student is None:
        return None
    pdf = coursework.report_card_pdf(
        session, actor=Actor.system(institute_id), start=first, end=last, student_id=student.id
    )
    return Document(filename=f"report-card-{student.enrollment_no}-{month:%Y-%m}.pdf", content=pdf)
