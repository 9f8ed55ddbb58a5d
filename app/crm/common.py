"""What the CRM modules share: who works leads, status moves, tags, contacts and the choices forms offer."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, delete, func, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.academics.models import Batch, Student, StudentStatus, Subject
from app.core import audit, clock
from app.core.errors import NotFound, ValidationError
from app.core.ownership import find_owned, get_owned
from app.core.phones import normalize_phone
from app.core.roles import Role
from app.core.tenancy import Actor
from app.core.validation import normalize_email
from app.crm import leadscore
from app.crm.models import (
    OPEN_STATUSES,
    FollowUp,
    FollowUpStatus,
    Inquiry,
    Source,
    Status,
)
from app.fees.models import FeeStructure
from app.identity import service as identity
from app.identity.models import Institute, User, UserStatus

CRM_ROLES = (Role.ADMIN, Role.COUNSELOR)


LOST_REASONS = [
    "Chose another institute",
    "Fees too high",
    "Timing does not suit",
    "Too far away",
    "No longer interested",
    "Could not be reached",
]


# Where each status may go by a status change (enrolled only by converting).
TRANSITIONS: dict[Status, tuple[Status, ...]] = {
    Status.NEW: (Status.CONTACTED, Status.FOLLOW_UP_SCHEDULED, Status.LOST),
    Status.CONTACTED: (Status.FOLLOW_UP_SCHEDULED, Status.LOST),
    Status.FOLLOW_UP_SCHEDULED: (Status.CONTACTED, Status.LOST),
    Status.LOST: (Status.CONTACTED,),
    Status.ENROLLED: (),
}


MAX_TAGS = 20


LIST_LIMIT = 500


def today_internal(session: Session, institute_id: int) -> date:
    return clock.today_in(session.get(Institute, institute_id).timezone)


def get(session: Session, actor: Actor, inquiry_id: int) -> Inquiry:
    inquiry = get_owned(session, Inquiry, actor, inquiry_id, "inquiry")
    return inquiry


def enum_value(enum: type, value: str | None, field: str, what: str):
    try:
        return enum((value or "").strip().lower().replace(" ", "_").replace("-", "_"))
    except ValueError as exc:
        allowed = ", ".join(e.value for e in enum)
        raise ValidationError(
            f"'{value}' is not a {what}; use one of {allowed}.", field=field
        ) from exc


def clean_tags(tags: list[str] | str | None) -> list[str]:
    if isinstance(tags, str):
        tags = tags.replace(";", ",").split(",")
    seen: dict[str, str] = {}
    for tag in tags or []:
        text = " ".join(str(tag).split()).lower()
        if text and text not in seen:
            if len(text) > 40:
                raise ValidationError(f"The tag '{text[:40]}…' is longer than 40 characters.")
            seen[text] = text
    if len(seen) > MAX_TAGS:
        raise ValidationError(f"At most {MAX_TAGS} tags.", field="tags")
    return list(seen)


def check_subjects_internal(
    session: Session, institute_id: int, subject_ids: list[int] | None
) -> list[int]:
    ids = sorted({int(s) for s in subject_ids or []})
    if ids:
        found = set(
            session.exec(
                select(Subject.id).where(
                    Subject.institute_id == institute_id, col(Subject.id).in_(ids)
                )
            )
        )
        if set(ids) - found:
            raise ValidationError(
                "One of the subjects does not exist.", field="interested_subjects"
            )
    return ids


def assignee_internal(session: Session, *, institute_id: int) -> int | None:
    """Who a new inquiry nobody took goes to when the institute assigns automatically: the
    active counselor with the fewest open inquiries (the earliest added on a tie), in one
    query; None when assignment is off or there is no counselor."""
    institute = session.get(Institute, institute_id)
    if institute is None or not institute.auto_assign_inquiries:
        return None
    load = func.count(col(Inquiry.id))
    row = session.exec(
        select(User.id, load)
        .outerjoin(
            Inquiry,
            and_(
                col(Inquiry.institute_id) == col(User.institute_id),
                col(Inquiry.counselor_user_id) == col(User.id),
                col(Inquiry.status).in_([s.value for s in OPEN_STATUSES]),
            ),
        )
        .where(
            User.institute_id == institute_id,
            User.role == Role.COUNSELOR.value,
            User.status == UserStatus.ACTIVE.value,
        )
        .group_by(col(User.id))
        .order_by(load, col(User.id))
        .limit(1)
    ).first()
    return row[0] if row else None


def set_auto_assign(session: Session, *, actor: Actor, on: bool) -> bool:
    """Turn automatic assignment of new inquiries on or off (admins)."""
    actor.require(Role.ADMIN)
    institute = session.get(Institute, actor.institute_scope())
    if institute is None:
        raise NotFound("That institute does not exist.")
    if institute.auto_assign_inquiries != on:
        institute.auto_assign_inquiries = on
        audit.save_audited(
            session,
            institute,
            "crm.auto_assign",
            actor=actor,
            target_type="institute",
            detail={"on": on},
        )
    return institute.auto_assign_inquiries


def auto_assign(session: Session, *, actor: Actor) -> bool:
    """Whether new inquiries are assigned automatically."""
    actor.require(*CRM_ROLES)
    institute = session.get(Institute, actor.institute_scope())
    return bool(institute and institute.auto_assign_inquiries)


def check_counselor_internal(
    session: Session, institute_id: int, user_id: int | None
) -> int | None:
    if user_id is None:
        return None
    user = find_owned(session, User, user_id, institute_id)
    if user is None or user.role not in (Role.COUNSELOR.value, Role.ADMIN.value):
        raise ValidationError(
            "Assign the inquiry to a counselor of this institute.", field="counselor"
        )
    if user.status == UserStatus.DISABLED:
        raise ValidationError(
            f"{user.name}'s account is disabled; choose someone else.", field="counselor"
        )
    return user.id


def check_referrer_internal(
    session: Session, institute_id: int, source: Source, student_id: int | None
) -> int | None:
    if student_id is None:
        return None
    if source != Source.REFERRAL:
        raise ValidationError(
            "A referring student is recorded only when the source is referral.",
            field="referrer_student_id",
        )
    student = find_owned(session, Student, student_id, institute_id)
    if student is None:
        raise ValidationError("The referring student does not exist.", field="referrer_student_id")
    return student.id


def clean_contact_internal(
    session: Session, institute_id: int, phone: str | None, email: str | None
) -> tuple[str | None, str | None]:
    """The phone (E.164, read in the institute's region) and email, at least one of them."""
    phone = normalize_phone(phone, identity.phone_region_internal(session, institute_id))
    email = normalize_email(email)
    if phone is None and email is None:
        raise ValidationError(
            "Give a phone number or an email, so someone can follow up.", field="phone"
        )
    return phone, email


def touch(session: Session, inquiry: Inquiry) -> None:
    inquiry.updated_at = clock.now()
    session.add(inquiry)
    session.flush()
    leadscore.recompute_institute_internal(
        session, institute_id=inquiry.institute_id, inquiry_ids=[inquiry.id]
    )
    session.refresh(inquiry)


def move_status(inquiry: Inquiry, status: Status) -> None:
    """Set the status and the first-reached timestamps the funnel counts."""
    now = clock.now()
    inquiry.status = status.value
    if status != Status.NEW and inquiry.contacted_at is None and status != Status.LOST:
        inquiry.contacted_at = now
    if status == Status.FOLLOW_UP_SCHEDULED and inquiry.scheduled_at is None:
        inquiry.scheduled_at = now
    if status in (Status.ENROLLED, Status.LOST):
        inquiry.closed_at = now
    else:
        inquiry.closed_at = None
        inquiry.lost_reason = None


def _pending_of(inquiry: Inquiry) -> tuple[Any, ...]:
    """The conditions of the inquiry's planned (pending) follow-ups."""
    return (
        FollowUp.institute_id == inquiry.institute_id,
        FollowUp.inquiry_id == inquiry.id,
        FollowUp.status == FollowUpStatus.PENDING.value,
    )


def planned(inquiry: Inquiry) -> SelectOfScalar[FollowUp]:
    """The inquiry's pending follow-ups, earliest first."""
    return (
        select(FollowUp).where(*_pending_of(inquiry)).order_by(FollowUp.follow_up_date, FollowUp.id)
    )


def drop_pending(session: Session, inquiry: Inquiry) -> None:
    """A closed inquiry has no next contact: its planned follow-up is cancelled."""
    session.execute(delete(FollowUp).where(*_pending_of(inquiry)))
    inquiry.next_follow_up_date = None


def counselors(session: Session, *, actor: Actor) -> list[User]:
    """Counselors (and admins) an inquiry can be assigned to."""
    actor.require(*CRM_ROLES)
    return list(
        session.exec(
            select(User)
            .where(
                User.institute_id == actor.institute_scope(),
                col(User.role).in_([Role.COUNSELOR.value, Role.ADMIN.value]),
                User.status != UserStatus.DISABLED.value,
            )
            .order_by(User.role.desc(), User.name)
        )
    )


def subjects(session: Session, *, actor: Actor) -> list[Subject]:
    """The institute's subjects, to record what an inquiry is interested in."""
    actor.require(*CRM_ROLES)
    return list(
        session.exec(
            select(Subject)
            .where(Subject.institute_id == actor.institute_scope())
            .order_by(Subject.name)
        )
    )


def referrer_choices(
    session: Session, *, actor: Actor, search: str, limit: int = 20
) -> list[Student]:
    """Active students matching a name or enrollment number, to pick who referred an inquiry."""
    actor.require(*CRM_ROLES)
    text = (search or "").strip().lower()
    if len(text) < 2:
        return []
    like = f"%{text}%"
    return list(
        session.exec(
            select(Student)
            .where(
                Student.institute_id == actor.institute_scope(),
                Student.status == StudentStatus.ACTIVE.value,
                or_(
                    func.lower(Student.name).like(like),
                    func.lower(Student.enrollment_no).like(like),
                ),
            )
            .order_by(Student.name)
            .limit(limit)
        )
    )


def conversion_choices(session: Session, *, actor: Actor) -> tuple[list[Batch], list[FeeStructure]]:
    """Open batches and fee structures to choose from when converting."""
    actor.require(*CRM_ROLES)
    institute_id = actor.institute_scope()
    batches = list(
        session.exec(
            select(Batch)
            .where(Batch.institute_id == institute_id, col(Batch.active).is_(True))
            .order_by(Batch.name)
        )
    )
    structures = list(
        session.exec(
            select(FeeStructure)
            .where(FeeStructure.institute_id == institute_id)
            .order_by(FeeStructure.name)
        )
    )
    return batches, structures


def recompute_scores(session: Session, *, actor: Actor) -> int:
    """Re-score every inquiry of the institute now (as the daily job does)."""
    actor.require(*CRM_ROLES)
    changed = leadscore.recompute_institute_internal(session, institute_id=actor.institute_scope())
    audit.on(
        session,
        actor,
        "crm.lead_scores",
        actor.institute_scope(),
        {"changed": changed},
        target_type="institute",
    )
    return changed
