"""The admin Overview's figures: enrolment, attendance trend, collections against what is
outstanding, AR aging, risk, the conversion funnel and faculty utilization.

Every figure is a handful of grouped queries over the institute (never a query per student or
per day) and comes back as plain rows, so the page can chart it, show the table behind the
chart and offer it as CSV without reshaping. Money is in minor units.

Definitions:
- **Attendance %** of a day or week = present-or-late marks ÷ marks that count (excused marks
  are left out), over sessions dated in the range (the institute's calendar).
- **Collected** = payments received in a month; **billed** = invoices (not void) issued in it;
  **outstanding** = what is open on issued and partly paid invoices now.
- **Faculty utilization** = hours of sessions taught (submitted or closed, from their start and
  end times) in the range ÷ capacity, where capacity = the teacher's maximum hours a day ×
  the teaching days (Monday–Saturday) in the range. Without a maximum on the teacher's
  profile, utilization is not computed (shown empty), never guessed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.academics.models import Batch, BatchMembership, Student, TeacherProfile
from app.attendance import service as attendance_service
from app.attendance.models import NOT_HELD, ClassSession, SessionStatus
from app.core.errors import ValidationError
from app.core.roles import Role
from app.core.tenancy import Actor
from app.crm import analytics as crm_analytics
from app.fees import reports as fee_reports
from app.fees import service as fee_service
from app.identity.models import User, UserStatus
from app.risk import service as risk_service

TAUGHT = (SessionStatus.SUBMITTED.value, SessionStatus.CLOSED.value)


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    batch_id: int | None = None


def _check(actor: Actor, filters: Filters) -> None:
    actor.require(Role.ADMIN)
    if filters.end < filters.start:
        raise ValidationError("The end date is before the start date.", field="end")
    if (filters.end - filters.start).days > 731:
        raise ValidationError("Choose a range of at most two years.", field="start")


def _in_batch(column, institute_id: int, batch_id: int | None):
    """Students of the batch (ever members), as a filter; True without a batch."""
    if batch_id is None:
        return True
    return col(column).in_(
        select(BatchMembership.student_id).where(
            BatchMembership.institute_id == institute_id, BatchMembership.batch_id == batch_id
        )
    )


def enrolment(session: Session, *, actor: Actor, filters: Filters) -> dict[str, list[dict]]:
    """Students by status now, and students who joined a batch in each month of the range."""
    _check(actor, filters)
    institute_id = actor.institute_scope()
    status = [
        {"Status": s.replace("_", " ").capitalize(), "Students": int(n)}
        for s, n in session.exec(
            select(Student.status, func.count())
            .where(
                Student.institute_id == institute_id,
                _in_batch(Student.id, institute_id, filters.batch_id),
            )
            .group_by(Student.status)
            .order_by(Student.status)
        ).all()
    ]
    query = select(BatchMembership.joined_on, func.count(func.distinct(BatchMembership.student_id)))
    query = query.where(
        BatchMembership.institute_id == institute_id,
        BatchMembership.joined_on >= filters.start,
        BatchMembership.joined_on <= filters.end,
    )
    if filters.batch_id is not None:
        query = query.where(BatchMembership.batch_id == filters.batch_id)
    per_month: dict[str, int] = defaultdict(int)
    for joined, n in session.exec(query.group_by(BatchMembership.joined_on)).all():
        per_month[f"{joined:%Y-%m}"] += int(n)
    joined = [{"Month": m, "Joined a batch": per_month[m]} for m in sorted(per_month)]
    return {"status": status, "joined": joined}


def attendance_trend(
    session: Session, *, actor: Actor, filters: Filters, weekly: bool = False
) -> list[dict]:
    """Attendance % per day (or per week, Mondays) over the range."""
    _check(actor, filters)
    institute_id = actor.institute_scope()
    present, marks, with_marks = attendance_service.mark_sums(session)
    query = (
        with_marks(select(ClassSession.date, present, marks))
        .where(
            ClassSession.institute_id == institute_id,
            ClassSession.date >= filters.start,
            ClassSession.date <= filters.end,
            col(ClassSession.status).not_in(NOT_HELD),
        )
        .group_by(ClassSession.date)
    )
    if filters.batch_id is not None:
        query = query.where(ClassSession.batch_id == filters.batch_id)
    buckets: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for day, present, total in session.exec(query).all():
        key = day - timedelta(days=day.weekday()) if weekly else day
        buckets[key][0] += int(present or 0)
        buckets[key][1] += int(total or 0)
    label = "Week of" if weekly else "Date"
    return [
        {
            label: key,
            "Present or late": present,
            "Marks": total,
            "Attendance %": round(100 * present / total, 1) if total else None,
        }
        for key, (present, total) in sorted(buckets.items())
    ]


def attendance_percent(session: Session, *, actor: Actor, filters: Filters) -> float | None:
    """Attendance % over the whole range (the headline figure)."""
    rows = attendance_trend(session, actor=actor, filters=filters)
    present = sum(r["Present or late"] for r in rows)
    total = sum(r["Marks"] for r in rows)
    return round(100 * present / total, 1) if total else None


@dataclass(frozen=True)
class Money:
    months: list[dict]  # Month, Billed, Collected (minor units)
    collected: int
    billed: int
    outstanding: int
    aging: list[dict]  # Bucket, Open (minor units)


def money(session: Session, *, actor: Actor, filters: Filters) -> Money:
    """Collections against billing per month, what is outstanding now, and AR aging."""
    _check(actor, filters)
    collected: dict[str, int] = defaultdict(int)
    for c in fee_reports.collections(session, actor=actor, start=filters.start, end=filters.end):
        collected[c.period] += c.amount_minor
    billed = fee_reports.billed_by_month(session, actor=actor, start=filters.start, end=filters.end)
    months = sorted(set(collected) | set(billed))
    aging = fee_reports.ar_aging(session, actor=actor)
    return Money(
        months=[
            {"Month": m, "Billed": billed.get(m, 0), "Collected": collected.get(m, 0)}
            for m in months
        ],
        collected=sum(collected.values()),
        billed=sum(billed.values()),
        outstanding=fee_service.open_receivables_internal(
            session, institute_id=actor.institute_scope()
        ),
        aging=[{"Bucket": k, "Open": v} for k, v in aging.items()],
    )


def risk(session: Session, *, actor: Actor, days: int = 30) -> dict[str, list[dict]]:
    """Students at each risk level now, and the daily trend."""
    actor.require(Role.ADMIN)
    counts = risk_service.level_counts(session, actor=actor)
    return {
        "levels": [{"Level": k, "Students": v} for k, v in counts.items()],
        "trend": [
            {"Date": r["date"], "LOW": r["LOW"], "MEDIUM": r["MEDIUM"], "HIGH": r["HIGH"]}
            for r in risk_service.trend(session, actor=actor, days=days)
        ],
    }


def funnel(session: Session, *, actor: Actor, filters: Filters) -> list[dict]:
    """Inquiries that came in since the start, and how far they got."""
    _check(actor, filters)
    return [
        {"Stage": step.stage, "Inquiries": step.count, "% of inquiries": step.share}
        for step in crm_analytics.funnel(session, actor=actor, since=filters.start)
    ]


def _hours(session: Session):
    """SQL: a session's length in hours, on either database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", ClassSession.ends_at - ClassSession.starts_at) / 3600.0
    return (func.julianday(ClassSession.ends_at) - func.julianday(ClassSession.starts_at)) * 24.0


def teaching_days(start: date, end: date) -> int:
    """Monday–Saturday days from start to end, both included."""
    return sum(1 for n in range((end - start).days + 1) if (start + timedelta(n)).weekday() < 6)


def utilization(session: Session, *, actor: Actor, filters: Filters) -> list[dict]:
    """Per active teacher: sessions and hours taught in the range against their capacity."""
    _check(actor, filters)
    institute_id = actor.institute_scope()
    query = (
        select(Batch.teacher_user_id, func.count(ClassSession.id), func.sum(_hours(session)))
        .join(Batch, Batch.id == ClassSession.batch_id)
        .where(
            ClassSession.institute_id == institute_id,
            Batch.institute_id == institute_id,
            col(ClassSession.status).in_(TAUGHT),
            ClassSession.date >= filters.start,
            ClassSession.date <= filters.end,
        )
        .group_by(Batch.teacher_user_id)
    )
    if filters.batch_id is not None:
        query = query.where(ClassSession.batch_id == filters.batch_id)
    taught = {uid: (int(n), float(h or 0)) for uid, n, h in session.exec(query).all()}
    days = teaching_days(filters.start, filters.end)
    rows = []
    for uid, name, max_hours in session.exec(
        select(User.id, User.name, TeacherProfile.max_hours_per_day)
        .outerjoin(
            TeacherProfile,
            (TeacherProfile.institute_id == User.institute_id)
            & (TeacherProfile.user_id == User.id),
        )
        .where(
            User.institute_id == institute_id,
            User.role == Role.TEACHER.value,
            User.status == UserStatus.ACTIVE.value,
        )
        .order_by(User.name)
    ).all():
        sessions, hours = taught.get(uid, (0, 0.0))
        capacity = max_hours * days if max_hours else None
        rows.append(
            {
                "Teacher": name or f"Teacher {uid}",
                "Sessions": sessions,
                "Hours taught": round(hours, 1),
                "Capacity (hours)": capacity,
                "Utilization %": round(100 * hours / capacity, 1) if capacity else None,
            }
        )
    return rows
