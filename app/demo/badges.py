"""Demo badges: a program per institute (two skills of automatic mini-badges and a manual
capstone), awarded by the real rules, with a few capstones by hand and requests waiting."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from app.academics.models import Batch, BatchMembership, Student, Subject, Topic
from app.attendance.models import TopicProgress
from app.badges import rules
from app.badges import service as badges
from app.badges.models import Badge, BadgeAward, RuleKind
from app.core import clock, db
from app.core.roles import Role
from app.core.tenancy import Actor
from app.fees import periods
from app.identity.models import Institute, User

BADGE_TABLES = ["badges", "badge_awards", "badge_requests", "pending_actions", "notifications"]


def _subject_with_a_batch(session: Session, institute_id: int) -> tuple[Any, str, list[Any], Any]:
    """The first subject with two topics, its name and topics, and its first batch."""
    subject_id, subject_name, topic_ids = None, "", []
    for sid, name in session.exec(
        select(Subject.id, Subject.name)
        .where(Subject.institute_id == institute_id)
        .order_by(col(Subject.id))
    ).all():
        topic_ids = list(
            session.exec(
                select(Topic.id)
                .where(Topic.institute_id == institute_id, Topic.subject_id == sid)
                .order_by(col(Topic.id))
                .limit(2)
            )
        )
        if len(topic_ids) == 2:
            subject_id, subject_name = sid, name
            break
    batch_id = session.exec(
        select(Batch.id)
        .where(Batch.institute_id == institute_id, Batch.subject_id == subject_id)
        .order_by(col(Batch.id))
    ).first()
    return subject_id, subject_name, topic_ids, batch_id


def _create_program(
    session: Session,
    actor: Actor,
    *,
    subject_id: Any,
    subject_name: str,
    topic_ids: list[Any],
    batch_id: Any,
) -> tuple[Any, Any, Any]:
    """A program with two skills (topics; attendance and tests) and a capstone; returns the
    skills and the capstone."""
    t1, t2 = (session.get(Topic, t).name for t in topic_ids)

    def badge(
        kind: str, name: str, emoji: str, criteria: str, parent: Any = None, **more: Any
    ) -> Any:
        return badges.create_badge(
            session,
            actor=actor,
            kind=kind,
            name=name,
            emoji=emoji,
            criteria=criteria,
            parent_id=parent.id if parent is not None else None,
            **more,
        )

    program = badge(
        "program",
        f"{subject_name} pathway",
        "🎓",
        "Earn both skills and complete the capstone project.",
        description=f"Foundations, habits and a project in {subject_name}.",
    )
    foundations = badge(
        "skill", "Foundations", "🧱", "Show competency in the first two topics.", program
    )
    habits = badge("skill", "Study habits", "📚", "Attend regularly and do well in tests.", program)
    for topic_id, topic_name in zip(topic_ids, (t1, t2), strict=True):
        badge(
            "mini",
            topic_name,
            "⭐",
            f"Competency 3 of 5 or more in {topic_name}.",
            foundations,
            rule={"kind": "topic_competency", "threshold": 3, "topic_ids": [topic_id]},
        )
    badge(
        "mini",
        "Regular attender",
        "📅",
        "Present or late at 85% of classes or more.",
        habits,
        rule={"kind": "attendance_percent", "threshold": 85, "batch_id": batch_id},
    )
    badge(
        "mini",
        "Test ready",
        "📝",
        f"An average of 65% or more in {subject_name} assessments.",
        habits,
        rule={"kind": "assessment_percent", "threshold": 65, "subject_id": subject_id},
    )
    capstone = badge(
        "capstone", f"{subject_name} project", "🏆", "A project reviewed by the teacher.", program
    )
    return foundations, habits, capstone


def _finish_by_hand(
    session: Session,
    actor: Actor,
    rng: random.Random,
    *,
    institute_id: int,
    batch_id: Any,
    foundations: Any,
    habits: Any,
    capstone: Any,
) -> None:
    """A few students who hold both skills finish the capstone by hand (and so the program);
    a few others have asked for it and wait in the teachers' inbox."""
    both = list(
        session.exec(
            select(BadgeAward.student_id)
            .where(
                BadgeAward.institute_id == institute_id,
                col(BadgeAward.badge_id).in_([foundations.id, habits.id]),
            )
            .group_by(BadgeAward.student_id)
            .having(func.count() == 2)
            .order_by(BadgeAward.student_id)
        )
    )
    for student_id in rng.sample(both, min(3, len(both))):
        badges.award(
            session,
            actor=actor,
            student_id=student_id,
            badge_id=capstone.id,
            evidence="Demo project presented in class.",
        )
    waiting = session.exec(
        select(Student.id, User.id)
        .join(User, User.id == Student.user_id)
        .join(BatchMembership, BatchMembership.student_id == Student.id)
        .where(
            Student.institute_id == institute_id,
            BatchMembership.batch_id == batch_id,
            col(BatchMembership.left_on).is_(None),
            col(Student.id).not_in(
                select(BadgeAward.student_id).where(
                    BadgeAward.institute_id == institute_id, BadgeAward.badge_id == capstone.id
                )
            ),
        )
        .order_by(col(Student.id))
        .limit(2)
    ).all()
    for _, user_id in waiting:
        student_actor = Actor(
            user_id=user_id,
            role=Role.STUDENT,
            institute_id=institute_id,
            name="demo",
            source="seed",
        )
        badges.request_badge(
            session,
            actor=student_actor,
            badge_id=capstone.id,
            evidence_text="My project: a worked set of problems with explanations.",
        )


def seed_badges(session: Session, *, rng: random.Random, institute_id: int) -> dict:
    actor = Actor.system(institute_id, source="seed")
    subject_id, subject_name, topic_ids, batch_id = _subject_with_a_batch(session, institute_id)
    if subject_id is None or batch_id is None:
        return {"badges": 0, "awards": 0}
    foundations, habits, capstone = _create_program(
        session,
        actor,
        subject_id=subject_id,
        subject_name=subject_name,
        topic_ids=topic_ids,
        batch_id=batch_id,
    )
    rules.evaluate_rules_internal(session, institute_id=institute_id)
    _finish_by_hand(
        session,
        actor,
        rng,
        institute_id=institute_id,
        batch_id=batch_id,
        foundations=foundations,
        habits=habits,
        capstone=capstone,
    )
    awards = _spread_over_term(session, rng=rng, institute_id=institute_id)
    count = db.count(session, Badge, Badge.institute_id == institute_id)
    return {"badges": int(count), "awards": int(awards)}


def _spread_over_term(session: Session, *, rng: random.Random, institute_id: int) -> int:
    """Date the awards the rules and the teachers just gave (all stamped now) across the term, as
    if the rules had run every night since it began: a topic badge when the student's progress
    in it reached completed (or their last class on it), attendance badges once the term had a
    few weeks behind it, test badges once tests began, projects in the last three weeks, and each badge earned by
    progression when the last badge beneath it was. One bulk update; returns how many awards."""
    institute = session.get(Institute, institute_id)
    assert institute is not None
    now = clock.now()
    today = clock.today_in(institute.timezone)
    term = periods.term_containing(today, institute.term_starts)
    begins = datetime.combine(term.starts_on, time(9), ZoneInfo(institute.timezone))
    begins = min(begins.astimezone(UTC), now)

    def between(first: datetime) -> datetime:
        first = min(max(first, begins), now)
        moment = first + (now - first) * rng.random()
        return moment.replace(second=0, microsecond=0)

    catalog = {
        b.id: b for b in session.exec(select(Badge).where(Badge.institute_id == institute_id))
    }
    reached = {
        (student, topic): done or last
        for student, topic, done, last in session.exec(
            select(
                TopicProgress.student_id,
                TopicProgress.topic_id,
                TopicProgress.completed_at,
                TopicProgress.last_session_at,
            ).where(
                TopicProgress.institute_id == institute_id,
                col(TopicProgress.topic_id).in_(
                    {t for b in catalog.values() for t in b.rule_topic_ids or []}
                ),
            )
        )
    }
    awards = session.exec(
        select(BadgeAward.id, BadgeAward.student_id, BadgeAward.badge_id, BadgeAward.source)
        .where(BadgeAward.institute_id == institute_id)
        .order_by(col(BadgeAward.id))
    ).all()
    when: dict[tuple[int, int], datetime] = {}
    for _, student, badge_id, source in awards:
        badge = catalog[badge_id]
        if source == "progression":
            continue
        if badge.rule_kind == RuleKind.TOPIC_COMPETENCY.value:
            moments = [reached.get((student, t)) for t in badge.rule_topic_ids or []]
            known = [m.replace(tzinfo=m.tzinfo or UTC) for m in moments if m is not None]
            when[student, badge_id] = (
                min(max(max(known), begins), now) if known else between(begins)
            )
        elif badge.rule_kind == RuleKind.ASSESSMENT_PERCENT.value:
            # The demo's tests are the last ten weeks' (app.demo.coursework).
            when[student, badge_id] = between(now - timedelta(weeks=9))
        elif badge.rule_kind is not None:
            when[student, badge_id] = between(begins + timedelta(weeks=4))
        else:  # given by hand: a project presented lately
            when[student, badge_id] = between(now - timedelta(weeks=3))
    children: dict[int, list[int]] = {}
    for b in catalog.values():
        if b.parent_id is not None and b.id is not None:
            children.setdefault(b.parent_id, []).append(b.id)
    held = {(student, badge_id) for _, student, badge_id, _ in awards}
    pending = [
        (student, badge_id) for _, student, badge_id, source in awards if source == "progression"
    ]
    while pending:  # parents after their children: a skill, then the program above it
        waiting = []
        for student, badge_id in pending:
            below = [(student, c) for c in children.get(badge_id, []) if (student, c) in held]
            if any(pair not in when for pair in below):
                waiting.append((student, badge_id))
            else:
                when[student, badge_id] = max((when[pair] for pair in below), default=now)
        if len(waiting) == len(pending):
            break
        pending = waiting
    session.execute(
        update(BadgeAward),
        [
            {"id": award_id, "awarded_at": when.get((student, badge_id), now)}
            for award_id, student, badge_id, _ in awards
        ],
    )
    session.flush()
    return len(awards)
