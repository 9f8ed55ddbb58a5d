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

How it stays fast: one SELECT per pass joins the active students to one grouped subquery per
factor (attendance goes from the window's sessions to their marks through the (institute,
session) index). The daily job reads every institute in one pass, then writes each institute in
its own transaction. Each profile carries a fingerprint of everything it shows; only profiles
whose fingerprint changed are written (one upsert statement), so a quiet day writes almost
nothing. Reasons are formatted only for the profiles being written.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property

from sqlalchemy import case, delete, func, insert, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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


def settings_for_internal(session: Session, institute_id: int) -> RiskSettings:
    """The institute's settings, or the defaults (not saved) when it has none."""
    return session.get(RiskSettings, institute_id) or RiskSettings(institute_id=institute_id)


@dataclass
class Assessed:
    """One student's result. The plain-language reasons are built on first use from the facts
    kept here, so a recompute that changes nothing never formats a sentence."""

    student_id: int
    name: str
    score: float | None
    level: str
    subscores: dict[str, float | None]
    flags: list[str]
    facts: tuple
    settings: RiskSettings = field(repr=False)
    window: int = 30
    currency: str = "INR"
    context: int = 0

    @cached_property
    def reasons(self) -> list[str]:
        return explain(self)

    @cached_property
    def digest(self) -> str:
        return fingerprint(self.facts, self.context)


def fingerprint(facts: tuple, context: int) -> str:
    """What a stored profile is computed from: the student's facts and the institute's context
    (settings, currency, engine version). Equal fingerprints ⇔ the same score, level, flags and
    reasons, so the daily pass skips those students before scoring them. Numbers only: hash()
    of ints and floats is the same in every process (of None and of strings it is not), so
    absent values are written as -1."""
    att, hw, fee, test, last = facts
    seen = (
        att or (-1, -1),
        hw or (-1, -1),
        (fee.open_minor, fee.overdue_minor, fee.days_overdue) if fee else (-1, -1, -1),
        test or (-1, -1),
        (*last, -1, -1),
        context,
    )
    return f"{hash(seen) & 0xFFFFFFFFFFFFFFFF:016x}"


# Bump when the formulas or the wording of the reasons change: every profile is rewritten.
ENGINE_VERSION = 2


def _context(settings: RiskSettings, currency: str) -> int:
    """Everything besides a student's facts that a profile depends on (window, weights,
    thresholds, currency, engine version), as a stable number computed once per institute."""
    text = repr(
        (
            ENGINE_VERSION,
            settings.window_days,
            settings.low_min,
            settings.medium_min,
            settings.attendance_flag_percent,
            settings.fee_overdue_flag_days,
            settings.pass_percent,
            tuple(_weights(settings).values()),
            currency,
        )
    )
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


@dataclass(frozen=True)
class Inputs:
    """Everything the engine reads for one institute: per active student, their name and the
    facts (attendance, homework, fees, tests, last two tests), read in one grouped query."""

    students: dict[int, str]
    facts: dict[int, tuple]
    currency: str
    # The stored profiles as read with the facts: student → (level, fingerprint); and the
    # students with a profile who are no longer active. Writers re-check them under their lock.
    previous: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    gone: list[int] = field(default_factory=list)


def _among(column, ids: list[int]):
    return column == ids[0] if len(ids) == 1 else col(column).in_(ids)


def gather_internal(
    session: Session, *, institute_id: int, today: date, window_days: int
) -> Inputs:
    """The inputs of one institute (the "Recompute now" button, the settings preview)."""
    return gather_many(session, institute_ids=[institute_id], today=today, window_days=window_days)[
        institute_id
    ]


def gather_many(
    session: Session, *, institute_ids: list[int], today: date, window_days: int
) -> dict[int, Inputs]:
    """The inputs of several institutes that share a window, in one statement: each factor is
    a grouped subquery over the window, joined to the active students (the daily job reads
    every institute in one pass instead of one pass each)."""
    start = today - timedelta(days=window_days - 1)
    counted = case((AttendanceRecord.status.in_(["present", "late"]), 1), else_=0)
    taken = case((AttendanceRecord.status != "excused", 1), else_=0)
    # Sessions of the window first, then their marks through the (institute, session) index:
    # a few index probes per session instead of a scan of every mark ever taken.
    attendance = (
        select(
            AttendanceRecord.student_id.label("student_id"),
            func.sum(counted).label("present"),
            func.sum(taken).label("taken"),
        )
        .select_from(ClassSession)
        .join(
            AttendanceRecord,
            (AttendanceRecord.institute_id == ClassSession.institute_id)
            & (AttendanceRecord.session_id == ClassSession.id),
        )
        .where(
            _among(ClassSession.institute_id, institute_ids),
            ClassSession.date >= start,
            ClassSession.date <= today,
        )
        .group_by(AttendanceRecord.student_id)
        .subquery("att")
    )
    homework = (
        select(
            HomeworkSubmission.student_id.label("student_id"),
            func.sum(case((col(HomeworkSubmission.on_time).is_(True), 1), else_=0)).label(
                "on_time"
            ),
            func.count().label("due"),
        )
        .select_from(Homework)
        .join(
            HomeworkSubmission,
            (HomeworkSubmission.institute_id == Homework.institute_id)
            & (HomeworkSubmission.homework_id == Homework.id),
        )
        .where(
            _among(Homework.institute_id, institute_ids),
            Homework.due_on >= start,
            Homework.due_on < today,
        )
        .group_by(HomeworkSubmission.student_id)
        .subquery("hw")
    )
    sat_on = func.coalesce(AssessmentResult.scheduled_on, Assessment.held_on)
    ranked = (
        select(
            AssessmentResult.student_id,
            AssessmentResult.percentage,
            sat_on.label("sat_on"),
            func.row_number()
            .over(
                partition_by=AssessmentResult.student_id,
                order_by=(sat_on.desc(), col(AssessmentResult.id).desc()),
            )
            .label("rn"),
        )
        .join(
            Assessment,
            (Assessment.institute_id == AssessmentResult.institute_id)
            & (Assessment.id == AssessmentResult.assessment_id),
        )
        .where(
            _among(AssessmentResult.institute_id, institute_ids),
            col(AssessmentResult.percentage).is_not(None),
            col(AssessmentResult.absent).is_(False),
            sat_on <= today,
        )
        .subquery("ranked")
    )
    # One pass over the sittings gives both the window's mean and the last two tests.
    in_window = ranked.c.sat_on >= start
    tests = (
        select(
            ranked.c.student_id,
            func.sum(case((in_window, ranked.c.percentage), else_=0)).label("total"),
            func.sum(case((in_window, 1), else_=0)).label("n"),
            func.max(case((ranked.c.rn == 1, ranked.c.percentage))).label("first"),
            func.max(case((ranked.c.rn == 2, ranked.c.percentage))).label("second"),
        )
        .group_by(ranked.c.student_id)
        .subquery("tests")
    )
    fees = fee_reports.standing_query(institute_ids=institute_ids, today=today)
    rows = (
        session.connection()
        .execute(
            select(
                Student.institute_id,
                Student.id,
                Student.name,
                attendance.c.present,
                attendance.c.taken,
                homework.c.on_time,
                homework.c.due,
                fees.c.open_minor,
                fees.c.overdue_minor,
                fees.c.oldest_due,
                tests.c.total,
                tests.c.n,
                tests.c.first,
                tests.c.second,
                StudentRiskProfile.level,
                StudentRiskProfile.digest,
            )
            .outerjoin(attendance, attendance.c.student_id == Student.id)
            .outerjoin(homework, homework.c.student_id == Student.id)
            .outerjoin(fees, fees.c.student_id == Student.id)
            .outerjoin(tests, tests.c.student_id == Student.id)
            .outerjoin(
                StudentRiskProfile,
                (StudentRiskProfile.institute_id == Student.institute_id)
                & (StudentRiskProfile.student_id == Student.id),
            )
            .where(_among(Student.institute_id, institute_ids), Student.status == "active")
        )
        .all()
    )
    currencies = dict(
        session.exec(
            select(Institute.id, Institute.currency).where(_among(Institute.id, institute_ids))
        ).all()
    )
    gone: dict[int, list[int]] = {i: [] for i in institute_ids}
    for iid, sid in session.connection().execute(
        select(StudentRiskProfile.institute_id, StudentRiskProfile.student_id)
        .join(Student, Student.id == StudentRiskProfile.student_id)
        .where(_among(StudentRiskProfile.institute_id, institute_ids), Student.status != "active")
    ):
        gone[iid].append(sid)
    names: dict[int, dict[int, str]] = {i: {} for i in institute_ids}
    facts: dict[int, dict[int, tuple]] = {i: {} for i in institute_ids}
    previous: dict[int, dict[int, tuple]] = {i: {} for i in institute_ids}
    standing_of = fee_reports.standing_of
    for (
        iid,
        sid,
        name,
        present,
        tkn,
        on_time,
        due,
        open_m,
        overdue,
        oldest,
        total,
        n,
        p1,
        p2,
        level,
        digest,
    ) in rows:
        names[iid][sid] = name
        if level is not None:
            previous[iid][sid] = (level, digest)
        facts[iid][sid] = (
            (int(present), int(tkn)) if tkn else None,
            (int(on_time or 0), int(due)) if due else None,
            standing_of(open_m, overdue, oldest, today) if open_m is not None else None,
            (float(total) / int(n), int(n)) if n else None,
            tuple(float(p) for p in (p1, p2) if p is not None),
        )
    return {
        iid: Inputs(
            students=names[iid],
            facts=facts[iid],
            currency=currencies[iid],
            previous=previous[iid],
            gone=gone[iid],
        )
        for iid in institute_ids
    }


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


def _weights(settings: RiskSettings) -> dict[str, int]:
    return {
        "attendance": settings.weight_attendance,
        "homework": settings.weight_homework,
        "fees": settings.weight_fees,
        "tests": settings.weight_tests,
    }


def assess(inputs: Inputs, settings: RiskSettings) -> list[Assessed]:
    """Score every active student from the gathered inputs (pure: no database)."""
    weights = _weights(settings)
    attendance_flag = settings.attendance_flag_percent
    fee_flag_days = settings.fee_overdue_flag_days
    pass_percent = settings.pass_percent
    low_min, medium_min = settings.low_min, settings.medium_min
    window = settings.window_days
    context = _context(settings, inputs.currency)
    out = []
    facts = inputs.facts
    for sid, name in inputs.students.items():
        att, hw, fee, test, last = facts[sid]
        sub: dict[str, float | None] = {
            "attendance": 100.0 * att[0] / att[1] if att else None,
            "homework": 100.0 * hw[0] / hw[1] if hw else None,
            "fees": fee_subscore(fee) if fee else None,
            "tests": test[0] if test else None,
        }
        flags = []
        if att and sub["attendance"] < attendance_flag:
            flags.append("attendance")
        if fee and fee.overdue_minor and fee.days_overdue > fee_flag_days:
            flags.append("fees")
        if len(last) == 2 and all(p < pass_percent for p in last):
            flags.append("tests")
        total_weight = 0
        weighted = 0.0
        for key, value in sub.items():
            if value is not None and weights[key] > 0:
                total_weight += weights[key]
                weighted += weights[key] * value
        score = round(weighted / total_weight, 2) if total_weight else None
        if score is None or score >= low_min:
            level = "LOW"
        else:
            level = "MEDIUM" if score >= medium_min else "HIGH"
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
                facts=(att, hw, fee, test, last),
                settings=settings,
                window=window,
                currency=inputs.currency,
                context=context,
            )
        )
    return out


def explain(result: Assessed) -> list[str]:
    """The plain-language reasons of one result: critical flags first, then each factor (what
    counted, what did not and why), then how the score was made."""
    settings, window = result.settings, result.window
    att, hw, fee, test, last = result.facts
    sub = result.subscores
    reasons, critical = [], []
    if att:
        present, taken = att
        reasons.append(
            f"Attendance: present or late at {present} of {taken} sessions "
            f"({_pct(100.0 * present / taken)})."
        )
        if "attendance" in result.flags:
            critical.append(
                f"Critical: attendance {_pct(100.0 * present / taken)} is below "
                f"{_pct(settings.attendance_flag_percent)}."
            )
    else:
        reasons.append(f"No classes taken in the last {window} days: attendance not counted.")
    if hw:
        on_time, due = hw
        reasons.append(
            f"Homework: {on_time} of {due} handed in on time ({_pct(100.0 * on_time / due)})."
        )
    else:
        reasons.append(f"No homework due in the last {window} days: homework not counted.")
    if fee:
        if fee.overdue_minor:
            owed = format_money(fee.overdue_minor, result.currency)
            reasons.append(
                f"Fees: {owed} overdue for {fee.days_overdue} days "
                f"(fees score {_pct(fee_subscore(fee))})."
            )
            if "fees" in result.flags:
                critical.append(
                    f"Critical: fees of {owed} overdue for {fee.days_overdue} days "
                    f"(more than {settings.fee_overdue_flag_days})."
                )
        else:
            reasons.append("Fees: nothing overdue.")
    else:
        reasons.append("No fees billed: fees not counted.")
    if test:
        mean, count = test
        reasons.append(f"Tests: average {_pct(mean)} over {count} in the last {window} days.")
    else:
        reasons.append(f"No tests in the last {window} days: tests not counted.")
    if "tests" in result.flags:
        critical.append(
            f"Critical: failed the last two tests ({_pct(last[0])}, {_pct(last[1])}; "
            f"pass mark {_pct(settings.pass_percent)})."
        )
    weights = _weights(settings)
    counted = [k for k, v in sub.items() if v is not None and weights[k] > 0]
    if result.score is None:
        reasons.insert(0, "Not enough data yet to score.")
    elif len(counted) < len(FACTORS):
        reasons.append(
            "Score from " + ", ".join(counted) + " only; their weights are rescaled to add up "
            "to 100%."
        )
    return critical + reasons


@dataclass(frozen=True)
class RecomputeResult:
    students: int
    levels: dict[str, int]
    events: int
    actions: int
    written: int = 0


PROFILE_COLUMNS = (
    "score",
    "level",
    *FACTORS,
    "flags",
    "reasons",
    "computed_at",
    "digest",
)


_PG_UPSERT = text(
    """
    INSERT INTO student_risk_profiles
        (institute_id, student_id, score, level, attendance, homework, fees, tests,
         flags, reasons, computed_at, digest)
    SELECT institute_id, student_id, score, level, attendance, homework, fees, tests,
           flags, reasons, computed_at, digest
    FROM json_to_recordset(CAST(:rows AS json)) AS r(
        institute_id integer, student_id integer, score double precision, level varchar,
        attendance double precision, homework double precision, fees double precision,
        tests double precision, flags json, reasons json, computed_at timestamptz,
        digest varchar)
    ON CONFLICT (institute_id, student_id) DO UPDATE SET
        score = excluded.score, level = excluded.level, attendance = excluded.attendance,
        homework = excluded.homework, fees = excluded.fees, tests = excluded.tests,
        flags = excluded.flags, reasons = excluded.reasons,
        computed_at = excluded.computed_at, digest = excluded.digest
    """
)


def _upsert_profiles(session: Session, rows: list[dict]) -> None:
    """Insert or replace profiles by (institute, student). PostgreSQL gets every row in one
    statement (one JSON document, unpacked by json_to_recordset); SQLite runs the same upsert
    as an executemany."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        document = json.dumps(
            [r | {"computed_at": r["computed_at"].isoformat()} for r in rows],
            ensure_ascii=False,
        )
        conn.execute(_PG_UPSERT, {"rows": document})
        return
    stmt = sqlite_insert(StudentRiskProfile.__table__)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["institute_id", "student_id"],
            set_={c: stmt.excluded[c] for c in PROFILE_COLUMNS},
        ),
        rows,
    )


def pending(inputs: Inputs, settings: RiskSettings) -> tuple[list[int], list[int]]:
    """(students whose profile must be rescored, profiles to drop), from what was read with the
    facts; both empty on a quiet day, when nothing needs writing at all."""
    context = _context(settings, inputs.currency)
    moved = [
        sid
        for sid, facts in inputs.facts.items()
        if inputs.previous.get(sid, (None, None))[1] != fingerprint(facts, context)
    ]
    return moved, list(inputs.gone)


def apply_internal(
    session: Session,
    *,
    institute_id: int,
    inputs: Inputs,
    settings: RiskSettings,
    now: datetime,
) -> RecomputeResult:
    """Store one institute's scores: score and write only the students whose facts or settings
    changed since their profile was written, drop the profiles of students no longer active,
    record level changes, and open one `student_risk` action per transition into HIGH."""
    candidates, gone = pending(inputs, settings)
    # What is stored now for those (another recompute may have written since the read).
    previous: dict[int, tuple[str, str | None]] = {}
    for n in range(0, len(candidates), 1000):
        previous.update(
            (sid, (level, digest))
            for sid, level, digest in session.connection().execute(
                select(
                    StudentRiskProfile.student_id,
                    StudentRiskProfile.level,
                    StudentRiskProfile.digest,
                ).where(
                    StudentRiskProfile.institute_id == institute_id,
                    col(StudentRiskProfile.student_id).in_(candidates[n : n + 1000]),
                )
            )
        )
    for n in range(0, len(gone), 500):
        session.execute(
            delete(StudentRiskProfile).where(
                StudentRiskProfile.institute_id == institute_id,
                col(StudentRiskProfile.student_id).in_(gone[n : n + 500]),
            )
        )
    context = _context(settings, inputs.currency)
    moved = {
        sid: inputs.students[sid]
        for sid in candidates
        if previous.get(sid, (None, None))[1] != fingerprint(inputs.facts[sid], context)
    }
    results = assess(
        Inputs(
            students=moved,
            facts={sid: inputs.facts[sid] for sid in moved},
            currency=inputs.currency,
        ),
        settings,
    )
    stale = results
    if stale:
        _upsert_profiles(
            session,
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
                    "digest": r.digest,
                }
                for r in stale
            ],
        )
    changed = [r for r in results if previous.get(r.student_id, (None, None))[0] != r.level]
    if changed:
        session.execute(
            insert(StudentRiskEvent),
            [
                {
                    "institute_id": institute_id,
                    "student_id": r.student_id,
                    "from_level": previous.get(r.student_id, (None, None))[0],
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
        actions = inbox.open_actions_bulk_internal(
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
    levels = unchanged_levels(inputs, moved, fresher=previous)
    for r in results:
        levels[r.level] += 1
    return RecomputeResult(len(inputs.students), levels, len(changed), actions, len(stale))


def unchanged_levels(inputs: Inputs, moved, fresher: dict | None = None) -> dict[str, int]:
    """Students at each level among those not rescored (their stored level stands)."""
    levels = dict.fromkeys(("LOW", "MEDIUM", "HIGH"), 0)
    for sid in inputs.students:
        if sid in moved:
            continue
        stored = (fresher or {}).get(sid) or inputs.previous.get(sid)
        if stored is not None:
            levels[stored[0]] += 1
    return levels


def recompute_institute_internal(
    session: Session, *, institute_id: int, now: datetime | None = None
) -> RecomputeResult:
    """Score every active student of one institute and store what changed; record level
    changes; open one `student_risk` action per transition into HIGH."""
    now = now or clock.now()
    institute = session.get(Institute, institute_id)
    today = clock.today_in(institute.timezone)
    settings = settings_for_internal(session, institute_id)
    inputs = gather_internal(
        session, institute_id=institute_id, today=today, window_days=settings.window_days
    )
    return apply_internal(
        session, institute_id=institute_id, inputs=inputs, settings=settings, now=now
    )


def gather_all(session: Session) -> dict[int, tuple[Inputs, RiskSettings]]:
    """Every institute's inputs and settings, read in one pass per distinct (today, window) —
    usually one: the daily job's read side, under a system session."""
    institutes = session.exec(select(Institute.id, Institute.timezone).order_by(Institute.id)).all()
    # Plain copies: the settings outlive this session (each institute is written in its own).
    settings = {
        row.institute_id: RiskSettings(**row.model_dump())
        for row in session.exec(select(RiskSettings)).all()
    }
    groups: dict[tuple[date, int], list[int]] = {}
    for iid, tz in institutes:
        config = settings.get(iid) or RiskSettings(institute_id=iid)
        settings[iid] = config
        groups.setdefault((clock.today_in(tz), config.window_days), []).append(iid)
    out: dict[int, tuple[Inputs, RiskSettings]] = {}
    for (today, window), ids in groups.items():
        for iid, inputs in gather_many(
            session, institute_ids=ids, today=today, window_days=window
        ).items():
            out[iid] = (inputs, settings[iid])
    return out
