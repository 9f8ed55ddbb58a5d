"""Automatic badge rules, evaluated set-based: one query per rule kind over the institute."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from app.attendance.models import AttendanceRecord, ClassSession, TopicProgress
from app.badges import service
from app.badges.models import Badge, BadgeAward, RuleKind
from app.core import audit
from app.core.roles import Role
from app.core.tenancy import Actor
from app.coursework.models import Assessment, AssessmentResult

EPSILON = 1e-9


def _topic_competency(session: Session, institute_id: int, badges: list[Badge]) -> set:
    topics = {t for b in badges for t in b.rule_topic_ids or []}
    if not topics:
        return set()
    levels: dict[int, dict[int, float]] = defaultdict(dict)
    for student_id, topic_id, competency in session.exec(
        select(TopicProgress.student_id, TopicProgress.topic_id, TopicProgress.competency).where(
            TopicProgress.institute_id == institute_id, col(TopicProgress.topic_id).in_(topics)
        )
    ):
        levels[student_id][topic_id] = competency or 0
    pairs = set()
    for b in badges:
        wanted = b.rule_topic_ids or []
        for student_id, by_topic in levels.items():
            if wanted and all(by_topic.get(t, 0) + EPSILON >= b.rule_threshold for t in wanted):
                pairs.add((student_id, b.id))
    return pairs


def _assessment_percent(session: Session, institute_id: int, badges: list[Badge]) -> set:
    subjects = {b.rule_subject_id for b in badges if b.rule_subject_id}
    topics = {t for b in badges for t in b.rule_topic_ids or []}
    percent = func.coalesce(
        AssessmentResult.percentage, AssessmentResult.marks * 100.0 / Assessment.max_marks
    )
    rows = session.exec(
        select(
            AssessmentResult.student_id,
            Assessment.subject_id,
            Assessment.topic_id,
            func.sum(percent),
            func.count(AssessmentResult.id),
        )
        .join(Assessment, Assessment.id == AssessmentResult.assessment_id)
        .where(
            AssessmentResult.institute_id == institute_id,
            col(AssessmentResult.absent).is_(False),
            (col(AssessmentResult.percentage).is_not(None))
            | (col(AssessmentResult.marks).is_not(None)),
            col(Assessment.subject_id).in_(subjects) | col(Assessment.topic_id).in_(topics),
        )
        .group_by(AssessmentResult.student_id, Assessment.subject_id, Assessment.topic_id)
    ).all()
    pairs = set()
    for b in badges:
        totals: dict[int, list[float]] = defaultdict(lambda: [0.0, 0])
        for student_id, subject_id, topic_id, total, count in rows:
            # Listed topics narrow the rule to them; otherwise the whole subject counts.
            if (
                (topic_id in b.rule_topic_ids)
                if b.rule_topic_ids
                else (subject_id == b.rule_subject_id)
            ):
                totals[student_id][0] += float(total or 0)
                totals[student_id][1] += count
        for student_id, (total, count) in totals.items():
            if count and total / count + EPSILON >= b.rule_threshold:
                pairs.add((student_id, b.id))
    return pairs


def _attendance_percent(session: Session, institute_id: int, badges: list[Badge]) -> set:
    batches = {b.rule_batch_id for b in badges if b.rule_batch_id}
    attended = func.sum(case((col(AttendanceRecord.status).in_(("present", "late")), 1), else_=0))
    rows = session.exec(
        select(
            AttendanceRecord.student_id,
            ClassSession.batch_id,
            attended,
            func.count(AttendanceRecord.id),
        )
        .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
        .where(
            AttendanceRecord.institute_id == institute_id,
            col(ClassSession.batch_id).in_(batches),
            col(ClassSession.status).in_(("submitted", "closed")),
            AttendanceRecord.status != "excused",
        )
        .group_by(AttendanceRecord.student_id, ClassSession.batch_id)
    ).all()
    pairs = set()
    for b in badges:
        for student_id, batch_id, present, total in rows:
            if batch_id == b.rule_batch_id and total:
                if 100.0 * float(present or 0) / total + EPSILON >= b.rule_threshold:
                    pairs.add((student_id, b.id))
    return pairs


EVALUATORS = {
    RuleKind.TOPIC_COMPETENCY.value: _topic_competency,
    RuleKind.ASSESSMENT_PERCENT.value: _assessment_percent,
    RuleKind.ATTENDANCE_PERCENT.value: _attendance_percent,
}


def evaluate_rules(session: Session, *, institute_id: int) -> dict[str, int]:
    """Award every automatic badge its rule now grants (with progression); repeat-safe."""
    badges = list(
        session.exec(
            select(Badge).where(
                Badge.institute_id == institute_id,
                col(Badge.active).is_(True),
                col(Badge.rule_kind).is_not(None),
            )
        )
    )
    by_kind: dict[str, list[Badge]] = defaultdict(list)
    for b in badges:
        by_kind[b.rule_kind].append(b)
    pairs: set[tuple[int, int]] = set()
    for kind, group in by_kind.items():
        pairs |= EVALUATORS[kind](session, institute_id, group)
    created: list[BadgeAward] = service._grant(
        session, institute_id=institute_id, pairs=pairs, source="rule"
    )
    service._after_awards(session, None, created)
    counts = {
        "rules": len(badges),
        "rule_awards": sum(1 for a in created if a.source == "rule"),
        "progression_awards": sum(1 for a in created if a.source == "progression"),
    }
    return counts


def run_rules_now(session: Session, *, actor: Actor) -> dict[str, int]:
    """An admin evaluates the institute's automatic rules now instead of waiting for the night."""
    actor.require(Role.ADMIN)
    counts = evaluate_rules(session, institute_id=actor.institute_scope())
    audit.record(session, actor=actor, action="badges.rules_run", detail=counts)
    return counts
