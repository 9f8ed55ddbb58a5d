"""Subjects and their topics, in order."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from app.academics.common import STAFF
from app.academics.models import (
    Subject,
    Topic,
)
from app.core.errors import Conflict, ValidationError
from app.core.ownership import all_owned, get_owned
from app.core.roles import Role
from app.core.tenancy import Actor


def create_subject(
    session: Session, *, actor: Actor, name: str, code: str | None = None
) -> Subject:
    actor.require(Role.ADMIN)
    if not (name or "").strip():
        raise ValidationError("The subject needs a name.", field="name")
    institute_id = actor.institute_scope()
    if session.exec(
        select(Subject.id).where(
            Subject.institute_id == institute_id, func.lower(Subject.name) == name.strip().lower()
        )
    ).first():
        raise Conflict(f"A subject called {name.strip()} already exists.", field="name")
    subject = Subject(institute_id=institute_id, name=name.strip(), code=code or None)
    session.add(subject)
    session.flush()
    return subject


def add_topic(
    session: Session,
    *,
    actor: Actor,
    subject_id: int,
    name: str,
    estimated_minutes: int = 60,
    difficulty: int = 3,
    prerequisites: list[int] | None = None,
) -> Topic:
    """Append a topic to a subject's syllabus."""
    actor.require(Role.ADMIN)
    subject = get_owned(session, Subject, actor, subject_id, "subject")
    if not (name or "").strip():
        raise ValidationError("The topic needs a name.", field="name")
    if estimated_minutes <= 0:
        raise ValidationError("Estimated minutes must be positive.", field="estimated_minutes")
    if not 1 <= difficulty <= 5:
        raise ValidationError("Difficulty is 1 (easy) to 5 (hard).", field="difficulty")
    prerequisites = all_owned(
        session,
        Topic,
        prerequisites or [],
        subject.institute_id,
        message="Prerequisites must be topics of this subject.",
        field="prerequisites",
        subject_id=subject.id,
    )
    last = session.exec(
        select(func.max(Topic.position)).where(
            Topic.institute_id == subject.institute_id, Topic.subject_id == subject.id
        )
    ).one()
    topic = Topic(
        institute_id=subject.institute_id,
        subject_id=subject.id,
        name=name.strip(),
        position=(last or 0) + 1,
        estimated_minutes=estimated_minutes,
        difficulty=difficulty,
        prerequisites=prerequisites or None,
    )
    session.add(topic)
    session.flush()
    return topic


def list_subjects(session: Session, *, actor: Actor) -> list[Subject]:
    actor.require(*STAFF)
    return list(
        session.exec(
            select(Subject)
            .where(Subject.institute_id == actor.institute_scope())
            .order_by(Subject.name)
        )
    )


def syllabus(session: Session, *, actor: Actor, subject_id: int) -> list[Topic]:
    actor.require(*STAFF)
    get_owned(session, Subject, actor, subject_id, "subject")
    return list(
        session.exec(
            select(Topic)
            .where(Topic.institute_id == actor.institute_scope(), Topic.subject_id == subject_id)
            .order_by(Topic.position)
        )
    )
