"""Automatic badge rules, evaluated set-based: one query per rule kind over the institute.

They run nightly over everyone (the `badge_rules` job) and right after the events that can
meet them — attendance taken, marks entered — for the students of that event only."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.attendance.models import (
    AttendanceRecord,
    ClassSession,
    Mark,
    SessionStatus,
    TopicProgress,
)
from app.badges import service
from app.badges.models import Badge, BadgeAward, RuleKind
from app.core import audit
from app.core.roles import Role
from app.core.tenancy import Actor
from app.coursework.models import Assessment, AssessmentResult

EPSILON = 1e-9


def _only(column, student_ids: set[int] | None):
    """A filter to the given students (None: everyone)."""
    return col(column).in_(sorted(student_ids)) if student_ids is not None else True


def _topic_competency(
    session: Session, institute_id: int, badges: list[Badge], student_ids: set[int] | None = None
) -> set:
    topics = {t for b in badges for t in b.rule_topic_ids or []}
    if not topics:
        return set()
    # Thresholds are above 0 (the service refuses others), so a student without a row for a
    # topic, or below every rule's threshold on it, meets no rule that lists it.
    lowest = min(b.rule_threshold for b in badges)
    levels: dict[int, dict[int, float]] = defaultdict(dict)  # topic → student → competency
    for topic_id, student_id, competency in session.exec(
        select(TopicProgress.topic_id, TopicProgress.student_id, TopicProgress.competency).where(
            TopicProgress.institute_id == institute_id,
            col(TopicProgress.topic_id).in_(topics),
            TopicProgress.competency + EPSILON >= lowest,
            _only(TopicProgress.student_id, student_ids),
        )
    ):
        levels[topic_id][student_id] = competency or 0
    pairs = set()
    for b in badges:
        qualified: set[int] | None = None
        for topic_id in b.rule_topic_ids or []:
            meets = {
                student_id
                for student_id, competency in levels.get(topic_id, {}).items()
                if competency + EPSILON >= b.rule_threshold
            }
            qualified = meets if qualified is None else qualified & meets
        pairs |= {(student_id, b.id) for student_id in qualified or ()}
    return pairs


def _percent_by(
    session: Session, institute_id: int, key, ids: set[int], student_ids: set[int] | None = None
) -> dict:
    """Per subject (or topic) in ids: each student's (sum of percentages, number of results)."""
    if not ids:
        return {}
    percent = func.coalesce(
        AssessmentResult.percentage, AssessmentResult.marks * 100.0 / Assessment.max_marks
    )
    rows = session.exec(
        select(key, AssessmentResult.student_id, func.sum(percent), func.count(AssessmentResult.id))
        .join(Assessment, Assessment.id == AssessmentResult.assessment_id)
        .where(
            AssessmentResult.institute_id == institute_id,
            col(AssessmentResult.absent).is_(False),
            (col(AssessmentResult.percentage).is_not(None))
            | (col(AssessmentResult.marks).is_not(None)),
            col(key).in_(ids),
            _only(AssessmentResult.student_id, student_ids),
        )
        .group_by(key, AssessmentResult.student_id)
    )
    out: dict[int, list] = defaultdict(list)
    for key_id, student_id, total, count in rows:
        out[key_id].append((student_id, float(total or 0), count))
    return out


def _assessment_percent(
    session: Session, institute_id: int, badges: list[Badge], student_ids: set[int] | None = None
) -> set:
    # Listed topics narrow a rule to them; otherwise the whole subject counts.
    by_topic = _percent_by(
        session,
        institute_id,
        Assessment.topic_id,
        {t for b in badges for t in b.rule_topic_ids or []},
        student_ids,
    )
    by_subject = _percent_by(
        session,
        institute_id,
        Assessment.subject_id,
        {b.rule_subject_id for b in badges if b.rule_subject_id and not b.rule_topic_ids},
        student_ids,
    )
    pairs = set()
    for b in badges:
        groups = (
            [by_topic.get(t, []) for t in b.rule_topic_ids]
            if b.rule_topic_ids
            else [by_subject.get(b.rule_subject_id, [])]
        )
        if len(groups) == 1:
            for student_id, total, count in groups[0]:
                if count and total / count + EPSILON >= b.rule_threshold:
                    pairs.add((student_id, b.id))
            continue
        totals: dict[int, list[float]] = defaultdict(lambda: [0.0, 0])
        for group in groups:
            for student_id, total, count in group:
                totals[student_id][0] += total
                totals[student_id][1] += count
        for student_id, (total, count) in totals.items():
            if count and total / count + EPSILON >= b.rule_threshold:
                pairs.add((student_id, b.id))
    return pairs


def _attendance_percent(
    session: Session, institute_id: int, badges: list[Badge], student_ids: set[int] | None = None
) -> set:
    batches = {b.rule_batch_id for b in badges if b.rule_batch_id}
    if not batches:
        return set()
    held = select(ClassSession.id).where(
        ClassSession.institute_id == institute_id,
        col(ClassSession.batch_id).in_(batches),
        col(ClassSession.status).in_((SessionStatus.SUBMITTED.value, SessionStatus.CLOSED.value)),
    )
    # The records are reached through the batches' sessions (the unique key starts with
    # institute, session); grouping by batch first keeps SQLite from walking the whole
    # institute's records along the (institute, student) index instead.
    rows = session.exec(
        select(
            ClassSession.batch_id,
            AttendanceRecord.status,
            AttendanceRecord.student_id,
            func.count(AttendanceRecord.id),
        )
        .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
        .where(
            AttendanceRecord.institute_id == institute_id,
            col(AttendanceRecord.session_id).in_(held),
            AttendanceRecord.status != Mark.EXCUSED.value,
            _only(AttendanceRecord.student_id, student_ids),
        )
        .group_by(ClassSession.batch_id, AttendanceRecord.status, AttendanceRecord.student_id)
    ).all()
    tally: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for batch_id, status, student_id, count in rows:
        counts = tally[batch_id][student_id]
        counts[0] += count if status in (Mark.PRESENT, Mark.LATE) else 0
        counts[1] += count
    pairs = set()
    for b in badges:
        for student_id, (present, total) in tally.get(b.rule_batch_id, {}).items():
            if total and 100.0 * present / total + EPSILON >= b.rule_threshold:
                pairs.add((student_id, b.id))
    return pairs


EVALUATORS = {
    RuleKind.TOPIC_COMPETENCY.value: _topic_competency,
    RuleKind.ASSESSMENT_PERCENT.value: _assessment_percent,
    RuleKind.ATTENDANCE_PERCENT.value: _attendance_percent,
}


def evaluate_rules_internal(
    session: Session,
    *,
    institute_id: int,
    student_ids: set[int] | None = None,
    kinds: set[str] | None = None,
) -> dict[str, int]:
    """Award every automatic badge its rule now grants (with progression); repeat-safe.
    `student_ids` / `kinds` narrow it to the students and rule kinds an event touched."""
    if student_ids is not None and not student_ids:
        return {"rules": 0, "rule_awards": 0, "progression_awards": 0}
    query = select(Badge).where(
        Badge.institute_id == institute_id,
        col(Badge.active).is_(True),
        col(Badge.rule_kind).is_not(None),
    )
    if kinds is not None:
        query = query.where(col(Badge.rule_kind).in_(sorted(kinds)))
    badges = list(session.exec(query))
    by_kind: dict[str, list[Badge]] = defaultdict(list)
    for b in badges:
        by_kind[b.rule_kind].append(b)
    pairs: set[tuple[int, int]] = set()
    for kind, group in by_kind.items():
        pairs |= EVALUATORS[kind](session, institute_id, group, student_ids)
    created: list[BadgeAward] = service.grant_internal(
        session, institute_id=institute_id, pairs=pairs, source="rule"
    )
    service.after_awards(session, None, created)
    counts = {
        "rules": len(badges),
        "rule_awards": sum(1 for a in created if a.source == "rule"),
        "progression_awards": sum(1 for a in created if a.source == "progression"),
    }
    return counts


def after_attendance_internal(
    session: Session, *, institute_id: int, student_ids: set[int]
) -> dict:
    """Right after attendance is taken: the attendance and competency rules, for the class."""
    return evaluate_rules_internal(
        session,
        institute_id=institute_id,
        student_ids=student_ids,
        kinds={RuleKind.ATTENDANCE_PERCENT.value, RuleKind.TOPIC_COMPETENCY.value},
    )


def after_marks_internal(session: Session, *, institute_id: int, student_ids: set[int]) -> dict:
    """Right after marks are entered: the assessment and competency rules, for those students."""
    return evaluate_rules_internal(
        session,
        institute_id=institute_id,
        student_ids=student_ids,
        kinds={RuleKind.ASSESSMENT_PERCENT.value, RuleKind.TOPIC_COMPETENCY.value},
    )


def run_rules_now(session: Session, *, actor: Actor) -> dict[str, int]:
    """An admin evaluates the institute's automatic rules now instead of waiting for the night."""
    actor.require(Role.ADMIN)
    counts = evaluate_rules_internal(session, institute_id=actor.institute_scope())
    audit.record(session, actor=actor, action="badges.rules_run", detail=counts)
    return counts
