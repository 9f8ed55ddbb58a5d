"""Risk for staff: who is slipping and why, the trend, recompute now, settings with a preview.

Students never see a risk label (their portal shows progress instead); every entry point here
is for staff, scoped to the actor's institute and, for teachers, to the students of their
batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.academics.common import current_members
from app.academics.models import Batch, BatchMembership, Student, StudentStatus
from app.core import audit, clock
from app.core.errors import NotFound, ValidationError
from app.core.roles import Role
from app.core.rows import carry
from app.core.tenancy import Actor
from app.identity.models import Institute
from app.inbox.models import PendingAction
from app.risk import engine
from app.risk.models import RiskSettings, StudentRiskEvent, StudentRiskProfile

STAFF = (Role.ADMIN, Role.TEACHER, Role.COUNSELOR)


def _visible_students(actor: Actor):
    """Students the actor may see risk for (None: every student of the institute)."""
    if actor.role == Role.TEACHER:
        return (
            select(BatchMembership.student_id)
            .join(Batch, Batch.id == BatchMembership.batch_id)
            .where(
                BatchMembership.institute_id == actor.institute_id,
                Batch.teacher_user_id == actor.user_id,
                col(BatchMembership.left_on).is_(None),
            )
        )
    if actor.role == Role.COUNSELOR:
        return select(Student.id).where(
            Student.institute_id == actor.institute_id,
            Student.counselor_user_id == actor.user_id,
        )
    return None


@dataclass(frozen=True)
class RiskRow:
    student_id: int
    enrollment_no: str
    name: str
    score: float | None
    level: str
    attendance: float | None
    homework: float | None
    fees: float | None
    tests: float | None
    flags: list[str]
    reasons: list[str]

    @classmethod
    def of(cls, p: StudentRiskProfile, enrollment_no: str, name: str) -> RiskRow:
        """A stored profile as the Risk page lists it, with the student's number and name."""
        return carry(
            cls,
            p,
            enrollment_no=enrollment_no,
            name=name,
            flags=list(p.flags or []),
            reasons=list(p.reasons or []),
        )


def _profiles_with_names(institute_id: int):
    """The institute's stored profiles, each with its student's enrolment number and name."""
    return (
        select(StudentRiskProfile, Student.enrollment_no, Student.name)
        .join(Student, Student.id == StudentRiskProfile.student_id)
        .where(StudentRiskProfile.institute_id == institute_id)
    )


def list_profiles(
    session: Session,
    *,
    actor: Actor,
    level: str | None = None,
    batch_id: int | None = None,
    limit: int = 1000,
) -> list[RiskRow]:
    """Profiles, riskiest first (lowest score), filtered by level and batch."""
    actor.require(*STAFF)
    institute_id = actor.institute_scope()
    query = _profiles_with_names(institute_id).where(
        Student.institute_id == institute_id,
        Student.status == StudentStatus.ACTIVE.value,
    )
    visible = _visible_students(actor)
    if visible is not None:
        query = query.where(col(StudentRiskProfile.student_id).in_(visible))
    if level:
        query = query.where(StudentRiskProfile.level == level)
    if batch_id:
        query = query.where(
            col(StudentRiskProfile.student_id).in_(current_members(institute_id, batch_id))
        )
    rank = func.coalesce(StudentRiskProfile.score, 101)
    rows = session.exec(query.order_by(rank, Student.name).limit(limit)).all()
    return [RiskRow.of(p, enrollment_no, name) for p, enrollment_no, name in rows]


def level_counts(session: Session, *, actor: Actor) -> dict[str, int]:
    actor.require(*STAFF)
    query = select(StudentRiskProfile.level, func.count()).where(
        StudentRiskProfile.institute_id == actor.institute_scope()
    )
    visible = _visible_students(actor)
    if visible is not None:
        query = query.where(col(StudentRiskProfile.student_id).in_(visible))
    out = dict.fromkeys(("LOW", "MEDIUM", "HIGH"), 0)
    out.update(dict(session.exec(query.group_by(StudentRiskProfile.level)).all()))
    return out


@dataclass(frozen=True)
class StudentRisk:
    row: RiskRow
    computed_at: object
    events: list[StudentRiskEvent]


def student_risk(session: Session, *, actor: Actor, student_id: int) -> StudentRisk:
    """One student's factor breakdown, reasons and level history."""
    actor.require(*STAFF)
    institute_id = actor.institute_scope()
    query = _profiles_with_names(institute_id).where(StudentRiskProfile.student_id == student_id)
    visible = _visible_students(actor)
    if visible is not None:
        query = query.where(col(StudentRiskProfile.student_id).in_(visible))
    found = session.exec(query).first()
    if found is None:
        raise NotFound("No risk profile for that student yet.")
    p, enrollment_no, name = found
    events = list(
        session.exec(
            select(StudentRiskEvent)
            .where(
                StudentRiskEvent.institute_id == institute_id,
                StudentRiskEvent.student_id == student_id,
            )
            .order_by(col(StudentRiskEvent.created_at).desc(), col(StudentRiskEvent.id).desc())
            .limit(50)
        )
    )
    return StudentRisk(RiskRow.of(p, enrollment_no, name), p.computed_at, events)


def trend(session: Session, *, actor: Actor, days: int = 30) -> list[dict]:
    """Students at each level at the end of each of the last `days` days, replayed from the
    level-change events: each student's level when the range starts (their latest earlier
    event, one grouped query), then the events inside the range (a second query). The whole
    history is never read: it grows by an event per change, every day."""
    actor.require(Role.ADMIN, Role.TEACHER, Role.COUNSELOR)
    institute_id = actor.institute_scope()
    today = clock.today_in(session.get(Institute, institute_id).timezone)
    start = today - timedelta(days=days - 1)
    boundary = datetime.combine(start, time.min, tzinfo=UTC)
    mine: list[Any] = [StudentRiskEvent.institute_id == institute_id]
    visible = _visible_students(actor)
    if visible is not None:
        mine.append(col(StudentRiskEvent.student_id).in_(visible))
    ranked = (
        select(
            StudentRiskEvent.student_id,
            StudentRiskEvent.to_level,
            func.row_number()
            .over(
                partition_by=col(StudentRiskEvent.student_id),
                order_by=(col(StudentRiskEvent.created_at).desc(), col(StudentRiskEvent.id).desc()),
            )
            .label("newest"),
        )
        .where(*mine, StudentRiskEvent.created_at < boundary)
        .subquery()
    )
    current: dict[int, str] = dict(
        session.exec(
            select(ranked.c.student_id, ranked.c.to_level).where(ranked.c.newest == 1)
        ).all()
    )
    events = session.exec(
        select(StudentRiskEvent.student_id, StudentRiskEvent.to_level, StudentRiskEvent.created_at)
        .where(*mine, StudentRiskEvent.created_at >= boundary)
        .order_by(col(StudentRiskEvent.created_at), col(StudentRiskEvent.id))
    ).all()
    out, i = [], 0
    for n in range(days):
        day = start + timedelta(days=n)
        while i < len(events) and events[i][2].date() <= day:
            current[events[i][0]] = events[i][1]
            i += 1
        counts = dict.fromkeys(("LOW", "MEDIUM", "HIGH"), 0)
        for lvl in current.values():
            counts[lvl] += 1
        out.append({"date": day, **counts})
    return out


def recompute_now(session: Session, *, actor: Actor) -> engine.RecomputeResult:
    """The "Recompute now" button: the whole institute, as the daily job does it."""
    actor.require(Role.ADMIN, Role.TEACHER)
    result = engine.recompute_institute_internal(session, institute_id=actor.institute_scope())
    audit.on(
        session,
        actor,
        "risk.recompute",
        actor.institute_scope(),
        {"students": result.students, "events": result.events, "actions": result.actions},
        target_type="institute",
    )
    return result


SETTING_FIELDS = (
    "window_days",
    "weight_attendance",
    "weight_homework",
    "weight_fees",
    "weight_tests",
    "low_min",
    "medium_min",
    "attendance_flag_percent",
    "fee_overdue_flag_days",
    "pass_percent",
)


def get_settings(session: Session, *, actor: Actor) -> RiskSettings:
    actor.require(*STAFF)
    return engine.settings_for_internal(session, actor.institute_scope())


def _checked(actor: Actor, current: RiskSettings, changes: dict) -> RiskSettings:
    unknown = set(changes) - set(SETTING_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown setting: {', '.join(sorted(unknown))}.")
    values = {f: getattr(current, f) for f in SETTING_FIELDS} | changes
    proposed = RiskSettings(institute_id=actor.institute_scope(), **values)
    if not 7 <= int(proposed.window_days) <= 365:
        raise ValidationError("The window is between 7 and 365 days.", field="window_days")
    weights = [
        proposed.weight_attendance,
        proposed.weight_homework,
        proposed.weight_fees,
        proposed.weight_tests,
    ]
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValidationError("Weights are zero or more, and at least one is above zero.")
    if not 0 < proposed.medium_min < proposed.low_min <= 100:
        raise ValidationError(
            "The HIGH/MEDIUM line must be below the MEDIUM/LOW line, both between 0 and 100.",
            field="low_min",
        )
    for name in ("attendance_flag_percent", "pass_percent"):
        if not 0 <= getattr(proposed, name) <= 100:
            raise ValidationError("Percentages are between 0 and 100.", field=name)
    if proposed.fee_overdue_flag_days < 1:
        raise ValidationError("Give at least one day.", field="fee_overdue_flag_days")
    return proposed


@dataclass(frozen=True)
class SettingsPreview:
    students: int
    before: dict[str, int]
    after: dict[str, int]
    changed: int  # students whose level would change


def preview_settings(session: Session, *, actor: Actor, changes: dict) -> SettingsPreview:
    """How many students would change level under proposed settings (writes nothing)."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    current = engine.settings_for_internal(session, institute_id)
    proposed = _checked(actor, current, changes)
    today = clock.today_in(session.get(Institute, institute_id).timezone)
    base = engine.gather_internal(
        session, institute_id=institute_id, today=today, window_days=current.window_days
    )
    other = (
        base
        if proposed.window_days == current.window_days
        else engine.gather_internal(
            session, institute_id=institute_id, today=today, window_days=proposed.window_days
        )
    )
    now, then = engine.assess(base, current), engine.assess(other, proposed)
    before = dict.fromkeys(("LOW", "MEDIUM", "HIGH"), 0)
    after = dict(before)
    for r in now:
        before[r.level] += 1
    for r in then:
        after[r.level] += 1
    old = {r.student_id: r.level for r in now}
    changed = sum(1 for r in then if old.get(r.student_id) != r.level)
    return SettingsPreview(len(now), before, after, changed)


def update_settings(session: Session, *, actor: Actor, changes: dict) -> RiskSettings:
    """Save the institute's risk settings (admin); the next recompute uses them."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    current = engine.settings_for_internal(session, institute_id)
    proposed = _checked(actor, current, changes)
    row = session.get(RiskSettings, institute_id)
    if row is None:
        row = RiskSettings(institute_id=institute_id)
    for name in SETTING_FIELDS:
        setattr(row, name, getattr(proposed, name))
    row.updated_by, row.updated_at = actor.user_id, clock.now()
    session.add(row)
    session.flush()
    audit.on(
        session,
        actor,
        "risk.settings",
        institute_id,
        {name: getattr(row, name) for name in SETTING_FIELDS},
        target_type="institute",
    )
    return row


def action_usefulness(session: Session, *, actor: Actor, since: date | None = None) -> dict:
    """What staff did with student_risk actions: share reviewed, guardian notified, resolved,
    ignored, still open."""
    actor.require(Role.ADMIN)
    query = select(PendingAction.status, PendingAction.outcome, func.count()).where(
        PendingAction.institute_id == actor.institute_scope(),
        PendingAction.type == "student_risk",
    )
    if since:
        query = query.where(func.date(PendingAction.created_at) >= since)
    counts: dict[str, int] = {}
    for status, outcome, n in session.exec(
        query.group_by(PendingAction.status, PendingAction.outcome)
    ).all():
        key = "open" if status == "open" else outcome or "done"
        counts[key] = counts.get(key, 0) + int(n)
    total = sum(counts.values())
    return {
        "total": total,
        "counts": counts,
        "shares": {k: round(100 * v / total, 1) for k, v in counts.items()} if total else {},
    }
