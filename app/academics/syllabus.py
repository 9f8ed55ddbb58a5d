"""Subjects and their topics, in order: added, renamed, reordered, archived (never deleted: the
attendance and marks that name them stay readable), with codes, objectives and prerequisites."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from app.academics.common import STAFF
from app.academics.models import Batch, Subject, Topic
from app.core import audit, clock, db
from app.core.errors import Conflict, ValidationError
from app.core.ownership import all_owned, get_owned
from app.core.roles import Role
from app.core.tenancy import Actor

OBJECTIVES_MAX = 2000


def _clean_name(name: str | None, what: str) -> str:
    clean = (name or "").strip()
    if not clean:
        raise ValidationError(f"The {what} needs a name.", field="name")
    return clean


def _clean_code(code: str | None) -> str | None:
    clean = (code or "").strip().upper()
    if len(clean) > 20:
        raise ValidationError("A subject code is at most 20 characters.", field="code")
    return clean or None


def _check_subject_unique(
    session: Session, institute_id: int, name: str, code: str | None, *, not_id: int | None = None
) -> None:
    """Clear messages for a name or code another subject of the institute already has."""
    others = select(Subject.name, Subject.code).where(Subject.institute_id == institute_id)
    if not_id is not None:
        others = others.where(Subject.id != not_id)
    clashes = [func.lower(Subject.name) == name.lower()]
    if code:
        clashes.append(col(Subject.code) == code)
    for other_name, other_code in session.exec(others.where(or_(*clashes))).all():
        if other_name.lower() == name.lower():
            raise Conflict(f"A subject called {other_name} already exists.", field="name")
        raise Conflict(
            f"The code {other_code} is already used by {other_name}; choose another code.",
            field="code",
        )


def _save_subject(
    session: Session, actor: Actor, subject: Subject, action: str, detail: dict[str, Any]
) -> None:
    """Write the subject and audit `action` on it; two people saving the same code at once:
    the second is told."""
    if not db.add_unless_duplicate(session, subject):
        raise Conflict(
            f"The code {subject.code} or the name {subject.name} is already used by another "
            "subject; choose another.",
            field="code",
        )
    audit.on(session, actor, action, subject.id, detail)


def create_subject(
    session: Session, *, actor: Actor, name: str, code: str | None = None
) -> Subject:
    """Add a subject (its code, when given, unique in the institute)."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    clean, clean_code = _clean_name(name, "subject"), _clean_code(code)
    _check_subject_unique(session, institute_id, clean, clean_code)
    subject = Subject(institute_id=institute_id, name=clean, code=clean_code)
    _save_subject(session, actor, subject, "subject.create", {"name": clean, "code": clean_code})
    return subject


def update_subject(
    session: Session, *, actor: Actor, subject_id: int, name: str, code: str | None
) -> Subject:
    """Rename a subject and set (or clear, with an empty code) its code."""
    actor.require(Role.ADMIN)
    subject = get_owned(session, Subject, actor, subject_id, "subject")
    clean, clean_code = _clean_name(name, "subject"), _clean_code(code)
    _check_subject_unique(session, subject.institute_id, clean, clean_code, not_id=subject.id)
    before = {"name": subject.name, "code": subject.code}
    subject.name, subject.code = clean, clean_code
    _save_subject(
        session,
        actor,
        subject,
        "subject.update",
        {"before": before, "after": {"name": clean, "code": clean_code}},
    )
    return subject


def archive_subject(
    session: Session, *, actor: Actor, subject_id: int, archived: bool = True
) -> Subject:
    """Archive a subject (hidden from pickers, kept with its history) or bring it back. A subject
    with open batches stays: close them first."""
    actor.require(Role.ADMIN)
    subject = get_owned(session, Subject, actor, subject_id, "subject")
    if archived and subject.archived_at is None:
        open_batches = session.exec(
            select(Batch.name).where(
                Batch.institute_id == subject.institute_id,
                Batch.subject_id == subject.id,
                col(Batch.active).is_(True),
            )
        ).all()
        if open_batches:
            raise Conflict(
                f"{subject.name} still has open batches ({', '.join(sorted(open_batches))}); "
                "close them before archiving the subject."
            )
    _archive_or_restore(session, actor, subject, archived, "subject")
    return subject


def _archive_or_restore(
    session: Session, actor: Actor, row: Subject | Topic, archived: bool, what: str
) -> None:
    """Archive the row (an archived one keeps its first date) or bring it back; audited."""
    if archived and row.archived_at is None:
        row.archived_at = clock.now()
    elif not archived:
        row.archived_at = None
    audit.save_audited(
        session,
        row,
        actor=actor,
        action=f"{what}.archive" if archived else f"{what}.restore",
        target_type=what,
        detail={"name": row.name},
    )


def _check_topic_fields(estimated_minutes: int, difficulty: int, objectives: str | None) -> None:
    if estimated_minutes <= 0:
        raise ValidationError("Estimated minutes must be positive.", field="estimated_minutes")
    if not 1 <= difficulty <= 5:
        raise ValidationError("Difficulty is 1 (easy) to 5 (hard).", field="difficulty")
    if objectives and len(objectives) > OBJECTIVES_MAX:
        raise ValidationError(
            f"Objectives are at most {OBJECTIVES_MAX} characters.", field="objectives"
        )


def _check_prerequisites(
    session: Session, subject: Subject, topic: Topic | None, wanted: list[int] | None
) -> list[int]:
    """The prerequisites, checked: topics of the same subject and institute, not archived, not
    the topic itself, and no cycle (a topic never needs itself through others)."""
    ids = all_owned(
        session,
        Topic,
        wanted or [],
        subject.institute_id,
        message="Prerequisites must be topics of this subject.",
        field="prerequisites",
        subject_id=subject.id,
    )
    if not ids:
        return []
    topics = {
        t.id: t
        for t in session.exec(
            select(Topic).where(
                Topic.institute_id == subject.institute_id, Topic.subject_id == subject.id
            )
        )
    }
    if topic is not None and topic.id in ids:
        raise ValidationError(
            f"{topic.name} cannot be its own prerequisite.", field="prerequisites"
        )
    added = set(ids) - set((topic.prerequisites or []) if topic else [])
    archived = [topics[i].name for i in ids if i in added and topics[i].archived_at is not None]
    if archived:
        raise ValidationError(
            f"{', '.join(archived)} is archived; choose topics still taught.", field="prerequisites"
        )
    if topic is None:
        return ids  # a new topic: nothing can need it yet, so no cycle
    needs = {t_id: set(t.prerequisites or []) for t_id, t in topics.items()}
    needs[topic.id] = set(ids)
    for start in ids:
        seen, stack = set(), [start]
        while stack:
            current = stack.pop()
            if current == topic.id:
                raise ValidationError(
                    f"{topic.name} cannot need {topics[start].name}: {topics[start].name} "
                    f"already needs {topic.name} (directly or through other topics).",
                    field="prerequisites",
                )
            if current in seen:
                continue
            seen.add(current)
            stack.extend(needs.get(current, ()))
    return ids


def add_topic(
    session: Session,
    *,
    actor: Actor,
    subject_id: int,
    name: str,
    estimated_minutes: int = 60,
    difficulty: int = 3,
    prerequisites: list[int] | None = None,
    objectives: str | None = None,
) -> Topic:
    """Append a topic to a subject's syllabus."""
    actor.require(Role.ADMIN)
    subject = get_owned(session, Subject, actor, subject_id, "subject")
    clean = _clean_name(name, "topic")
    _check_topic_fields(estimated_minutes, difficulty, objectives)
    needs = _check_prerequisites(session, subject, None, prerequisites)
    last = session.exec(
        select(func.max(Topic.position)).where(
            Topic.institute_id == subject.institute_id, Topic.subject_id == subject.id
        )
    ).one()
    topic = Topic(
        institute_id=subject.institute_id,
        subject_id=subject_id,
        name=clean,
        position=(last or 0) + 1,
        estimated_minutes=estimated_minutes,
        difficulty=difficulty,
        prerequisites=needs or None,
        objectives=(objectives or "").strip() or None,
    )
    audit.save_audited(
        session,
        topic,
        "topic.create",
        actor=actor,
        detail={"subject_id": subject.id, "name": topic.name},
    )
    return topic


def update_topic(
    session: Session,
    *,
    actor: Actor,
    topic_id: int,
    name: str,
    estimated_minutes: int,
    difficulty: int,
    objectives: str | None,
    prerequisites: list[int] | None,
) -> Topic:
    """Rename a topic and change its estimate, difficulty, objectives and prerequisites."""
    actor.require(Role.ADMIN)
    topic = get_owned(session, Topic, actor, topic_id, "topic")
    subject = get_owned(session, Subject, actor, topic.subject_id, "subject")
    clean = _clean_name(name, "topic")
    _check_topic_fields(estimated_minutes, difficulty, objectives)
    needs = _check_prerequisites(session, subject, topic, prerequisites)
    before = {
        "name": topic.name,
        "estimated_minutes": topic.estimated_minutes,
        "difficulty": topic.difficulty,
        "prerequisites": topic.prerequisites or [],
    }
    topic.name, topic.estimated_minutes, topic.difficulty = clean, estimated_minutes, difficulty
    topic.objectives = (objectives or "").strip() or None
    topic.prerequisites = needs or None
    audit.save_audited(
        session,
        topic,
        "topic.update",
        actor=actor,
        detail={
            "before": before,
            "after": {
                "name": clean,
                "estimated_minutes": estimated_minutes,
                "difficulty": difficulty,
                "prerequisites": needs,
            },
        },
    )
    return topic


def move_topic(session: Session, *, actor: Actor, topic_id: int, by: int) -> list[Topic]:
    """Move a topic up (by=-1) or down (by=+1) the syllabus; returns the syllabus in its new
    order (positions renumbered 1…n, so older gaps and ties go away)."""
    actor.require(Role.ADMIN)
    if by not in (-1, 1):
        raise ValidationError("A topic moves one place up or down.")
    topic = get_owned(session, Topic, actor, topic_id, "topic")
    ordered = list(
        session.exec(
            select(Topic)
            .where(Topic.institute_id == topic.institute_id, Topic.subject_id == topic.subject_id)
            .order_by(col(Topic.position), col(Topic.id))
        )
    )
    at = next(i for i, t in enumerate(ordered) if t.id == topic.id)
    to = at + by
    if not 0 <= to < len(ordered):
        raise ValidationError(
            f"{topic.name} is already {'first' if by < 0 else 'last'} in the syllabus."
        )
    ordered[at], ordered[to] = ordered[to], ordered[at]
    changes = [
        {"id": t.id, "position": n} for n, t in enumerate(ordered, start=1) if t.position != n
    ]
    session.execute(update(Topic), changes)
    session.expire_all()
    audit.on(session, actor, "topic.move", topic.id, {"from": at + 1, "to": to + 1})
    return syllabus(session, actor=actor, subject_id=topic.subject_id, include_archived=True)


def archive_topic(session: Session, *, actor: Actor, topic_id: int, archived: bool = True) -> Topic:
    """Archive a topic (no longer offered on the attendance sheet or in pickers, kept for the
    attendance and marks that name it) or bring it back."""
    actor.require(Role.ADMIN)
    topic = get_owned(session, Topic, actor, topic_id, "topic")
    _archive_or_restore(session, actor, topic, archived, "topic")
    return topic


def list_subjects(
    session: Session, *, actor: Actor, include_archived: bool = False
) -> list[Subject]:
    """The institute's subjects by name (archived ones only when asked: the syllabus page)."""
    actor.require(*STAFF)
    query = select(Subject).where(Subject.institute_id == actor.institute_scope())
    if not include_archived:
        query = query.where(col(Subject.archived_at).is_(None))
    return list(session.exec(query.order_by(Subject.name)))


def syllabus(
    session: Session, *, actor: Actor, subject_id: int, include_archived: bool = False
) -> list[Topic]:
    """A subject's topics in order (archived ones only when asked: the syllabus page)."""
    actor.require(*STAFF)
    get_owned(session, Subject, actor, subject_id, "subject")
    query = select(Topic).where(
        Topic.institute_id == actor.institute_scope(), Topic.subject_id == subject_id
    )
    if not include_archived:
        query = query.where(col(Topic.archived_at).is_(None))
    return list(session.exec(query.order_by(col(Topic.position), col(Topic.id))))
