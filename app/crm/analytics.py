"""CRM analytics: the conversion funnel, conversion by source and by counselor, time to
conversion and counselor activity — each one grouped query over the institute's inquiries
that came in from `since` on (all time when None)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from app.core.roles import Role
from app.core.tenancy import Actor
from app.crm.models import FollowUp, FollowUpStatus, Inquiry, Source, Status
from app.crm.service import CRM_ROLES
from app.identity.models import Institute, User


def _one(condition) -> object:
    return func.sum(case((condition, 1), else_=0))


def _scoped(session: Session, actor: Actor, since: date | None):
    actor.require(*CRM_ROLES)
    institute_id = actor.institute_scope()
    conditions = [Inquiry.institute_id == institute_id]
    if since is not None:
        tz = ZoneInfo(session.get(Institute, institute_id).timezone)
        start = datetime.combine(since, time.min, tzinfo=tz).astimezone(UTC)
        conditions.append(Inquiry.created_at >= start)
    return institute_id, conditions


@dataclass(frozen=True)
class FunnelStep:
    stage: str
    count: int
    share: float  # % of all inquiries


def funnel(session: Session, *, actor: Actor, since: date | None = None) -> list[FunnelStep]:
    """How many inquiries reached each stage: came in, contacted, follow-up scheduled, enrolled."""
    _, conditions = _scoped(session, actor, since)
    total, contacted, scheduled, enrolled = session.exec(
        select(
            func.count(),
            _one(col(Inquiry.contacted_at).is_not(None)),
            _one(col(Inquiry.scheduled_at).is_not(None)),
            _one(Inquiry.status == Status.ENROLLED.value),
        ).where(*conditions)
    ).one()
    total = int(total or 0)
    steps = [
        ("Inquiries", total),
        ("Contacted", int(contacted or 0)),
        ("Follow-up scheduled", int(scheduled or 0)),
        ("Enrolled", int(enrolled or 0)),
    ]
    return [FunnelStep(s, n, round(100 * n / total, 1) if total else 0.0) for s, n in steps]


@dataclass(frozen=True)
class Rate:
    label: str
    inquiries: int
    enrolled: int
    lost: int
    open: int
    rate: float  # enrolled as % of inquiries


def _rates(rows) -> list[Rate]:
    out = []
    for label, n, enrolled, lost in rows:
        n, enrolled, lost = int(n), int(enrolled or 0), int(lost or 0)
        out.append(
            Rate(label, n, enrolled, lost, n - enrolled - lost, round(100 * enrolled / n, 1))
        )
    return sorted(out, key=lambda r: (-r.rate, -r.inquiries, r.label))


def _outcomes_by(session: Session, key: Any, conditions: list[Any]) -> Sequence[Any]:
    """(value of `key`, inquiries, enrolled, lost) for each value of `key`."""
    return session.exec(
        select(
            key,
            func.count(),
            _one(Inquiry.status == Status.ENROLLED.value),
            _one(Inquiry.status == Status.LOST.value),
        )
        .where(*conditions)
        .group_by(key)
    ).all()


def by_source(session: Session, *, actor: Actor, since: date | None = None) -> list[Rate]:
    """Conversion rate per source."""
    _, conditions = _scoped(session, actor, since)
    rows = _outcomes_by(session, Inquiry.source, conditions)
    return _rates([(Source(s).label, n, e, lo) for s, n, e, lo in rows])


@dataclass(frozen=True)
class CounselorFigures:
    counselor: str
    inquiries: int
    enrolled: int
    lost: int
    open: int
    rate: float
    follow_ups: int  # contacts logged
    median_days_to_enrol: float | None


def by_counselor(
    session: Session, *, actor: Actor, since: date | None = None
) -> list[CounselorFigures]:
    """Per counselor: inquiries, conversion rate, contacts logged and median days to enrol."""
    institute_id, conditions = _scoped(session, actor, since)
    rows = _outcomes_by(session, Inquiry.counselor_user_id, conditions)
    follow = dict(
        session.exec(
            select(FollowUp.counselor_user_id, func.count())
            .join(Inquiry, Inquiry.id == FollowUp.inquiry_id)
            .where(
                FollowUp.institute_id == institute_id,
                FollowUp.status == FollowUpStatus.COMPLETED.value,
                *conditions,
            )
            .group_by(FollowUp.counselor_user_id)
        ).all()
    )
    days = _days_to_enrol(session, conditions)
    names = dict(
        session.exec(
            select(User.id, User.name).where(
                User.institute_id == institute_id,
                col(User.role).in_([Role.COUNSELOR.value, Role.ADMIN.value]),
            )
        ).all()
    )
    out = []
    for uid, n, enrolled, lost in rows:
        n, enrolled, lost = int(n), int(enrolled or 0), int(lost or 0)
        spans = days.get(uid, [])
        out.append(
            CounselorFigures(
                names.get(uid, "Unassigned") if uid else "Unassigned",
                n,
                enrolled,
                lost,
                n - enrolled - lost,
                round(100 * enrolled / n, 1),
                int(follow.get(uid, 0)),
                round(statistics.median(spans), 1) if spans else None,
            )
        )
    return sorted(out, key=lambda r: (-r.enrolled, r.counselor))


def _days_to_enrol(session: Session, conditions) -> dict[int | None, list[float]]:
    spans: dict[int | None, list[float]] = {}
    for uid, created, closed in session.exec(
        select(Inquiry.counselor_user_id, Inquiry.created_at, Inquiry.closed_at).where(
            *conditions,
            Inquiry.status == Status.ENROLLED.value,
            col(Inquiry.closed_at).is_not(None),
        )
    ).all():
        spans.setdefault(uid, []).append(max((closed - created).total_seconds(), 0) / 86400)
    return spans


BUCKETS = ((7, "within a week"), (14, "1–2 weeks"), (30, "2–4 weeks"), (60, "1–2 months"))


@dataclass(frozen=True)
class TimeToConversion:
    enrolled: int
    median_days: float | None
    mean_days: float | None
    buckets: list[tuple[str, int]]  # (label, enrolments)


def time_to_conversion(
    session: Session, *, actor: Actor, since: date | None = None
) -> TimeToConversion:
    """How long enrolled inquiries took from first contact to enrolment."""
    _, conditions = _scoped(session, actor, since)
    spans = [d for group in _days_to_enrol(session, conditions).values() for d in group]
    counts = {label: 0 for _, label in BUCKETS} | {"over 2 months": 0}
    for d in spans:
        label = next((lbl for limit, lbl in BUCKETS if d <= limit), "over 2 months")
        counts[label] += 1
    return TimeToConversion(
        enrolled=len(spans),
        median_days=round(statistics.median(spans), 1) if spans else None,
        mean_days=round(statistics.fmean(spans), 1) if spans else None,
        buckets=list(counts.items()),
    )


def monthly(session: Session, *, actor: Actor, since: date | None = None) -> list[dict]:
    """Inquiries and enrolments per month the inquiry came in (UTC months)."""
    _, conditions = _scoped(session, actor, since)
    if session.get_bind().dialect.name == "postgresql":
        month = func.to_char(func.timezone("UTC", Inquiry.created_at), "YYYY-MM")
    else:
        month = func.strftime("%Y-%m", Inquiry.created_at)
    rows = session.exec(
        select(month, func.count(), _one(Inquiry.status == Status.ENROLLED.value))
        .where(*conditions)
        .group_by(month)
        .order_by(month)
    ).all()
    return [{"Month": m, "Inquiries": int(n), "Enrolled": int(e or 0)} for m, n, e in rows]
