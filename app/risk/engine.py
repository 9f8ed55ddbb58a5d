"""The student risk engine: advisory early warning, explainable, one set-based pass per institute.

How a student's score is made (all sub-scores 0–100, over the institute's window, default the
last 30 days up to and including today, in the institute's timezone):

- **Attendance** = present-or-late marks ÷ taken sessions (excused marks are left out).
- **Homework** = homework handed in on time ÷ homework whose due date fell in the window and
  has passed (due before today).
- **Fees** = 100 when nothing is overdue; otherwise 100 − days penalty − amount penalty, where
  the days penalty is the days since the oldest unpaid part fell due, at most 60, and the amount
  penalty is 40 × (overdue ÷ everything the student owes now). So 60+ days late on everything
  owed scores 0; a few days late on a small part of a larger balance scores in the 90s.
  Fees are not windowed: an overdue bill counts until it is paid.
- **Tests** = the mean percentage of assessment results in the window (absent sittings and
  results without marks are left out).

Score = Σ weight × sub-score ÷ Σ weight, over the factors that have data (default weights
40/30/20/10). A factor without data is left out and the others are rescaled, so a student is
never penalised for missing data; the reasons say so. The score is rounded to 2 decimals and the
level read from the rounded score: LOW ≥ 75, MEDIUM ≥ 50, HIGH below (per-institute settings).

Critical flags raise the level to at least MEDIUM and are named first in the reasons:
attendance below 80%, any fee overdue more than 60 days, and failing (below the pass mark,
default 40%) the last two tests the student sat (at any time, not only in the window).

The engine reads attendance, coursework and fees, and writes only `student_risk_profiles`,
`student_risk_events` (each level change) and, for each transition into HIGH, one `student_risk`
pending action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import case, delete, func, insert
from sqlmodel import Session, col, select

from app.academics.models import BatchMembership, Student
from app.attendance.models import AttendanceRecord, ClassSession
from app.core import clock
from app.core.money import format_money
from app.coursework.models import Assessment, AssessmentResult, Homework, HomeworkSubmission
from app.fees import reports as fee_reports
from app.identity.models import Institute
from app.inbox import service as inbox
from app.risk.models import RiskSettings, StudentRiskEvent, StudentRiskProfile

FACTORS = ("attendance", "homework", "fees", "tests")
FEE_DAYS_CAP = 60
FEE_AMOUNT_WEIGHT = 40


def settings_for(session: Session, institute_id: int) -> RiskSettings:
    """The institute's settings, or the defaults (not saved) when it has none."""
    return session.get(RiskSettings, institute_id) or RiskSettings(institute_id=institute_id)


@dataclass
class Assessed:
    student_id: int
    name: str
    score: float | None
    level: str
    subscores: dict[str, float | None]
    flags: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Inputs:
    """Everything the engine reads for one institute, gathered in a handful of grouped queries."""

    students: dict[int, str]
    attendance: dict[int, tuple[int, int]]  # present-or-late, taken
    homework: dict[int, tuple[int, int]]  # on time, due
    fees: dict[int, fee_reports.FeeStanding]
    tests: dict[int, tuple[float, int]]  # mean percentage, count
    last_two: dict[int, list[float]]  # most recent first
    currency: str


def gather(session: Session, *, institute_id: int, today: date, window_days: int) -> Inputs:
    start = today - timedelta(days=window_days - 1)
    students = dict(
        session.exec(
            select(Student.id, Student.name).where(
                Student.institute_id == institute_id, Student.status == "active"
            )
        ).all()
    )
    counted = case((AttendanceRecord.status.in_(["present", "late"]), 1), else_=0)
    taken = case((AttendanceRecord.status != "excused", 1), else_=0)
    attendance = {
        sid: (int(p), int(t))
        for sid, p, t in session.exec(
            select(AttendanceRecord.student_id, func.sum(counted), func.sum(taken))
            .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
            .where(
                AttendanceRecord.institute_id == institute_id,
                ClassSession.institute_id == institute_id,
                ClassSession.date >= start,
                ClassSession.date <= today,
            )
            .group_by(AttendanceRecord.student_id)
        ).all()
        if t
    }
    homework = {
        sid: (int(on_time or 0), int(n))
        for sid, on_time, n in session.exec(
            select(
                HomeworkSubmission.student_id,
                func.sum(case((col(HomeworkSubmission.on_time).is_(True), 1), else_=0)),
                func.count(),
            )
            .join(Homework, Homework.id == HomeworkSubmission.homework_id)
            .where(
                HomeworkSubmission.institute_id == institute_id,
                Homework.institute_id == institute_id,
                Homework.due_on >= start,
                Homework.due_on < today,
            )
            .group_by(HomeworkSubmission.student_id)
        ).all()
    }
    sat_on = func.coalesce(AssessmentResult.scheduled_on, Assessment.held_on)
    sat = (
        select(AssessmentResult.student_id, AssessmentResult.percentage)
        .join(Assessment, Assessment.id == AssessmentResult.assessment_id)
        .where(
            AssessmentResult.institute_id == institute_id,
            Assessment.institute_id == institute_id,
            col(AssessmentResult.percentage).is_not(None),
            col(AssessmentResult.absent).is_(False),
            sat_on <= today,
        )
    )
    tests = {
        sid: (float(mean), int(n))
        for sid, mean, n in session.exec(
            select(
                AssessmentResult.student_id,
                func.avg(AssessmentResult.percentage),
                func.count(),
            )
            .join(Assessment, Assessment.id == AssessmentResult.assessment_id)
            .where(
                AssessmentResult.institute_id == institute_id,
                Assessment.institute_id == institute_id,
                col(AssessmentResult.percentage).is_not(None),
                col(AssessmentResult.absent).is_(False),
                sat_on >= start,
                sat_on <= today,
            )
            .group_by(AssessmentResult.student_id)
        ).all()
    }
    ranked = (
        sat.add_columns(
            func.row_number()
            .over(
                partition_by=AssessmentResult.student_id,
                order_by=(sat_on.desc(), col(AssessmentResult.id).desc()),
            )
            .label("rn")
        )
    ).subquery()
    last_two: dict[int, list[float]] = {}
    for sid, percentage in session.exec(
        select(ranked.c.student_id, ranked.c.percentage)
        .where(ranked.c.rn <= 2)
        .order_by(ranked.c.student_id, ranked.c.rn)
    ).all():
        last_two.setdefault(sid, []).append(float(percentage))
    return Inputs(
        students=students,
        attendance=attendance,
        homework=homework,
        fees=fee_reports.fee_standing(session, institute_id=institute_id, today=today),
        tests=tests,
        last_two=last_two,
        currency=session.get(Institute, institute_id).currency,
    )


def _pct(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def fee_subscore(standing: fee_reports.FeeStanding) -> float:
    if standing.overdue_minor <= 0:
        return 100.0
    share = standing.overdue_minor / standing.open_minor if standing.open_minor else 1.0
    return max(
        0.0,
        100.0 - min(standing.days_overdue, FEE_DAYS_CAP) - FEE_AMOUNT_WEIGHT * min(share, 1.0),
    )


def level_of(score: float | None, settings: RiskSettings) -> str:
    if score is None or score >= settings.low_min:
        return "LOW"
    return "MEDIUM" if score >= settings.medium_min else "HIGH"


def assess(inputs: Inputs, settings: RiskSettings) -> list[Assessed]:
    """Score every active student from the gathered inputs (pure: no database)."""
    weights = {
        "attendance": settings.weight_attendance,
        "homework": settings.weight_homework,
        "fees": settings.weight_fees,
        "tests": settings.weight_tests,
    }
    window = settings.window_days
    out = []
    for sid, name in inputs.students.items():
        sub: dict[str, float | None] = dict.fromkeys(FACTORS)
        reasons, flags, critical = [], [], []
        if sid in inputs.attendance:
            present, taken = inputs.attendance[sid]
            sub["attendance"] = 100.0 * present / taken
            reasons.append(
                f"Attendance: present or late at {present} of {taken} sessions "
                f"({_pct(sub['attendance'])})."
            )
            if sub["attendance"] < settings.attendance_flag_percent:
                flags.append("attendance")
                critical.append(
                    f"Critical: attendance {_pct(sub['attendance'])} is below "
                    f"{_pct(settings.attendance_flag_percent)}."
                )
        else:
            reasons.append(f"No classes taken in the last {window} days: attendance not counted.")
        if sid in inputs.homework:
            on_time, due = inputs.homework[sid]
            sub["homework"] = 100.0 * on_time / due
            reasons.append(
                f"Homework: {on_time} of {due} handed in on time ({_pct(sub['homework'])})."
            )
        else:
            reasons.append(f"No homework due in the last {window} days: homework not counted.")
        if sid in inputs.fees:
            standing = inputs.fees[sid]
            sub["fees"] = fee_subscore(standing)
            if standing.overdue_minor:
                owed = format_money(standing.overdue_minor, inputs.currency)
                reasons.append(
                    f"Fees: {owed} overdue for {standing.days_overdue} days "
                    f"(fees score {_pct(sub['fees'])})."
                )
                if standing.days_overdue > settings.fee_overdue_flag_days:
                    flags.append("fees")
                    critical.append(
                        f"Critical: fees of {owed} overdue for {standing.days_overdue} days "
                        f"(more than {settings.fee_overdue_flag_days})."
                    )
            else:
                reasons.append("Fees: nothing overdue.")
        else:
            reasons.append("No fees billed: fees not counted.")
        if sid in inputs.tests:
            mean, count = inputs.tests[sid]
            sub["tests"] = mean
            reasons.append(f"Tests: average {_pct(mean)} over {count} in the last {window} days.")
        else:
            reasons.append(f"No tests in the last {window} days: tests not counted.")
        last = inputs.last_two.get(sid, [])
        if len(last) == 2 and all(p < settings.pass_percent for p in last):
            flags.append("tests")
            critical.append(
                f"Critical: failed the last two tests ({_pct(last[0])}, {_pct(last[1])}; "
                f"pass mark {_pct(settings.pass_percent)})."
            )
        counted = {k: v for k, v in sub.items() if v is not None and weights[k] > 0}
        total_weight = sum(weights[k] for k in counted)
        score = (
            round(sum(weights[k] * v for k, v in counted.items()) / total_weight, 2)
            if total_weight
            else None
        )
        if score is None:
            reasons.insert(0, "Not enough data yet to score.")
        elif len(counted) < len(FACTORS):
            reasons.append(
                "Score from "
                + ", ".join(counted)
                + " only; their weights are rescaled to add up to 100%."
            )
        level = level_of(score, settings)
        if flags and level == "LOW":
            level = "MEDIUM"
        out.append(
            Assessed(
                student_id=sid,
                name=name,
                score=score,
                level=level,
                subscores={k: (round(v, 2) if v is not None else None) for k, v in sub.items()},
                flags=flags,
                reasons=critical + reasons,
            )
        )
    return out


@dataclass(frozen=True)
class RecomputeResult:
    students: int
    levels: dict[str, int]
    events: int
    actions: int


def recompute_institute(
    session: Session, *, institute_id: int, now: datetime | None = None
) -> RecomputeResult:
    """Score every active student of one institute and store the profiles; record level
    changes; open one `student_risk` action per transition into HIGH."""
    now = now or clock.now()
    institute = session.get(Institute, institute_id)
    today = clock.today_in(institute.timezone)
    settings = settings_for(session, institute_id)
    results = assess(
        gather(session, institute_id=institute_id, today=today, window_days=settings.window_days),
        settings,
    )
    previous = dict(
        session.exec(
            select(StudentRiskProfile.student_id, StudentRiskProfile.level).where(
                StudentRiskProfile.institute_id == institute_id
            )
        ).all()
    )
    session.execute(
        delete(StudentRiskProfile).where(StudentRiskProfile.institute_id == institute_id)
    )
    if results:
        session.execute(
            insert(StudentRiskProfile),
            [
                {
                    "institute_id": institute_id,
                    "student_id": r.student_id,
                    "score": r.score,
                    "level": r.level,
                    **r.subscores,
                    "flags": r.flags,
                    "reasons": r.reasons,
                    "computed_at": now,
                }
                for r in results
            ],
        )
    changed = [r for r in results if previous.get(r.student_id) != r.level]
    if changed:
        session.execute(
            insert(StudentRiskEvent),
            [
                {
                    "institute_id": institute_id,
                    "student_id": r.student_id,
                    "from_level": previous.get(r.student_id),
                    "to_level": r.level,
                    "score": r.score,
                    "created_at": now,
                }
                for r in changed
            ],
        )
    into_high = [r for r in changed if r.level == "HIGH"]
    actions = 0
    if into_high:
        batches = dict(
            session.exec(
                select(BatchMembership.student_id, func.min(BatchMembership.batch_id))
                .where(
                    BatchMembership.institute_id == institute_id,
                    col(BatchMembership.left_on).is_(None),
                    col(BatchMembership.student_id).in_([r.student_id for r in into_high]),
                )
                .group_by(BatchMembership.student_id)
            ).all()
        )
        actions = inbox.open_actions_bulk(
            session,
            institute_id=institute_id,
            actions=[
                {
                    "type": "student_risk",
                    "student_id": r.student_id,
                    "batch_id": batches.get(r.student_id),
                    "reason": f"{r.name} is now at HIGH risk (score "
                    f"{r.score if r.score is not None else '-'}): " + " ".join(r.reasons[:3]),
                    "dedupe_key": f"student_risk:{r.student_id}:{now:%Y%m%dT%H%M%S%f}",
                }
                for r in into_high
            ],
        )
    session.flush()
    levels = dict.fromkeys(("LOW", "MEDIUM", "HIGH"), 0)
    for r in results:
        levels[r.level] += 1
    return RecomputeResult(len(results), levels, len(changed), actions)
