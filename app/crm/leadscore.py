"""Lead score: how likely an inquiry is to enrol, 0–100, from five explainable rules.

| rule           | points | how                                                                  |
|----------------|--------|----------------------------------------------------------------------|
| source         | 0–25   | referral 25, walk-in 20, website 15, campaign 10, social media 8      |
| engagement     | 0–30   | 10 per follow-up the person answered (outcome interested,            |
|                |        | considering, callback requested or not interested), at most 30       |
| recency        | 0–20   | days since the last completed follow-up (or, with none, since the    |
|                |        | inquiry came in), in the institute's timezone: ≤ 7 → 20, ≤ 14 → 15,   |
|                |        | ≤ 30 → 10, ≤ 60 → 5, older → 0                                        |
| interest match | 0–15   | 15 when at least one subject asked about is taught in an active batch |
| priority       | 0–10   | high 10, medium 5, low 0                                             |

Score = the sum (at most 25 + 30 + 20 + 15 + 10 = 100). A closed inquiry is not a lead any more:
an enrolled one scores 100 and a lost one 0, with the reason given. Each rule adds one line to
the reasons shown beside the score; the lines name buckets, not day counts, so a score and its
reasons change only when something real changes.

`recompute_institute_internal` is set-based: one query for the inquiries, one grouped query for the
follow-ups, one for the subjects of active batches, then one write of just the rows whose score
or reasons changed (PostgreSQL: a single UPDATE … FROM unnest(arrays); SQLite: one executemany).
It runs on every change to an inquiry (for that one) and daily for everything (job
`crm_lead_scores`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, bindparam, case, cast, func, text, update
from sqlmodel import Session, col, select

from app.academics.models import Batch, Subject
from app.core import clock
from app.crm.models import ANSWERED, FollowUp, FollowUpStatus, Inquiry, Priority, Source, Status
from app.identity.models import Institute

SOURCE_POINTS = {
    Source.REFERRAL: 25,
    Source.WALK_IN: 20,
    Source.WEBSITE: 15,
    Source.CAMPAIGN: 10,
    Source.SOCIAL_MEDIA: 8,
}
POINTS_PER_ANSWER = 10
ENGAGEMENT_CAP = 30
RECENCY = ((7, 20, "within 7 days"), (14, 15, "8–14 days ago"), (30, 10, "15–30 days ago"))
RECENCY += ((60, 5, "31–60 days ago"),)
INTEREST_POINTS = 15
PRIORITY_POINTS = {Priority.HIGH: 10, Priority.MEDIUM: 5, Priority.LOW: 0}


@dataclass(frozen=True)
class LeadFacts:
    """What the score is made from, for one inquiry."""

    status: str
    source: str
    priority: str
    created_on: date
    subjects: list[int]
    answered: int = 0
    last_contact: date | None = None
    lost_reason: str | None = None


def score(
    facts: LeadFacts, *, today: date, taught: dict[int, str], names: dict[int, str]
) -> tuple[int, list[str]]:
    """The score and its reasons (pure). `taught`: subject id → name of subjects with an active
    batch; `names`: every subject's name."""
    if facts.status == Status.ENROLLED:
        return 100, ["Enrolled: no longer a lead."]
    if facts.status == Status.LOST:
        return 0, [f"Lost: {facts.lost_reason or 'no reason given'}."]
    reasons = []
    source_points = SOURCE_POINTS[Source(facts.source)]
    reasons.append(f"Source {Source(facts.source).label.lower()}: +{source_points}")
    engagement = min(POINTS_PER_ANSWER * facts.answered, ENGAGEMENT_CAP)
    if facts.answered:
        plural = "" if facts.answered == 1 else "s"
        reasons.append(f"{facts.answered} follow-up{plural} answered: +{engagement}")
    else:
        reasons.append("No follow-up answered yet: +0")
    since = facts.last_contact or facts.created_on
    days = (today - since).days
    recency = next(((points, label) for limit, points, label in RECENCY if days <= limit), None)
    what = "Last contact" if facts.last_contact else "Inquired, not contacted since,"
    if recency:
        reasons.append(f"{what} {recency[1]}: +{recency[0]}")
    else:
        reasons.append(f"{what} over 60 days ago: +0")
    matched = [taught[s] for s in facts.subjects if s in taught]
    if matched:
        interest = INTEREST_POINTS
        reasons.append(f"Wants {', '.join(sorted(matched))}, taught in an active batch: +15")
    else:
        interest = 0
        if facts.subjects:
            asked = sorted(names.get(s, "an unknown subject") for s in facts.subjects)
            reasons.append(f"No active batch for {', '.join(asked)}: +0")
        else:
            reasons.append("No subject of interest recorded: +0")
    priority_points = PRIORITY_POINTS[Priority(facts.priority)]
    reasons.append(f"{Priority(facts.priority).value.capitalize()} priority: +{priority_points}")
    total = source_points + engagement + (recency[0] if recency else 0) + interest
    return min(total + priority_points, 100), reasons


def _local_date(moment: datetime, tz: ZoneInfo) -> date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).date()


def recompute_institute_internal(
    session: Session,
    *,
    institute_id: int,
    inquiry_ids: list[int] | None = None,
    force: bool = False,
) -> int:
    """Score the institute's inquiries (or just `inquiry_ids`) and store the changed ones;
    returns how many rows were written. `force` rewrites every row."""
    timezone = session.exec(select(Institute.timezone).where(Institute.id == institute_id)).one()
    tz = ZoneInfo(timezone)
    today = clock.today_in(timezone)
    table = Inquiry.__table__
    # JSON read as text: the subjects are parsed once per distinct value, and the stored reasons
    # are compared as the text they were written as (no decoding of 10⁴ documents).
    as_text = String() if session.get_bind().dialect.name == "postgresql" else None
    subjects_col = (
        cast(table.c.interested_subjects, as_text) if as_text else table.c.interested_subjects
    )
    reasons_col = cast(table.c.score_reasons, as_text) if as_text else table.c.score_reasons
    query = select(
        table.c.id,
        table.c.status,
        table.c.source,
        table.c.priority,
        table.c.created_at,
        subjects_col,
        table.c.lost_reason,
        table.c.lead_score,
        reasons_col,
    ).where(table.c.institute_id == institute_id)
    answered = case(
        (col(FollowUp.outcome).in_([o.value for o in ANSWERED]), 1),
        else_=0,
    )
    follow_query = (
        select(FollowUp.inquiry_id, func.sum(answered), func.max(FollowUp.follow_up_date))
        .where(
            FollowUp.institute_id == institute_id,
            FollowUp.status == FollowUpStatus.COMPLETED.value,
        )
        .group_by(FollowUp.inquiry_id)
    )
    if inquiry_ids is not None:
        if not inquiry_ids:
            return 0
        query = query.where(table.c.id.in_(inquiry_ids))
        follow_query = follow_query.where(col(FollowUp.inquiry_id).in_(inquiry_ids))
    connection = session.connection()
    rows = connection.execute(query).all()  # Core rows: no ORM bookkeeping for 10⁴ inquiries
    if not rows:
        return 0
    engagement = {iid: (int(n or 0), last) for iid, n, last in session.exec(follow_query).all()}
    names, taught = _subject_names(session, institute_id)
    parsed: dict[str, list[int]] = {}
    changed: list[tuple[int, int, str]] = []
    for iid, status, source, priority, created_at, subjects, lost_reason, old, old_text in rows:
        if isinstance(subjects, str):
            if subjects not in parsed:
                parsed[subjects] = list(json.loads(subjects) or [])
            subjects = parsed[subjects]
        n, last = engagement.get(iid, (0, None))
        if isinstance(last, str):  # SQLite returns max(date) as text
            last = date.fromisoformat(last)
        facts = LeadFacts(
            status=status,
            source=source,
            priority=priority,
            created_on=_local_date(created_at, tz),
            subjects=list(subjects or []),
            answered=n,
            last_contact=last,
            lost_reason=lost_reason,
        )
        value, reasons = score(facts, today=today, taught=taught, names=names)
        reasons_text = json.dumps(reasons)
        if not isinstance(old_text, str):
            old_text = json.dumps(old_text)
        if force or value != old or reasons_text != old_text:
            changed.append((iid, value, reasons_text))
    _write_scores(connection, institute_id, changed)
    return len(changed)


def _subject_names(session: Session, institute_id: int) -> tuple[dict[Any, str], dict[Any, str]]:
    """The institute's subject names, and those of the subjects an open batch teaches."""
    names = dict(
        session.exec(
            select(Subject.id, Subject.name).where(Subject.institute_id == institute_id)
        ).all()
    )
    taught = {
        sid: names.get(sid, "")
        for sid in session.exec(
            select(Batch.subject_id)
            .where(Batch.institute_id == institute_id, col(Batch.active).is_(True))
            .distinct()
        )
    }
    return names, taught


def _write_scores(connection: Any, institute_id: int, changed: list[tuple[int, int, str]]) -> None:
    """Store the changed scores and reasons: one statement on PostgreSQL, executemany else."""
    table = Inquiry.__table__
    if changed and connection.dialect.name == "postgresql":
        # One statement for the lot. Few distinct reason lists exist (they name buckets), so
        # each is sent once and rows refer to it by position; ids, scores and positions travel
        # as three comma-separated lists.
        distinct: dict[str, int] = {}
        keys = [distinct.setdefault(r, len(distinct) + 1) for _, _, r in changed]
        connection.execute(
            text(
                "UPDATE crm_inquiries AS t SET lead_score = v.s, score_reasons = r.value "
                "FROM unnest(CAST(string_to_array(:ids, ',') AS integer[]), "
                "CAST(string_to_array(:scores, ',') AS integer[]), "
                "CAST(string_to_array(:keys, ',') AS integer[])) AS v(i, s, k) "
                "JOIN json_array_elements(CAST(:reasons AS json)) WITH ORDINALITY AS r(value, n) "
                "ON r.n = v.k "
                "WHERE t.id = v.i AND t.institute_id = :institute_id"
            ),
            {
                "ids": ",".join(str(i) for i, _, _ in changed),
                "scores": ",".join(str(v) for _, v, _ in changed),
                "keys": ",".join(map(str, keys)),
                "reasons": "[" + ",".join(distinct) + "]",
                "institute_id": institute_id,
            },
        )
    elif changed:
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(lead_score=bindparam("b_score"), score_reasons=bindparam("b_reasons"))
        )
        connection.execute(
            statement,
            [{"b_id": i, "b_score": v, "b_reasons": json.loads(r)} for i, v, r in changed],
        )
