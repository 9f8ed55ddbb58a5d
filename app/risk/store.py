"""Writing profiles: only the students whose facts or settings changed, level-change events, and one action per move into HIGH."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.academics.models import BatchMembership
from app.core import clock
from app.identity.models import Institute
from app.inbox import service as inbox
from app.risk.facts import Inputs, gather_internal, settings_for_internal
from app.risk.models import RiskSettings, StudentRiskEvent, StudentRiskProfile
from app.risk.scoring import FACTORS, Assessed, assess, fingerprint, scoring_context


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


PG_UPSERT = text(
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


_PG_EVENTS = text(
    """
    INSERT INTO student_risk_events
        (institute_id, student_id, from_level, to_level, score, created_at)
    SELECT institute_id, student_id, from_level, to_level, score, created_at
    FROM json_to_recordset(CAST(:rows AS json)) AS r(
        institute_id integer, student_id integer, from_level varchar, to_level varchar,
        score double precision, created_at timestamptz)
    """
)


def _insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """Level changes, in one statement on PostgreSQL (a first recompute writes one a student)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_EVENTS, {"rows": orjson.dumps(rows).decode()})
        return
    conn.execute(insert(StudentRiskEvent), rows)


def upsert_profiles(session: Session, rows: list[dict]) -> None:
    """Insert or replace profiles by (institute, student). PostgreSQL gets every row in one
    statement (one JSON document, unpacked by json_to_recordset; orjson writes the times in
    ISO 8601); SQLite runs the same upsert as an executemany."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(PG_UPSERT, {"rows": orjson.dumps(rows).decode()})
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
    context = scoring_context(settings, inputs.currency)
    moved = [
        sid
        for sid, facts in inputs.facts.items()
        if inputs.previous.get(sid, (None, None))[1] != fingerprint(facts, context)
    ]
    return moved, list(inputs.gone)


@dataclass
class Scored:
    """Some of an institute's students scored and turned into profile rows (pure Python, no
    database: the daily job scores the next part while the part before is being written)."""

    results: list[Assessed]
    rows: list[dict[str, Any]]


def score_students(
    inputs: Inputs,
    settings: RiskSettings,
    students: list[int],
    *,
    institute_id: int,
    now: datetime,
) -> Scored:
    results = assess(
        Inputs(
            students={sid: inputs.students[sid] for sid in students},
            facts={sid: inputs.facts[sid] for sid in students},
            currency=inputs.currency,
        ),
        settings,
    )
    rows = [
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
        for r in results
    ]
    return Scored(results, rows)


def _stored_now(
    session: Session, institute_id: int, students: set[int]
) -> dict[int, tuple[str, str | None]]:
    """(level, fingerprint) of those students' profiles as stored now (another recompute may
    have written since the read): one read of the institute's profiles, cheaper than lists of
    ids once more than a few hundred moved."""
    if not students:
        return {}
    return {
        sid: (level, digest)
        for sid, level, digest in session.connection().execute(
            select(
                StudentRiskProfile.student_id, StudentRiskProfile.level, StudentRiskProfile.digest
            ).where(StudentRiskProfile.institute_id == institute_id)
        )
        if sid in students
    }


def apply_internal(
    session: Session,
    *,
    institute_id: int,
    inputs: Inputs,
    settings: RiskSettings,
    now: datetime,
    due: tuple[list[int], list[int]] | None = None,
    scored: Iterable[Scored] | None = None,
) -> RecomputeResult:
    """Store one institute's scores: write only the students whose facts or settings changed
    since their profile was written, drop the profiles of students no longer active, record
    level changes, and open one `student_risk` action per transition into HIGH. A caller that
    scores alongside passes what `pending` found (`due`) and what `score_students` made of its
    students, in parts (`scored`; each part is written as it comes)."""
    candidates, gone = due if due is not None else pending(inputs, settings)
    if scored is None:
        scored = [score_students(inputs, settings, candidates, institute_id=institute_id, now=now)]
    previous = _stored_now(session, institute_id, set(candidates))
    for n in range(0, len(gone), 500):
        session.execute(
            delete(StudentRiskProfile).where(
                StudentRiskProfile.institute_id == institute_id,
                col(StudentRiskProfile.student_id).in_(gone[n : n + 500]),
            )
        )
    results: list[Assessed] = []
    for part in scored:
        keep = [
            n
            for n, r in enumerate(part.results)
            if previous.get(r.student_id, (None, None))[1] != r.digest
        ]
        if keep:
            upsert_profiles(session, [part.rows[n] for n in keep])
            results.extend(part.results[n] for n in keep)
    changed = [r for r in results if previous.get(r.student_id, (None, None))[0] != r.level]
    if changed:
        _insert_events(
            session,
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
    levels = unchanged_levels(inputs, {r.student_id for r in results}, fresher=previous)
    for r in results:
        levels[r.level] += 1
    return RecomputeResult(len(inputs.students), levels, len(changed), actions, len(results))


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
