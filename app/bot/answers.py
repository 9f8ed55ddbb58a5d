"""What the bot answers about one student: attendance, balance, homework, the month's report.

The caller (app.bot.handlers) has already proven the chat belongs to this student or to one of
their guardians; these read through each domain's internal views of one student.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from app.academics.models import Student
from app.attendance.student import attendance_of_internal
from app.core import clock
from app.core.money import format_money
from app.coursework.student import homework_of_internal
from app.fees import reports as fee_reports
from app.identity.models import Institute
from app.integrations.telegram import Document
from app.reports import service as reports


def _today(institute: Institute) -> date:
    return clock.today_in(institute.timezone)


def _ids(student: Student, institute: Institute) -> tuple[int, int]:
    """The two ids of rows read from the database (never None there)."""
    assert student.id is not None and institute.id is not None
    return institute.id, student.id


def attendance(session: Session, student: Student, institute: Institute) -> str:
    month = _today(institute).replace(day=1)
    institute_id, student_id = _ids(student, institute)
    record = attendance_of_internal(
        session, institute_id=institute_id, student_id=student_id, since=month, recent=5
    )
    tally = record.overall
    lines = [f"{student.name}: attendance since {month:%d %B}"]
    if tally.sessions:
        share = f" ({tally.percent:g}%)" if tally.percent is not None else ""
        lines.append(
            f"Present at {tally.present + tally.late} of {tally.sessions - tally.excused} "
            f"classes{share}; absent {tally.absent}, excused {tally.excused}."
        )
    else:
        lines.append("No classes were taken yet this month.")
    if record.recent:
        lines.append("Latest classes:")
        tz = ZoneInfo(institute.timezone)
        for mark in record.recent:
            lines.append(
                f"• {mark.starts_at.astimezone(tz):%a %d %b %H:%M} {mark.batch}: "
                f"{mark.status.replace('_', ' ')}"
            )
    return "\n".join(lines)


def balance(session: Session, student: Student, institute: Institute) -> str:
    institute_id, _ = _ids(student, institute)
    standing = fee_reports.standing_query(institute_ids=[institute_id], today=_today(institute))
    row = session.execute(
        select(standing.c.open_minor, standing.c.overdue_minor).where(
            standing.c.student_id == student.id
        )
    ).first()
    due, overdue = (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)
    if due <= 0:
        return f"{student.name}: nothing to pay."
    late = f", of which {format_money(overdue, institute.currency)} is overdue" if overdue else ""
    return f"{student.name}: {format_money(due, institute.currency)} to pay{late}."


def homework(session: Session, student: Student, institute: Institute) -> str:
    institute_id, student_id = _ids(student, institute)
    items = homework_of_internal(
        session, institute_id=institute_id, student_id=student_id, open_only=True, limit=20
    )
    if not items:
        return f"{student.name}: no homework to hand in."
    today = _today(institute)
    lines = [f"{student.name}: homework to hand in"]
    for h in items[:10]:
        when = (
            "today"
            if h.due_on == today
            else ("tomorrow" if h.due_on == today + timedelta(days=1) else f"{h.due_on:%a %d %b}")
        )
        lines.append(f"• {h.title} ({h.subject}), due {when}")
    if len(items) > 10:
        lines.append(f"…and {len(items) - 10} more.")
    return "\n".join(lines)


def report(session: Session, student: Student, institute: Institute) -> tuple[str, Document | None]:
    """This month so far, with the report card PDF of the month."""
    month = _today(institute).replace(day=1)
    institute_id, student_id = _ids(student, institute)
    summaries = reports.summaries_internal(
        session, institute_id=institute_id, month=month, student_ids=[student_id]
    )
    if not summaries:
        return f"{student.name} has no report this month.", None
    text = reports.message(
        summaries[0], month=month, institute=institute.name, currency=institute.currency
    )
    document = reports.report_card_attachment_internal(
        session, institute_id, f"{student_id}:{month:%Y-%m}"
    )
    return text, document


ANSWERS = {"attendance": attendance, "balance": balance, "homework": homework}
