"""Duplicate inquiries: found by phone or email, listed in pairs, and merged into one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session, select

from app.core import audit
from app.core.errors import Conflict, ValidationError
from app.core.phones import normalize_phone
from app.core.tenancy import Actor
from app.crm.common import CRM_ROLES, MAX_TAGS, drop_pending, get, planned, touch
from app.crm.models import (
    FollowUp,
    Inquiry,
    Priority,
    Status,
)
from app.identity import service as identity


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
    """Inquiries with the same phone (as E.164, however it was typed) or email (any case)."""
    actor.require(*CRM_ROLES)
    institute_id = actor.institute_scope()
    try:
        key = normalize_phone(phone, identity.phone_region_internal(session, institute_id))
    except ValidationError:
        key = None  # not a phone number: nothing can have it
    mail = (email or "").strip().lower() or None
    if key is None and mail is None:
        return []
    matches = []
    if key:
        matches.append(Inquiry.phone == key)
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
                ("phone", key and inq.phone == key),
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
    for key in ("phone", "email"):
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
            entry[2].append(key)
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


_PRIORITY_RANK = {Priority.LOW.value: 0, Priority.MEDIUM.value: 1, Priority.HIGH.value: 2}


def merge_inquiries(session: Session, *, actor: Actor, inquiry_id: int, other_id: int) -> Inquiry:
    """Merge two inquiries about the same person: the older one stays and takes the other's
    follow-ups, tags and subjects (blanks filled from the other); the newer one is removed."""
    actor.require(*CRM_ROLES)
    if inquiry_id == other_id:
        raise ValidationError("Choose two different inquiries to merge.")
    one, two = get(session, actor, inquiry_id), get(session, actor, other_id)
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
    pending = list(session.exec(planned(keep)))
    for extra in pending[1:]:
        session.delete(extra)
    if keep.status in (Status.ENROLLED.value, Status.LOST.value):
        drop_pending(session, keep)
    else:
        keep.next_follow_up_date = pending[0].follow_up_date if pending else None
    audit.on(session, actor, "crm.merge", keep.id, snapshot, target_type="inquiry")
    touch(session, keep)
    return keep
