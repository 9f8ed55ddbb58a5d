"""Counselor CRM: inquiries, their follow-ups, duplicates and merging, and conversion to a student.

Admins and counselors of an institute work on its inquiries (counselors see the whole pipeline,
so a colleague's lead can be picked up); nobody else may. Every change is audited, re-scores the
inquiry (`app.crm.leadscore`) and leaves nothing half-written: services only flush, the caller's
transaction commits, and conversion runs inside a savepoint of its own.

Status machine: new → contacted → follow_up_scheduled → enrolled | lost. Enrolled is reached
only by converting (student, guardian, batch place and first invoice in one step); lost needs a
reason and can be reopened (back to contacted). An inquiry has at most one pending follow-up —
"the next contact" — mirrored in `next_follow_up_date`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from app.academics import service as academics_service
from app.academics.models import Batch, BatchMembership, Guardian, Student, Subject
from app.core import audit, clock
from app.core.errors import Conflict, NotFound, ValidationError
from app.core.roles import Role
from app.core.tenancy import Actor
from app.core.text import plural
from app.core.validation import normalize_email, normalize_phone, phone_key
from app.crm import leadscore
from app.crm.models import (
    OPEN_STATUSES,
    FollowUp,
    FollowUpStatus,
    FollowUpType,
    Inquiry,
    Outcome,
    Priority,
    Source,
    Status,
)
from app.fees import service as fees_service
from app.fees.models import FeeItem, FeeStructure, Invoice
from app.identity.models import Institute, User
from app.inbox import service as inbox_service

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


# ------------------------------------------------------------------ helpers


def _today(session: Session, institute_id: int) -> date:
    return clock.today_in(session.get(Institute, institute_id).timezone)


def _get(session: Session, actor: Actor, inquiry_id: int) -> Inquiry:
    inquiry = session.get(Inquiry, inquiry_id)
    if inquiry is None or inquiry.institute_id != actor.institute_scope():
        raise NotFound("That inquiry does not exist.")
    return inquiry


def _enum(enum: type, value: str | None, field: str, what: str):
    try:
        return enum((value or "").strip().lower().replace(" ", "_").replace("-", "_"))
    except ValueError as exc:
        allowed = ", ".join(e.value for e in enum)
        raise ValidationError(
            f"'{value}' is not a {what}; use one of {allowed}.", field=field
        ) from exc


def _clean_tags(tags: list[str] | str | None) -> list[str]:
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


def _check_subjects(
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


def _check_counselor(session: Session, institute_id: int, user_id: int | None) -> int | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    if (
        user is None
        or user.institute_id != institute_id
        or user.role not in (Role.COUNSELOR.value, Role.ADMIN.value)
    ):
        raise ValidationError(
            "Assign the inquiry to a counselor of this institute.", field="counselor"
        )
    if user.status == "disabled":
        raise ValidationError(
            f"{user.name}'s account is disabled; choose someone else.", field="counselor"
        )
    return user.id


def _check_referrer(
    session: Session, institute_id: int, source: Source, student_id: int | None
) -> int | None:
    if student_id is None:
        return None
    if source != Source.REFERRAL:
        raise ValidationError(
            "A referring student is recorded only when the source is referral.",
            field="referrer_student_id",
        )
    student = session.get(Student, student_id)
    if student is None or student.institute_id != institute_id:
        raise ValidationError("The referring student does not exist.", field="referrer_student_id")
    return student.id


def _contact(phone: str | None, email: str | None) -> tuple[str | None, str | None, str | None]:
    phone = normalize_phone(phone)
    email = normalize_email(email)
    if phone is None and email is None:
        raise ValidationError(
            "Give a phone number or an email, so someone can follow up.", field="phone"
        )
    return phone, phone_key(phone), email


def _touch(session: Session, inquiry: Inquiry) -> None:
    inquiry.updated_at = clock.now()
    session.add(inquiry)
    session.flush()
    leadscore.recompute_institute_internal(
        session, institute_id=inquiry.institute_id, inquiry_ids=[inquiry.id]
    )
    session.refresh(inquiry)


def _move_status(inquiry: Inquiry, status: Status) -> None:
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


def _drop_pending(session: Session, inquiry: Inquiry) -> None:
    """A closed inquiry has no next contact: its planned follow-up is cancelled."""
    session.execute(
        delete(FollowUp).where(
            FollowUp.institute_id == inquiry.institute_id,
            FollowUp.inquiry_id == inquiry.id,
            FollowUp.status == FollowUpStatus.PENDING.value,
        )
    )
    inquiry.next_follow_up_date = None


# ------------------------------------------------------------------ duplicates


@dataclass(frozen=True)
class Duplicate:
    id: int
    student_name: str
    phone: str | None
    email: str | None
    status: str
    created_at: datetime
    matched_on: str  # "phone", "email" or "phone and email"


def find_duplicates(
    session: Session,
    *,
    actor: Actor,
    phone: str | None = None,
    email: str | None = None,
    exclude_id: int | None = None,
) -> list[Duplicate]:
    """Inquiries with the same phone (last ten digits) or email (case-insensitive)."""
    actor.require(*CRM_ROLES)
    institute_id = actor.institute_scope()
    key = phone_key(phone) if phone and phone.strip() else None
    mail = (email or "").strip().lower() or None
    if key is None and mail is None:
        return []
    matches = []
    if key:
        matches.append(Inquiry.phone_key == key)
    if mail:
        matches.append(Inquiry.email == mail)
    query = select(Inquiry).where(Inquiry.institute_id == institute_id, or_(*matches))
    if exclude_id is not None:
        query = query.where(Inquiry.id != exclude_id)
    out = []
    for inq in session.exec(query.order_by(Inquiry.created_at, Inquiry.id)):
        on = [
            w
            for w, hit in (
                ("phone", key and inq.phone_key == key),
                ("email", mail and inq.email == mail),
            )
            if hit
        ]
        out.append(
            Duplicate(
                inq.id,
                inq.student_name,
                inq.phone,
                inq.email,
                inq.status,
                inq.created_at,
                " and ".join(on),
            )
        )
    return out


def duplicate_pairs(
    session: Session, *, actor: Actor, limit: int = 100
) -> list[tuple[Duplicate, Duplicate]]:
    """Pairs of inquiries that look like the same person (older first), for merging."""
    actor.require(*CRM_ROLES)
    institute_id = actor.institute_scope()
    a, b = Inquiry.__table__.alias("a"), Inquiry.__table__.alias("b")
    found: dict[tuple[int, int], tuple[dict, dict, list[str]]] = {}
    # One equality self-join per key (each can use its index), not one join on "phone or email".
    for key in ("phone_key", "email"):
        rows = session.execute(
            select(a, b)
            .select_from(
                a.join(
                    b,
                    (b.c.institute_id == a.c.institute_id)
                    & (b.c[key] == a.c[key])
                    & (b.c.id > a.c.id),
                )
            )
            .where(a.c.institute_id == institute_id, a.c[key].is_not(None))
            .order_by(a.c.id, b.c.id)
            .limit(limit)
        ).all()
        n = len(a.c)
        for row in rows:
            left = dict(zip(a.c.keys(), row[:n], strict=True))
            right = dict(zip(b.c.keys(), row[n:], strict=True))
            entry = found.setdefault((left["id"], right["id"]), (left, right, []))
            entry[2].append("phone" if key == "phone_key" else "email")
    pairs = []
    for _, (left, right, on) in sorted(found.items())[:limit]:
        matched = " and ".join(on)
        first, second = sorted((left, right), key=lambda m: (m["created_at"], m["id"]))
        pairs.append((_dup(first, matched), _dup(second, matched)))
    return pairs


def _dup(m: dict, matched: str) -> Duplicate:
    return Duplicate(
        m["id"], m["student_name"], m["phone"], m["email"], m["status"], m["created_at"], matched
    )


# ------------------------------------------------------------------ inquiries


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
    phone, key, email = _contact(phone, email)
    src = _enum(Source, source, "source", "source")
    prio = _enum(Priority, priority, "priority", "priority")
    if counselor_user_id is None and actor.role == Role.COUNSELOR:
        counselor_user_id = actor.user_id
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
    today = _today(session, institute_id)
    if next_follow_up_date is not None and next_follow_up_date < today:
        raise ValidationError(
            "The next follow-up cannot be in the past.", field="next_follow_up_date"
        )
    inquiry = Inquiry(
        institute_id=institute_id,
        counselor_user_id=_check_counselor(session, institute_id, counselor_user_id),
        student_name=name,
        phone=phone,
        phone_key=key,
        email=email,
        interested_subjects=_check_subjects(session, institute_id, interested_subjects),
        source=src.value,
        priority=prio.value,
        tags=_clean_tags(tags),
        notes=(notes or "").strip()[:2000] or None,
        referrer_student_id=_check_referrer(session, institute_id, src, referrer_student_id),
        created_by=actor.user_id,
    )
    session.add(inquiry)
    session.flush()
    if next_follow_up_date is not None:
        _schedule(session, inquiry, on=next_follow_up_date, kind=FollowUpType.CALL, notes=None)
    audit.record(
        session,
        actor=actor,
        action="crm.inquiry_create",
        target_type="inquiry",
        target_id=inquiry.id,
        detail={"source": inquiry.source, "duplicate_allowed": allow_duplicate},
    )
    _touch(session, inquiry)
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
    inquiry = _get(session, actor, inquiry_id)
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
        phone, key, email = _contact(
            changes.get("phone", inquiry.phone), changes.get("email", inquiry.email)
        )
        changes["phone"], changes["email"] = phone, email
        inquiry.phone_key = key
    if "source" in changes:
        changes["source"] = _enum(Source, changes["source"], "source", "source").value
    if "priority" in changes:
        changes["priority"] = _enum(Priority, changes["priority"], "priority", "priority").value
    if "tags" in changes:
        changes["tags"] = _clean_tags(changes["tags"])
    if "interested_subjects" in changes:
        changes["interested_subjects"] = _check_subjects(
            session, institute_id, changes["interested_subjects"]
        )
    if "counselor_user_id" in changes:
        changes["counselor_user_id"] = _check_counselor(
            session, institute_id, changes["counselor_user_id"]
        )
    if "notes" in changes:
        changes["notes"] = (changes["notes"] or "").strip()[:2000] or None
    source = Source(changes.get("source", inquiry.source))
    referrer = changes.get("referrer_student_id", inquiry.referrer_student_id)
    if source != Source.REFERRAL and "referrer_student_id" not in changes:
        referrer = None  # a referrer only goes with the referral source
    changes["referrer_student_id"] = _check_referrer(session, institute_id, source, referrer)
    diff = {
        k: [str(getattr(inquiry, k)), str(v)]
        for k, v in changes.items()
        if getattr(inquiry, k) != v
    }
    for key, value in changes.items():
        setattr(inquiry, key, value)
    if diff:
        audit.record(
            session,
            actor=actor,
            action="crm.inquiry_update",
            target_type="inquiry",
            target_id=inquiry.id,
            detail=diff,
        )
    _touch(session, inquiry)
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
    inquiry = _get(session, actor, inquiry_id)
    target = _enum(Status, status, "status", "status")
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
    _move_status(inquiry, target)
    if target == Status.LOST:
        inquiry.lost_reason = reason
        _drop_pending(session, inquiry)
    audit.record(
        session,
        actor=actor,
        action="crm.status",
        target_type="inquiry",
        target_id=inquiry.id,
        detail={"from": current.value, "to": target.value, "lost_reason": reason or None},
    )
    _touch(session, inquiry)
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
        digits = "".join(ch for ch in text if ch.isdigit())
        terms = [func.lower(Inquiry.student_name).like(like), col(Inquiry.email).like(like)]
        if len(digits) >= 3:
            terms.append(col(Inquiry.phone_key).like(f"%{digits[-10:]}%"))
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
class FollowUpRow:
    id: int
    inquiry_id: int
    student_name: str
    phone: str | None
    follow_up_date: date
    follow_up_type: str
    status: str
    outcome: str | None
    notes: str | None
    next_follow_up_date: date | None
    counselor: str | None


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
    inquiry = _get(session, actor, inquiry_id)
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
        follow_ups=[_follow_row(fu, inquiry, name) for fu, name in history],
        duplicates=find_duplicates(
            session, actor=actor, phone=inquiry.phone, email=inquiry.email, exclude_id=inquiry.id
        ),
    )


def _follow_row(fu: FollowUp, inquiry: Inquiry, counselor: str | None) -> FollowUpRow:
    return FollowUpRow(
        fu.id,
        inquiry.id,
        inquiry.student_name,
        inquiry.phone,
        fu.follow_up_date,
        fu.follow_up_type,
        fu.status,
        fu.outcome,
        fu.notes,
        fu.next_follow_up_date,
        counselor,
    )


# ------------------------------------------------------------------ follow-ups


def _pending(session: Session, inquiry: Inquiry) -> FollowUp | None:
    return session.exec(
        select(FollowUp)
        .where(
            FollowUp.institute_id == inquiry.institute_id,
            FollowUp.inquiry_id == inquiry.id,
            FollowUp.status == FollowUpStatus.PENDING.value,
        )
        .order_by(FollowUp.follow_up_date, FollowUp.id)
    ).first()


def _schedule(
    session: Session, inquiry: Inquiry, *, on: date, kind: FollowUpType, notes: str | None
) -> FollowUp:
    """Plan the next contact (moving the planned one, if any) and mark the inquiry scheduled."""
    pending = _pending(session, inquiry)
    if pending is None:
        pending = FollowUp(
            institute_id=inquiry.institute_id,
            inquiry_id=inquiry.id,
            counselor_user_id=inquiry.counselor_user_id,
            follow_up_date=on,
            follow_up_type=kind.value,
            status=FollowUpStatus.PENDING.value,
            notes=notes,
        )
    else:
        pending.follow_up_date, pending.follow_up_type = on, kind.value
        pending.notes = notes or pending.notes
        pending.updated_at = clock.now()
    session.add(pending)
    inquiry.next_follow_up_date = on
    if inquiry.status in (Status.NEW.value, Status.CONTACTED.value):
        _move_status(inquiry, Status.FOLLOW_UP_SCHEDULED)
    session.flush()
    return pending


def _open_inquiry(inquiry: Inquiry) -> None:
    if inquiry.status == Status.ENROLLED.value:
        raise ValidationError(
            f"{inquiry.student_name} is already enrolled; follow up with them as a student."
        )
    if inquiry.status == Status.LOST.value:
        raise ValidationError(
            f"{inquiry.student_name}'s inquiry is lost; reopen it (status contacted) first."
        )


def schedule_follow_up(
    session: Session,
    *,
    actor: Actor,
    inquiry_id: int,
    on: date,
    follow_up_type: str = FollowUpType.CALL.value,
    notes: str | None = None,
) -> FollowUp:
    """Plan the next contact with an inquiry (one planned contact at a time; this moves it)."""
    actor.require(*CRM_ROLES)
    inquiry = _get(session, actor, inquiry_id)
    _open_inquiry(inquiry)
    kind = _enum(FollowUpType, follow_up_type, "follow_up_type", "follow-up type")
    if on < _today(session, inquiry.institute_id):
        raise ValidationError("A follow-up is planned for today or later.", field="on")
    pending = _schedule(
        session, inquiry, on=on, kind=kind, notes=(notes or "").strip()[:2000] or None
    )
    audit.record(
        session,
        actor=actor,
        action="crm.follow_up_schedule",
        target_type="inquiry",
        target_id=inquiry.id,
        detail={"on": on.isoformat(), "type": kind.value},
    )
    _touch(session, inquiry)
    return pending


def log_follow_up(
    session: Session,
    *,
    actor: Actor,
    inquiry_id: int,
    follow_up_type: str,
    outcome: str,
    notes: str | None = None,
    next_follow_up_date: date | None = None,
    on: date | None = None,
) -> FollowUp:
    """Record a contact that happened (a call, a visit…) with its outcome and, optionally, plan
    the next one. A planned contact due by then counts as done by this one."""
    actor.require(*CRM_ROLES)
    inquiry = _get(session, actor, inquiry_id)
    _open_inquiry(inquiry)
    kind = _enum(FollowUpType, follow_up_type, "follow_up_type", "follow-up type")
    result = _enum(Outcome, outcome, "outcome", "follow-up outcome")
    today = _today(session, inquiry.institute_id)
    on = on or today
    if on > today:
        raise ValidationError(
            "A contact that happened cannot be in the future; schedule it instead.", field="on"
        )
    if next_follow_up_date is not None and next_follow_up_date <= on:
        raise ValidationError(
            "The next follow-up must come after this one.", field="next_follow_up_date"
        )
    if next_follow_up_date is not None and next_follow_up_date < today:
        raise ValidationError(
            "The next follow-up cannot be in the past.", field="next_follow_up_date"
        )
    text = (notes or "").strip()[:2000] or None
    pending = _pending(session, inquiry)
    if pending is not None and pending.follow_up_date <= on:
        done = pending
    else:
        done = FollowUp(institute_id=inquiry.institute_id, inquiry_id=inquiry.id)
    done.counselor_user_id = (
        actor.user_id if actor.role == Role.COUNSELOR else inquiry.counselor_user_id
    )
    done.follow_up_date, done.follow_up_type = on, kind.value
    done.status, done.outcome, done.notes = FollowUpStatus.COMPLETED.value, result.value, text
    done.next_follow_up_date = next_follow_up_date
    done.updated_at = clock.now()
    session.add(done)
    session.flush()
    if done is pending:  # its overdue reminder in the inbox is dealt with now
        inbox_service.resolve_by_key(
            session,
            actor=actor,
            dedupe_key=f"follow_up_due:{done.id}",
            note=f"Follow-up logged: {result.value.replace('_', ' ')}.",
        )
    if inquiry.status == Status.NEW.value:
        _move_status(inquiry, Status.CONTACTED)
    remaining = _pending(session, inquiry)  # a contact planned for later still stands
    if next_follow_up_date is not None:
        _schedule(session, inquiry, on=next_follow_up_date, kind=kind, notes=None)
    elif remaining is not None:
        inquiry.next_follow_up_date = remaining.follow_up_date
        if inquiry.status == Status.CONTACTED.value:
            _move_status(inquiry, Status.FOLLOW_UP_SCHEDULED)
    else:
        inquiry.next_follow_up_date = None
        if inquiry.status == Status.FOLLOW_UP_SCHEDULED.value:
            _move_status(inquiry, Status.CONTACTED)
    audit.record(
        session,
        actor=actor,
        action="crm.follow_up_log",
        target_type="inquiry",
        target_id=inquiry.id,
        detail={"type": kind.value, "outcome": result.value, "on": on.isoformat()},
    )
    _touch(session, inquiry)
    return done


def due_follow_ups(
    session: Session, *, actor: Actor, mine_only: bool | None = None, limit: int = 200
) -> list[FollowUpRow]:
    """Planned contacts due today or overdue (a counselor's own by default), oldest first."""
    actor.require(*CRM_ROLES)
    institute_id = actor.institute_scope()
    mine = actor.role == Role.COUNSELOR if mine_only is None else mine_only
    query = (
        select(FollowUp, Inquiry, User.name)
        .join(Inquiry, Inquiry.id == FollowUp.inquiry_id)
        .outerjoin(User, User.id == FollowUp.counselor_user_id)
        .where(
            FollowUp.institute_id == institute_id,
            Inquiry.institute_id == institute_id,
            FollowUp.status == FollowUpStatus.PENDING.value,
            FollowUp.follow_up_date <= _today(session, institute_id),
            col(Inquiry.status).in_([s.value for s in OPEN_STATUSES]),
        )
    )
    if mine:
        query = query.where(
            or_(
                FollowUp.counselor_user_id == actor.user_id,
                (col(FollowUp.counselor_user_id).is_(None))
                & (Inquiry.counselor_user_id == actor.user_id),
            )
        )
    rows = session.exec(query.order_by(FollowUp.follow_up_date, FollowUp.id).limit(limit)).all()
    return [_follow_row(fu, inq, name) for fu, inq, name in rows]


# ------------------------------------------------------------------ merge


_PRIORITY_RANK = {Priority.LOW.value: 0, Priority.MEDIUM.value: 1, Priority.HIGH.value: 2}


def merge_inquiries(session: Session, *, actor: Actor, inquiry_id: int, other_id: int) -> Inquiry:
    """Merge two inquiries about the same person: the older one stays and takes the other's
    follow-ups, tags and subjects (blanks filled from the other); the newer one is removed."""
    actor.require(*CRM_ROLES)
    if inquiry_id == other_id:
        raise ValidationError("Choose two different inquiries to merge.")
    one, two = _get(session, actor, inquiry_id), _get(session, actor, other_id)
    keep, gone = sorted((one, two), key=lambda i: (i.created_at, i.id))
    if keep.status == Status.ENROLLED.value and gone.status == Status.ENROLLED.value:
        raise Conflict(
            "Both inquiries are enrolled, as two different students; they cannot be merged."
        )
    snapshot = {
        "removed_id": gone.id,
        "student_name": gone.student_name,
        "phone": gone.phone,
        "email": gone.email,
        "status": gone.status,
        "source": gone.source,
        "tags": list(gone.tags or []),
        "interested_subjects": list(gone.interested_subjects or []),
        "notes": gone.notes,
    }
    keep.tags = list(dict.fromkeys(list(keep.tags or []) + list(gone.tags or [])))[:MAX_TAGS]
    keep.interested_subjects = sorted(
        set(keep.interested_subjects or []) | set(gone.interested_subjects or [])
    )
    for name in ("phone", "email", "counselor_user_id", "referrer_student_id"):
        if getattr(keep, name) is None and getattr(gone, name) is not None:
            setattr(keep, name, getattr(gone, name))
    keep.phone_key = phone_key(keep.phone)
    if gone.notes:
        keep.notes = ((keep.notes + "\n") if keep.notes else "") + gone.notes
        keep.notes = keep.notes[:2000]
    if _PRIORITY_RANK[gone.priority] > _PRIORITY_RANK[keep.priority]:
        keep.priority = gone.priority
    if gone.status == Status.ENROLLED.value:
        keep.status, keep.student_id, keep.closed_at = gone.status, gone.student_id, gone.closed_at
        keep.lost_reason = None
    for stamp in ("contacted_at", "scheduled_at"):
        values = [v for v in (getattr(keep, stamp), getattr(gone, stamp)) if v is not None]
        setattr(keep, stamp, min(values) if values else None)
    session.execute(
        update(FollowUp)
        .where(FollowUp.institute_id == keep.institute_id, FollowUp.inquiry_id == gone.id)
        .values(inquiry_id=keep.id)
    )
    session.flush()
    session.delete(gone)
    session.flush()
    # One planned contact per inquiry: keep the earliest, drop the rest.
    pending = list(
        session.exec(
            select(FollowUp)
            .where(
                FollowUp.institute_id == keep.institute_id,
                FollowUp.inquiry_id == keep.id,
                FollowUp.status == FollowUpStatus.PENDING.value,
            )
            .order_by(FollowUp.follow_up_date, FollowUp.id)
        )
    )
    for extra in pending[1:]:
        session.delete(extra)
    if keep.status in (Status.ENROLLED.value, Status.LOST.value):
        _drop_pending(session, keep)
    else:
        keep.next_follow_up_date = pending[0].follow_up_date if pending else None
    audit.record(
        session,
        actor=actor,
        action="crm.merge",
        target_type="inquiry",
        target_id=keep.id,
        detail=snapshot,
    )
    _touch(session, keep)
    return keep


# ------------------------------------------------------------------ conversion


@dataclass(frozen=True)
class Conversion:
    inquiry: Inquiry
    student: Student
    guardian: Guardian | None
    membership: BatchMembership
    invoice: Invoice
    referral_points: int | None  # points the referrer earned, when there was one


def suggest_enrollment_no(session: Session, *, actor: Actor) -> str:
    """A free enrollment number in the ADM-00001 style, for the conversion form."""
    actor.require(*CRM_ROLES)
    institute_id = actor.institute_scope()
    n = int(
        session.exec(
            select(func.count()).select_from(Student).where(Student.institute_id == institute_id)
        ).one()
    )
    while True:
        n += 1
        candidate = f"ADM-{n:05d}"
        taken = session.exec(
            select(Student.id).where(
                Student.institute_id == institute_id, Student.enrollment_no == candidate
            )
        ).first()
        if taken is None:
            return candidate


def convert(
    session: Session,
    *,
    actor: Actor,
    inquiry_id: int,
    enrollment_no: str,
    batch_id: int,
    structure_id: int,
    period: str | None = None,
    guardian_name: str | None = None,
    guardian_phone: str | None = None,
    guardian_relationship: str = "guardian",
    date_of_birth: date | None = None,
    optional_item_ids: list[int] | None = None,
) -> Conversion:
    """Enrol an inquiry in one step: the student (and guardian), a place in the batch and the
    first invoice from the chosen fee structure; the inquiry becomes enrolled and links to the
    student, and a referrer earns their points. All of it, or — on any refusal — none of it.
    The invoice bills the structure's period containing today (the term, for a per-term
    structure) unless `period` names another; it is the same period an invoice run bills, so a
    later run for that period skips the new student."""
    actor.require(*CRM_ROLES)
    inquiry = _get(session, actor, inquiry_id)
    institute_id = inquiry.institute_id
    if session.get_bind().dialect.name == "postgresql":
        # Two people converting the same inquiry, or filling the batch's last place, wait for
        # each other (SQLite: the page takes the write lock up front).
        session.exec(select(Inquiry.id).where(Inquiry.id == inquiry.id).with_for_update()).one()
        session.exec(
            select(Batch.id)
            .where(Batch.institute_id == institute_id, Batch.id == batch_id)
            .with_for_update()
        ).all()
        session.refresh(inquiry)
    if inquiry.status == Status.ENROLLED.value:
        raise Conflict(f"{inquiry.student_name} is already enrolled.")
    if inquiry.status == Status.LOST.value:
        raise ValidationError(
            f"{inquiry.student_name}'s inquiry is lost; reopen it (status contacted) before enrolling."
        )
    # Check what can be checked before writing anything, so the usual refusals are clear.
    batch = session.get(Batch, batch_id)
    if batch is None or batch.institute_id != institute_id:
        raise NotFound("That batch does not exist.")
    if not batch.active:
        raise ValidationError(f"{batch.name} is closed; choose another batch.", field="batch_id")
    if batch.capacity is not None:
        members = session.exec(
            select(func.count())
            .select_from(BatchMembership)
            .where(
                BatchMembership.institute_id == institute_id,
                BatchMembership.batch_id == batch.id,
                col(BatchMembership.left_on).is_(None),
            )
        ).one()
        if members >= batch.capacity:
            raise Conflict(
                f"{batch.name} is full ({plural(batch.capacity, 'student')}). Choose another batch or ask "
                "an admin to raise its capacity. Nothing was saved.",
                field="batch_id",
            )
    structure = session.get(FeeStructure, structure_id)
    if structure is None or structure.institute_id != institute_id:
        raise NotFound("That fee structure does not exist.")
    has_items = session.exec(
        select(FeeItem.id).where(
            FeeItem.institute_id == institute_id, FeeItem.structure_id == structure.id
        )
    ).first()
    if has_items is None:
        raise ValidationError(f"{structure.name} has no fee items to bill.", field="structure_id")
    if period is None:
        period = fees_service.current_period(session, actor=actor, structure_id=structure.id)
    elif not period.strip():
        raise ValidationError(
            "Name the billing period, such as 2026-11 or 2026-T1.", field="period"
        )
    if guardian_phone and not (guardian_name or "").strip():
        raise ValidationError("Give the guardian's name with their phone.", field="guardian_name")
    with session.begin_nested():
        student = academics_service.create_student(
            session,
            actor=actor,
            enrollment_no=enrollment_no,
            name=inquiry.student_name,
            phone=inquiry.phone,
            email=inquiry.email,
            date_of_birth=date_of_birth,
            counselor_user_id=inquiry.counselor_user_id,
        )
        guardian = None
        if (guardian_name or "").strip():
            guardian = academics_service.add_guardian(
                session,
                actor=actor,
                student_id=student.id,
                name=guardian_name,
                phone=guardian_phone,
                relationship=(guardian_relationship or "guardian").strip().lower(),
            )
        membership = academics_service.join_batch(
            session, actor=actor, batch_id=batch.id, student_id=student.id
        )
        invoice = fees_service.invoice_student(
            session,
            actor=actor,
            student_id=student.id,
            structure_id=structure.id,
            period=period,
            optional_item_ids=optional_item_ids,
        )
        reward_points = None
        if inquiry.referrer_student_id is not None:
            from app.feedback import points as points_service

            entry = points_service.record_referral_reward_internal(
                session,
                institute_id=institute_id,
                referrer_student_id=inquiry.referrer_student_id,
                inquiry_id=inquiry.id,
                new_student_name=inquiry.student_name,
                created_by_user_id=actor.user_id,
            )
            reward_points = getattr(entry, "points", None) if entry is not None else None
        previous = inquiry.status
        _move_status(inquiry, Status.ENROLLED)
        inquiry.student_id = student.id
        _drop_pending(session, inquiry)
        audit.record(
            session,
            actor=actor,
            action="crm.convert",
            target_type="inquiry",
            target_id=inquiry.id,
            detail={
                "from": previous,
                "student_id": student.id,
                "batch_id": batch.id,
                "invoice_id": invoice.id,
                "referrer_student_id": inquiry.referrer_student_id,
            },
        )
        _touch(session, inquiry)
    return Conversion(inquiry, student, guardian, membership, invoice, reward_points)


# ------------------------------------------------------------------ choices for forms


def counselors(session: Session, *, actor: Actor) -> list[User]:
    """Counselors (and admins) an inquiry can be assigned to."""
    actor.require(*CRM_ROLES)
    return list(
        session.exec(
            select(User)
            .where(
                User.institute_id == actor.institute_scope(),
                col(User.role).in_([Role.COUNSELOR.value, Role.ADMIN.value]),
                User.status != "disabled",
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
                Student.status == "active",
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
    audit.record(
        session,
        actor=actor,
        action="crm.lead_scores",
        target_type="institute",
        target_id=actor.institute_scope(),
        detail={"changed": changed},
    )
    return changed
