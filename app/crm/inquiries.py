"""Inquiries: creating, editing, listing and the pipeline board, with an inquiry's detail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.academics.models import Student, Subject
from app.core import audit, phones
from app.core.errors import Conflict, ValidationError
from app.core.roles import Role
from app.core.tenancy import Actor
from app.crm.common import (
    CRM_ROLES,
    LIST_LIMIT,
    TRANSITIONS,
    assignee_internal,
    check_counselor_internal,
    check_referrer_internal,
    check_subjects_internal,
    clean_contact_internal,
    clean_tags,
    drop_pending,
    enum_value,
    get,
    move_status,
    today_internal,
    touch,
)
from app.crm.duplicates import Duplicate, find_duplicates
from app.crm.followups import FollowUpRow, follow_row, schedule_internal
from app.crm.models import (
    FollowUp,
    FollowUpType,
    Inquiry,
    Priority,
    Source,
    Status,
)
from app.identity.models import User


def create_inquiry(
    session: Session,
    *,
    actor: Actor,
    student_name: str,
    phone: str | None = None,
    email: str | None = None,
    interested_subjects: list[int] | None = None,
    source: str = Source.WALK_IN.value,
    priority: str = Priority.MEDIUM.value,
    tags: list[str] | str | None = None,
    notes: str | None = None,
    next_follow_up_date: date | None = None,
    counselor_user_id: int | None = None,
    referrer_student_id: int | None = None,
    referrer_enrollment_no: str | None = None,
    allow_duplicate: bool = False,
) -> Inquiry:
    """Record a new inquiry; refuses a likely duplicate unless told to save it anyway. The
    referring student may be given by id or by enrollment number."""
    actor.require(*CRM_ROLES)
    institute_id = actor.institute_scope()
    if referrer_student_id is None and (referrer_enrollment_no or "").strip():
        number = referrer_enrollment_no.strip()
        referrer_student_id = session.exec(
            select(Student.id).where(
                Student.institute_id == institute_id,
                func.lower(Student.enrollment_no) == number.lower(),
            )
        ).first()
        if referrer_student_id is None:
            raise ValidationError(
                f"No student has the enrollment number {number}.", field="referrer_student_id"
            )
    name = " ".join((student_name or "").split())
    if not name:
        raise ValidationError("The name is required.", field="student_name")
    if len(name) > 200:
        raise ValidationError("The name is longer than 200 characters.", field="student_name")
    phone, email = clean_contact_internal(session, institute_id, phone, email)
    src = enum_value(Source, source, "source", "source")
    prio = enum_value(Priority, priority, "priority", "priority")
    if counselor_user_id is None and actor.role == Role.COUNSELOR:
        counselor_user_id = actor.user_id
    if counselor_user_id is None:
        counselor_user_id = assignee_internal(session, institute_id=institute_id)
    if not allow_duplicate:
        dups = find_duplicates(session, actor=actor, phone=phone, email=email)
        if dups:
            first = dups[0]
            raise Conflict(
                f"This looks like inquiry #{first.id} ({first.student_name}, same {first.matched_on})"
                + (f" and {len(dups) - 1} more" if len(dups) > 1 else "")
                + ". Open that one, or save anyway and merge later.",
                field="duplicate",
            )
    today = today_internal(session, institute_id)
    if next_follow_up_date is not None and next_follow_up_date < today:
        raise ValidationError(
            "The next follow-up cannot be in the past.", field="next_follow_up_date"
        )
    inquiry = Inquiry(
        institute_id=institute_id,
        counselor_user_id=check_counselor_internal(session, institute_id, counselor_user_id),
        student_name=name,
        phone=phone,
        email=email,
        interested_subjects=check_subjects_internal(session, institute_id, interested_subjects),
        source=src.value,
        priority=prio.value,
        tags=clean_tags(tags),
        notes=(notes or "").strip()[:2000] or None,
        referrer_student_id=check_referrer_internal(
            session, institute_id, src, referrer_student_id
        ),
        created_by=actor.user_id,
    )
    session.add(inquiry)
    session.flush()
    if next_follow_up_date is not None:
        schedule_internal(
            session, inquiry, on=next_follow_up_date, kind=FollowUpType.CALL, notes=None
        )
    audit.on(
        session,
        actor,
        "crm.inquiry_create",
        inquiry.id,
        {"source": inquiry.source, "duplicate_allowed": allow_duplicate},
        target_type="inquiry",
    )
    touch(session, inquiry)
    return inquiry


EDITABLE = (
    "student_name",
    "phone",
    "email",
    "interested_subjects",
    "source",
    "priority",
    "tags",
    "notes",
    "counselor_user_id",
    "referrer_student_id",
)


def update_inquiry(session: Session, *, actor: Actor, inquiry_id: int, **changes) -> Inquiry:
    """Correct an inquiry's details (not its status: see change_status)."""
    actor.require(*CRM_ROLES)
    inquiry = get(session, actor, inquiry_id)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))} here.")
    institute_id = inquiry.institute_id
    if "student_name" in changes:
        name = " ".join((changes["student_name"] or "").split())
        if not name:
            raise ValidationError("The name is required.", field="student_name")
        changes["student_name"] = name[:200]
    if "phone" in changes or "email" in changes:
        changes["phone"], changes["email"] = clean_contact_internal(
            session,
            institute_id,
            changes.get("phone", inquiry.phone),
            changes.get("email", inquiry.email),
        )
    if "source" in changes:
        changes["source"] = enum_value(Source, changes["source"], "source", "source").value
    if "priority" in changes:
        changes["priority"] = enum_value(
            Priority, changes["priority"], "priority", "priority"
        ).value
    if "tags" in changes:
        changes["tags"] = clean_tags(changes["tags"])
    if "interested_subjects" in changes:
        changes["interested_subjects"] = check_subjects_internal(
            session, institute_id, changes["interested_subjects"]
        )
    if "counselor_user_id" in changes:
        changes["counselor_user_id"] = check_counselor_internal(
            session, institute_id, changes["counselor_user_id"]
        )
    if "notes" in changes:
        changes["notes"] = (changes["notes"] or "").strip()[:2000] or None
    source = Source(changes.get("source", inquiry.source))
    referrer = changes.get("referrer_student_id", inquiry.referrer_student_id)
    if source != Source.REFERRAL and "referrer_student_id" not in changes:
        referrer = None  # a referrer only goes with the referral source
    changes["referrer_student_id"] = check_referrer_internal(
        session, institute_id, source, referrer
    )
    diff = {
        k: [str(getattr(inquiry, k)), str(v)]
        for k, v in changes.items()
        if getattr(inquiry, k) != v
    }
    for key, value in changes.items():
        setattr(inquiry, key, value)
    if diff:
        audit.on(session, actor, "crm.inquiry_update", inquiry.id, diff, target_type="inquiry")
    touch(session, inquiry)
    return inquiry


def change_status(
    session: Session,
    *,
    actor: Actor,
    inquiry_id: int,
    status: str,
    lost_reason: str | None = None,
) -> Inquiry:
    """Move an inquiry along the pipeline; lost needs a reason, enrolled needs a conversion."""
    actor.require(*CRM_ROLES)
    inquiry = get(session, actor, inquiry_id)
    target = enum_value(Status, status, "status", "status")
    current = Status(inquiry.status)
    if target == current:
        raise ValidationError(
            f"{inquiry.student_name} is already {current.label.lower()}.", field="status"
        )
    if current == Status.ENROLLED:
        raise ValidationError(
            f"{inquiry.student_name} is already enrolled; an enrolled inquiry keeps its status.",
            field="status",
        )
    if target == Status.ENROLLED:
        raise ValidationError(
            f"Use Convert to enrol {inquiry.student_name}: it creates the student, the batch place "
            "and the first invoice together.",
            field="status",
        )
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(s.label.lower() for s in TRANSITIONS[current])
        raise ValidationError(
            f"An inquiry cannot go from {current.label.lower()} to {target.label.lower()}; "
            f"from {current.label.lower()} it can go to {allowed}.",
            field="status",
        )
    reason = " ".join((lost_reason or "").split())[:300]
    if target == Status.LOST and not reason:
        raise ValidationError(
            "Say why the inquiry was lost (for example: chose another institute, fees too high).",
            field="lost_reason",
        )
    if target == Status.FOLLOW_UP_SCHEDULED and inquiry.next_follow_up_date is None:
        raise ValidationError(
            "Schedule the follow-up (its date and how) and the status follows.",
            field="status",
        )
    move_status(inquiry, target)
    if target == Status.LOST:
        inquiry.lost_reason = reason
        drop_pending(session, inquiry)
    audit.on(
        session,
        actor,
        "crm.status",
        inquiry.id,
        {"from": current.value, "to": target.value, "lost_reason": reason or None},
        target_type="inquiry",
    )
    touch(session, inquiry)
    return inquiry


@dataclass(frozen=True)
class InquiryRow:
    id: int
    student_name: str
    phone: str | None
    email: str | None
    source: str
    status: str
    priority: str
    lead_score: int
    score_reasons: list[str]
    tags: list[str]
    next_follow_up_date: date | None
    counselor: str | None
    counselor_user_id: int | None
    created_at: datetime


def _filtered(
    institute_id: int,
    *,
    status: str | None,
    source: str | None,
    counselor_user_id: int | None,
    search: str | None,
):
    query = (
        select(Inquiry, User.name)
        .outerjoin(User, User.id == Inquiry.counselor_user_id)
        .where(Inquiry.institute_id == institute_id)
    )
    if status:
        query = query.where(Inquiry.status == status)
    if source:
        query = query.where(Inquiry.source == source)
    if counselor_user_id is not None:
        query = query.where(Inquiry.counselor_user_id == counselor_user_id)
    text = (search or "").strip().lower()
    if text:
        like = f"%{text}%"
        terms = [func.lower(Inquiry.student_name).like(like), col(Inquiry.email).like(like)]
        if digits := phones.search_digits(text):
            terms.append(col(Inquiry.phone).like(f"%{digits}%"))
        query = query.where(or_(*terms))
    return query


def _row(inq: Inquiry, counselor: str | None) -> InquiryRow:
    return InquiryRow(
        inq.id,
        inq.student_name,
        inq.phone,
        inq.email,
        inq.source,
        inq.status,
        inq.priority,
        inq.lead_score,
        list(inq.score_reasons or []),
        list(inq.tags or []),
        inq.next_follow_up_date,
        counselor,
        inq.counselor_user_id,
        inq.created_at,
    )


SORTS = {
    "score": (col(Inquiry.lead_score).desc(), col(Inquiry.id).desc()),
    "newest": (col(Inquiry.created_at).desc(), col(Inquiry.id).desc()),
    "next follow-up": (
        col(Inquiry.next_follow_up_date).is_(None),
        Inquiry.next_follow_up_date,
        Inquiry.id,
    ),
    "name": (Inquiry.student_name, Inquiry.id),
}


def list_inquiries(
    session: Session,
    *,
    actor: Actor,
    status: str | None = None,
    source: str | None = None,
    counselor_user_id: int | None = None,
    search: str | None = None,
    sort: str = "score",
    limit: int = LIST_LIMIT,
) -> list[InquiryRow]:
    """Inquiries matching the filters, best leads first (or newest, next follow-up, name)."""
    actor.require(*CRM_ROLES)
    query = _filtered(
        actor.institute_scope(),
        status=status,
        source=source,
        counselor_user_id=counselor_user_id,
        search=search,
    )
    rows = session.exec(query.order_by(*SORTS.get(sort, SORTS["score"])).limit(limit)).all()
    return [_row(inq, name) for inq, name in rows]


@dataclass(frozen=True)
class Column:
    status: str
    count: int
    cards: list[InquiryRow]


def pipeline(
    session: Session,
    *,
    actor: Actor,
    source: str | None = None,
    counselor_user_id: int | None = None,
    search: str | None = None,
    per_column: int = 8,
) -> list[Column]:
    """The board: per status, how many inquiries match and the best `per_column` of them
    (two queries, however many inquiries there are)."""
    actor.require(*CRM_ROLES)
    institute_id = actor.institute_scope()
    base = _filtered(
        institute_id, status=None, source=source, counselor_user_id=counselor_user_id, search=search
    )
    sub = base.with_only_columns(Inquiry.id, Inquiry.status).subquery()
    counts = dict(session.execute(select(sub.c.status, func.count()).group_by(sub.c.status)).all())
    ranked = base.with_only_columns(
        Inquiry.id,
        func.row_number()
        .over(
            partition_by=Inquiry.status,
            order_by=(col(Inquiry.lead_score).desc(), col(Inquiry.id).desc()),
        )
        .label("rn"),
    ).subquery()
    top = session.exec(
        select(Inquiry, User.name)
        .join(ranked, ranked.c.id == Inquiry.id)
        .outerjoin(User, User.id == Inquiry.counselor_user_id)
        .where(ranked.c.rn <= per_column)
        .order_by(col(Inquiry.lead_score).desc(), col(Inquiry.id).desc())
    ).all()
    cards: dict[str, list[InquiryRow]] = {s.value: [] for s in Status}
    for inq, name in top:
        cards[inq.status].append(_row(inq, name))
    return [Column(s.value, int(counts.get(s.value, 0)), cards[s.value]) for s in Status]


@dataclass(frozen=True)
class InquiryDetail:
    inquiry: Inquiry
    counselor: str | None
    subjects: list[str]
    referrer: str | None
    student: str | None
    follow_ups: list[FollowUpRow]
    duplicates: list[Duplicate]


def get_inquiry(session: Session, *, actor: Actor, inquiry_id: int) -> InquiryDetail:
    """One inquiry with its follow-up history (newest first), score reasons and duplicates."""
    actor.require(*CRM_ROLES)
    inquiry = get(session, actor, inquiry_id)
    counselor = session.get(User, inquiry.counselor_user_id) if inquiry.counselor_user_id else None
    subjects = (
        list(
            session.exec(
                select(Subject.name)
                .where(
                    Subject.institute_id == inquiry.institute_id,
                    col(Subject.id).in_(inquiry.interested_subjects),
                )
                .order_by(Subject.name)
            )
        )
        if inquiry.interested_subjects
        else []
    )
    referrer = (
        session.get(Student, inquiry.referrer_student_id) if inquiry.referrer_student_id else None
    )
    student = session.get(Student, inquiry.student_id) if inquiry.student_id else None
    history = session.exec(
        select(FollowUp, User.name)
        .outerjoin(User, User.id == FollowUp.counselor_user_id)
        .where(FollowUp.institute_id == inquiry.institute_id, FollowUp.inquiry_id == inquiry.id)
        .order_by(col(FollowUp.follow_up_date).desc(), col(FollowUp.id).desc())
    ).all()
    return InquiryDetail(
        inquiry=inquiry,
        counselor=counselor.name if counselor else None,
        subjects=subjects,
        referrer=f"{referrer.name} ({referrer.enrollment_no})" if referrer else None,
        student=f"{student.name} ({student.enrollment_no})" if student else None,
        follow_ups=[follow_row(fu, inquiry, name) for fu, name in history],
        duplicates=find_duplicates(
            session, actor=actor, phone=inquiry.phone, email=inquiry.email, exclude_id=inquiry.id
        ),
    )
