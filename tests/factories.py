"""Plain factory functions for tests: build rows directly under the system context."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import select

from app.academics.models import (
    Batch,
    BatchMembership,
    BatchType,
    Enrollment,
    Student,
    StudentStatus,
    Subject,
    Topic,
)
from app.core import clock
from app.core.phones import DEFAULT_REGION, normalize_phone, region_for
from app.core.roles import Role
from app.core.security import hash_password
from app.core.tenancy import Actor
from app.identity.models import Institute, User, UserStatus
from app.identity.onboarding import CONSENT_VERSION

_counter = itertools.count(1)


def institute(
    db,
    *,
    name: str | None = None,
    max_teachers: int | None = None,
    subscription_end: date | None = None,
    timezone: str = "Asia/Kolkata",
    currency: str = "INR",
) -> Institute:
    with db.scope(system=True) as s:
        inst = Institute(
            name=name or f"Institute {next(_counter)}",
            timezone=timezone,
            currency=currency,
            max_teachers=max_teachers,
            subscription_end=subscription_end or (clock.now().date() + timedelta(days=365)),
        )
        s.add(inst)
        s.flush()
        return inst


def user(
    db,
    inst: Institute | None,
    role: Role | str,
    *,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    status: str = UserStatus.ACTIVE.value,
    consent_version: str | None = CONSENT_VERSION,
    password: str | None = None,
    telegram_chat_id: str | None = None,
) -> User:
    n = next(_counter)
    with db.scope(system=True) as s:
        u = User(
            institute_id=inst.id if inst else None,
            name=name or f"{Role(role).label} {n}",
            email=email if email is not None else f"{Role(role).value}{n}@example.com",
            phone=normalize_phone(phone, region_for(inst.currency) if inst else DEFAULT_REGION),
            role=Role(role).value,
            status=status,
            consent_version=consent_version,
            password_hash=hash_password(password) if password else None,
            telegram_chat_id=telegram_chat_id,
        )
        s.add(u)
        s.flush()
        return u


def actor_for(u: User) -> Actor:
    return Actor(
        user_id=u.id, role=Role(u.role), institute_id=u.institute_id, name=u.name, source="test"
    )


# ------------------------------------------------------------------ academics


def subject(db, inst: Institute, *, name: str | None = None, code: str | None = None) -> Subject:
    with db.scope(system=True) as s:
        row = Subject(institute_id=inst.id, name=name or f"Subject {next(_counter)}", code=code)
        s.add(row)
        s.flush()
        return row


def topics(db, inst: Institute, subject_id: int, names: list[str] | int = 3) -> list[Topic]:
    """Topics of a subject in order: the given names, or that many called T0, T1, …"""
    listed = [f"T{n}" for n in range(names)] if isinstance(names, int) else names
    with db.scope(system=True) as s:
        rows = [
            Topic(institute_id=inst.id, subject_id=subject_id, name=name, position=n)
            for n, name in enumerate(listed)
        ]
        s.add_all(rows)
        s.flush()
        return rows


def batch(
    db,
    inst: Institute,
    *,
    subject_id: int | None = None,
    teacher: User | None = None,
    name: str | None = None,
    capacity: int | None = None,
    type: str = BatchType.REGULAR.value,
) -> Batch:
    """A batch (of a new subject unless one is given), taught by `teacher` when given."""
    if subject_id is None:
        subject_id = subject(db, inst).id
    with db.scope(system=True) as s:
        row = Batch(
            institute_id=inst.id,
            name=name or f"Batch {next(_counter)}",
            subject_id=subject_id,
            teacher_user_id=teacher.id if teacher else None,
            capacity=capacity,
            type=type,
        )
        s.add(row)
        s.flush()
        return row


def student(
    db,
    inst: Institute,
    *,
    name: str | None = None,
    user: User | None = None,
    enrollment_no: str | None = None,
    status: str = StudentStatus.ACTIVE.value,
    counselor: User | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> Student:
    """A student record (linked to a student user account when `user` is given)."""
    n = next(_counter)
    with db.scope(system=True) as s:
        row = Student(
            institute_id=inst.id,
            user_id=user.id if user else None,
            enrollment_no=enrollment_no or f"ENR-{n:05d}",
            name=name or (user.name if user else f"Student {n}"),
            status=status,
            counselor_user_id=counselor.id if counselor else None,
            email=email,
            phone=phone,
        )
        s.add(row)
        s.flush()
        return row


def member(
    db,
    inst: Institute,
    batch_id: int,
    student_id: int,
    *,
    joined_on: date | None = None,
    left_on: date | None = None,
) -> BatchMembership:
    """The student in the batch (since 30 days ago unless told)."""
    with db.scope(system=True) as s:
        row = BatchMembership(
            institute_id=inst.id,
            batch_id=batch_id,
            student_id=student_id,
            joined_on=joined_on or clock.now().date() - timedelta(days=30),
            left_on=left_on,
        )
        s.add(row)
        s.flush()
        return row


def enrolment(
    db,
    inst: Institute,
    student_id: int,
    subject_id: int,
    *,
    started_on: date | None = None,
    status: str = "active",
) -> Enrollment:
    with db.scope(system=True) as s:
        row = Enrollment(
            institute_id=inst.id,
            student_id=student_id,
            subject_id=subject_id,
            started_on=started_on or clock.now().date() - timedelta(days=30),
            status=status,
        )
        s.add(row)
        s.flush()
        return row


# ------------------------------------------------------------------ reading back


def count(db, model, *where, **equal) -> int:
    """Rows of `model` (any institute) matching SQL conditions and/or column=value pairs."""
    with db.scope(system=True) as s:
        query = select(func.count()).select_from(model).where(*where)
        for column, value in equal.items():
            query = query.where(getattr(model, column) == value)
        return s.exec(query).one()
