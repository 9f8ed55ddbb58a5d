"""Reading the facts risk is scored from, for one institute or all of them, in set-based queries (never a query per student)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, null
from sqlmodel import Session, col, select

from app.academics.models import Student, StudentStatus
from app.attendance.models import NOT_HELD, AttendanceRecord, ClassSession, Mark
from app.core import clock
from app.coursework.models import Assessment, AssessmentResult, Homework, HomeworkSubmission
from app.fees import reports as fee_reports
from app.identity.models import Institute
from app.risk.models import RiskSettings, StudentRiskProfile


def settings_for_internal(session: Session, institute_id: int) -> RiskSettings:
    """The institute's settings, or the defaults (not saved) when it has none."""
    return session.get(RiskSettings, institute_id) or RiskSettings(institute_id=institute_id)


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


def among(column, ids: list[int]):
    return column == ids[0] if len(ids) == 1 else col(column).in_(ids)


def gather_internal(
    session: Session, *, institute_id: int, today: date, window_days: int
) -> Inputs:
    """The inputs of one institute (the "Recompute now" button, the settings preview)."""
    return gather_many(session, institute_ids=[institute_id], today=today, window_days=window_days)[
        institute_id
    ]


def _attendance_window(institute_ids: list[int], start: date, today: date) -> Any:
    """Present and taken marks per student in the window (a class not held never counts)."""
    counted = case((AttendanceRecord.status.in_([Mark.PRESENT.value, Mark.LATE.value]), 1), else_=0)
    taken = case((AttendanceRecord.status != "excused", 1), else_=0)
    # Sessions of the window first, then their marks through the (institute, session) index:
    # a few index probes per session instead of a scan of every mark ever taken.
    return (
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
            among(ClassSession.institute_id, institute_ids),
            ClassSession.date >= start,
            ClassSession.date <= today,
            # A class not held never counts, even if a mark was left on it.
            col(ClassSession.status).not_in(NOT_HELD),
        )
        .group_by(AttendanceRecord.student_id)
        .subquery("att")
    )


def _homework_window(institute_ids: list[int], start: date, today: date) -> Any:
    """Homework due in the window per student, and how much of it came in on time."""
    return (
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
            among(Homework.institute_id, institute_ids),
            Homework.due_on >= start,
            Homework.due_on < today,
        )
        .group_by(HomeworkSubmission.student_id)
        .subquery("hw")
    )


def _tests_window(institute_ids: list[int], start: date, today: date) -> Any:
    """Per student: the window's test mean and count, and the last two percentages."""
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
            among(AssessmentResult.institute_id, institute_ids),
            col(AssessmentResult.percentage).is_not(None),
            col(AssessmentResult.absent).is_(False),
            sat_on <= today,
        )
        .subquery("ranked")
    )
    # One pass over the sittings gives both the window's mean and the last two tests.
    in_window = ranked.c.sat_on >= start
    return (
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


def _gone(session: Session, institute_ids: list[int]) -> dict[int, list[int]]:
    """Students with a risk profile who are no longer active (their profiles go)."""
    gone: dict[int, list[int]] = {i: [] for i in institute_ids}
    for iid, sid in session.connection().execute(
        select(StudentRiskProfile.institute_id, StudentRiskProfile.student_id)
        .join(Student, Student.id == StudentRiskProfile.student_id)
        .where(
            among(StudentRiskProfile.institute_id, institute_ids),
            Student.status != StudentStatus.ACTIVE.value,
        )
    ):
        gone[iid].append(sid)
    return gone


# Runs a statement on a connection of its own and returns its rows later (see gather_all).
ReadAside = Callable[[Any], "Future[list[Any]]"]


def gather_many(
    session: Session,
    *,
    institute_ids: list[int],
    today: date,
    window_days: int,
    read_aside: ReadAside | None = None,
) -> dict[int, Inputs]:
    """The inputs of several institutes that share a window, in one statement: each factor is
    a grouped subquery over the window, joined to the active students (the daily job reads
    every institute in one pass instead of one pass each). With `read_aside` the attendance
    window, the biggest part, is read as a statement of its own on another connection while
    this one reads the rest."""
    start = today - timedelta(days=window_days - 1)
    attendance = _attendance_window(institute_ids, start, today)
    homework = _homework_window(institute_ids, start, today)
    tests = _tests_window(institute_ids, start, today)
    fees = fee_reports.standing_query(institute_ids=institute_ids, today=today)
    aside = read_aside(select(attendance)) if read_aside is not None else None
    query = select(
        Student.institute_id,
        Student.id,
        Student.name,
        attendance.c.present if aside is None else null(),
        attendance.c.taken if aside is None else null(),
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
    if aside is None:
        query = query.outerjoin(attendance, attendance.c.student_id == Student.id)
    rows = (
        session.connection()
        .execute(
            query.outerjoin(homework, homework.c.student_id == Student.id)
            .outerjoin(fees, fees.c.student_id == Student.id)
            .outerjoin(tests, tests.c.student_id == Student.id)
            .outerjoin(
                StudentRiskProfile,
                (StudentRiskProfile.institute_id == Student.institute_id)
                & (StudentRiskProfile.student_id == Student.id),
            )
            .where(
                among(Student.institute_id, institute_ids),
                Student.status == StudentStatus.ACTIVE.value,
            )
        )
        .all()
    )
    currencies = dict(
        session.exec(
            select(Institute.id, Institute.currency).where(among(Institute.id, institute_ids))
        ).all()
    )
    marks = None if aside is None else {sid: (p, t) for sid, p, t in aside.result()}
    return _assemble(rows, institute_ids, today, currencies, _gone(session, institute_ids), marks)


def _assemble(
    rows: Any,
    institute_ids: list[int],
    today: date,
    currencies: dict[Any, str],
    gone: dict[int, list[int]],
    marks: dict[int, tuple[Any, Any]] | None = None,
) -> dict[int, Inputs]:
    """Each institute's Inputs from the joined rows (one per active student); `marks` holds
    (present, taken) by student when the attendance window was read aside."""
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
        if marks is not None:
            present, tkn = marks.get(sid, (None, None))
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


def gather_all(
    session: Session, *, read_aside: ReadAside | None = None
) -> dict[int, tuple[Inputs, RiskSettings]]:
    """Every institute's inputs and settings, read in one pass per distinct (today, window) —
    usually one: the daily job's read side, under a system session. `read_aside` (see
    gather_many) lets the job read the attendance window on a second connection meanwhile."""
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
            session, institute_ids=ids, today=today, window_days=window, read_aside=read_aside
        ).items():
            out[iid] = (inputs, settings[iid])
    return out
