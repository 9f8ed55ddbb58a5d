"""The institute's grade scale and the grade of a percentage."""

from __future__ import annotations

from sqlalchemy import case, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.core import audit
from app.core.errors import ValidationError
from app.core.roles import Role
from app.core.tenancy import Actor
from app.coursework.common import DEFAULT_SCALE, STAFF, number_field
from app.coursework.models import (
    AssessmentResult,
    GradeBand,
)


def scale_internal(session: Session, institute_id: int) -> list[tuple[str, float]]:
    """The institute's grade scale, highest band first; the default one is created on first use."""
    bands = session.exec(
        select(GradeBand.grade, GradeBand.min_percent)
        .where(GradeBand.institute_id == institute_id)
        .order_by(col(GradeBand.min_percent).desc())
    ).all()
    if bands:
        return [(g, float(m)) for g, m in bands]
    try:
        with session.begin_nested():
            session.execute(
                insert(GradeBand),
                [
                    {"institute_id": institute_id, "grade": g, "min_percent": m}
                    for g, m in DEFAULT_SCALE
                ],
            )
    except IntegrityError:  # created a moment ago by someone else: theirs is the same default
        pass
    return [(g, float(m)) for g, m in DEFAULT_SCALE]


def grade_for(percentage: float | None, scale: list[tuple[str, float]]) -> str | None:
    """The grade of a percentage: the highest band whose minimum it reaches."""
    if percentage is None:
        return None
    for grade, minimum in sorted(scale, key=lambda band: -band[1]):
        if percentage >= minimum:
            return grade
    return None


def grade_scale(session: Session, *, actor: Actor) -> list[tuple[str, float]]:
    """The institute's grade scale as (grade, minimum percent), highest first."""
    actor.require(*STAFF)
    return scale_internal(session, actor.institute_scope())


def set_grade_scale(
    session: Session, *, actor: Actor, bands: list[tuple[str, float]]
) -> list[tuple[str, float]]:
    """Admin: replace the grade scale. The lowest band starts at 0; grades and minimums are
    distinct and between 0 and 100. Results already entered are re-graded on the new scale."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    clean: list[tuple[str, float]] = []
    for grade, minimum in bands:
        grade = (str(grade) if grade is not None else "").strip()
        number = number_field(minimum, f"Grade {grade or '?'}")
        if not grade and number is None:
            continue
        if not grade:
            raise ValidationError(f"The band from {number:g}% needs a grade name.")
        if len(grade) > 10:
            raise ValidationError(f"Grade {grade} is longer than 10 characters.")
        if number is None or not 0 <= number <= 100:
            raise ValidationError(f"Grade {grade}: the minimum is a percent from 0 to 100.")
        clean.append((grade, number))
    if not clean:
        raise ValidationError("Give at least one grade.")
    grades = [g.lower() for g, _ in clean]
    if len(set(grades)) != len(grades):
        raise ValidationError("Each grade appears once.")
    minimums = [m for _, m in clean]
    if len(set(minimums)) != len(minimums):
        raise ValidationError("Two grades start at the same percent; each needs its own minimum.")
    if min(minimums) != 0:
        raise ValidationError("The lowest grade must start at 0% so every result gets a grade.")
    clean.sort(key=lambda band: -band[1])
    session.execute(delete(GradeBand).where(GradeBand.institute_id == institute_id))
    session.execute(
        insert(GradeBand),
        [{"institute_id": institute_id, "grade": g, "min_percent": m} for g, m in clean],
    )
    regraded = session.execute(
        update(AssessmentResult)
        .where(
            AssessmentResult.institute_id == institute_id,
            col(AssessmentResult.percentage).is_not(None),
        )
        .values(
            grade=case(*[(col(AssessmentResult.percentage) >= m, g) for g, m in clean], else_=None)
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="grades.scale_set",
        detail={"bands": [[g, m] for g, m in clean], "regraded": int(regraded or 0)},
    )
    return clean
