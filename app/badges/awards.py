"""Awarding and revoking badges, with progression (a skill when its minis are done, a program when its skills are) and the review queue."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.academics.models import Batch, BatchMembership, Student
from app.badges.catalog import badge_internal
from app.badges.common import STAFF, new_credential_id
from app.badges.models import (
    Badge,
    BadgeAward,
    BadgeKind,
)
from app.core import audit, clock, db
from app.core.errors import Conflict, PermissionDenied, ValidationError
from app.core.ownership import get_owned, owned
from app.core.roles import Role
from app.core.tenancy import Actor
from app.notify import service as notify_service


def _child_requirements(session: Session, institute_id: int, parent_ids: set[int]) -> dict:
    """How many active, required children each parent has (minis of a skill; skills and the
    capstone of a program). A program without an active capstone is left out: it is earned
    with its capstone, so until the catalog has one nobody completes it."""
    rows = session.exec(
        select(Badge.parent_id, Badge.kind, func.count(Badge.id))
        .where(
            Badge.institute_id == institute_id,
            col(Badge.parent_id).in_(parent_ids),
            col(Badge.active).is_(True),
            (Badge.kind != BadgeKind.MINI.value) | col(Badge.required).is_(True),
        )
        .group_by(Badge.parent_id, Badge.kind)
    ).all()
    needed: dict[int, int] = defaultdict(int)
    kinds: dict[int, set[str]] = defaultdict(set)
    for parent_id, kind, count in rows:
        needed[parent_id] += count
        kinds[parent_id].add(kind)
    return {
        parent_id: count
        for parent_id, count in needed.items()
        if BadgeKind.SKILL.value not in kinds[parent_id]
        or BadgeKind.CAPSTONE.value in kinds[parent_id]
    }


def grant_internal(
    session: Session,
    *,
    institute_id: int,
    pairs: set[tuple[int, int]],
    source: str,
    by_user_id: int | None = None,
    evidence: str | None = None,
    request_id: int | None = None,
) -> list[BadgeAward]:
    """Award (student, badge) pairs not yet awarded, then every higher badge they complete,
    in the same transaction. Existing awards (revoked ones too) are never repeated."""
    created: list[BadgeAward] = []
    while pairs:
        badge_ids = {b for _, b in pairs}
        existing = set(
            session.exec(
                select(BadgeAward.student_id, BadgeAward.badge_id).where(
                    BadgeAward.institute_id == institute_id,
                    col(BadgeAward.badge_id).in_(badge_ids),
                )
            ).all()
        )
        fresh = sorted(pairs - existing)
        now = clock.now()
        rows = _insert_awards(
            session,
            [
                {
                    "institute_id": institute_id,
                    "student_id": s,
                    "badge_id": b,
                    "awarded_at": now,
                    "awarded_by": by_user_id,
                    "source": source,
                    "request_id": request_id,
                    "evidence": evidence,
                    "credential_id": new_credential_id(),
                    "needs_review": False,
                }
                for s, b in fresh
            ],
        )
        created.extend(rows)
        if not rows:
            break
        # Progression: the parents of what was just awarded, completed by whom?
        parents = set(
            session.exec(
                select(Badge.parent_id).where(
                    col(Badge.id).in_({r.badge_id for r in rows}),
                    col(Badge.parent_id).is_not(None),
                )
            )
        )
        pairs = set()
        if not parents:
            break
        needed = _child_requirements(session, institute_id, parents)
        students = {r.student_id for r in rows}
        held = session.exec(
            select(BadgeAward.student_id, Badge.parent_id, func.count(BadgeAward.id))
            .join(Badge, Badge.id == BadgeAward.badge_id)
            .where(
                BadgeAward.institute_id == institute_id,
                col(BadgeAward.revoked_at).is_(None),
                col(BadgeAward.student_id).in_(students),
                col(Badge.parent_id).in_(parents),
                col(Badge.active).is_(True),
                (Badge.kind != BadgeKind.MINI.value) | col(Badge.required).is_(True),
            )
            .group_by(BadgeAward.student_id, Badge.parent_id)
        ).all()
        pairs = {
            (student_id, parent_id)
            for student_id, parent_id, count in held
            if needed.get(parent_id) and count >= needed[parent_id]
        }
        source, by_user_id, request_id = "progression", None, None
        evidence = "Earned every required badge beneath it."
    return created


def _insert_awards(session: Session, rows: list[dict]) -> list[BadgeAward]:
    """Insert awards (column dicts) in bulk; a concurrent replay that hits the unique key
    inserts nothing twice."""
    if not rows:
        return []
    try:
        with session.begin_nested():
            # A plain executemany (no RETURNING: drivers send it far faster), then the new rows
            # read back by what only they share: this call's timestamp and credential ids.
            session.execute(insert(BadgeAward), rows)
        ours = {r["credential_id"] for r in rows}
        found = session.scalars(
            select(BadgeAward).where(
                BadgeAward.institute_id == rows[0]["institute_id"],
                col(BadgeAward.badge_id).in_({r["badge_id"] for r in rows}),
                BadgeAward.awarded_at == rows[0]["awarded_at"],
            )
        )
        return sorted(
            (a for a in found if a.credential_id in ours), key=lambda a: (a.student_id, a.badge_id)
        )
    except IntegrityError:
        pass
    kept = []
    for row in rows:
        fresh = BadgeAward(**row)
        if db.add_unless_duplicate(session, fresh):
            kept.append(fresh)
    return kept


def _student_message(user_id: int, text: str, dedupe_key: str) -> dict:
    return {
        "channel": "in_app",
        "recipient": str(user_id),
        "recipient_user_id": user_id,
        "subject": "Badges",
        "text": text,
        "dedupe_key": dedupe_key,
    }


def notify_student(session: Session, student: Student, text: str, dedupe_key: str) -> None:
    if student.user_id is None:
        return
    notify_service.enqueue_internal(
        session,
        institute_id=student.institute_id,
        **_student_message(student.user_id, text, dedupe_key),
    )


def student_internal(session: Session, institute_id: int, student_id: int) -> Student:
    student = owned(session, Student, student_id, institute_id, "student")
    return student


def teacher_student_ids(institute_id: int, teacher_user_id: int):
    return (
        select(BatchMembership.student_id)
        .join(Batch, Batch.id == BatchMembership.batch_id)
        .where(
            BatchMembership.institute_id == institute_id,
            Batch.teacher_user_id == teacher_user_id,
            col(BatchMembership.left_on).is_(None),
        )
    )


def check_teaches(session: Session, actor: Actor, student_id: int) -> None:
    if actor.role != Role.TEACHER:
        return
    ids = teacher_student_ids(actor.institute_scope(), actor.user_id).where(
        BatchMembership.student_id == student_id
    )
    if session.exec(ids).first() is None:
        raise PermissionDenied("Only the student's teachers or an admin can do that.")


def award(
    session: Session,
    *,
    actor: Actor,
    student_id: int,
    badge_id: int,
    evidence: str | None = None,
) -> list[BadgeAward]:
    """Award a badge by hand (and every higher badge it completes); returns what was new."""
    actor.require(*STAFF)
    institute_id = actor.institute_scope()
    badge = badge_internal(session, institute_id, badge_id)
    student = student_internal(session, institute_id, student_id)
    check_teaches(session, actor, student_id)
    if not badge.active:
        raise ValidationError(f"{badge.name} is not active; activate it in the catalog first.")
    created = grant_internal(
        session,
        institute_id=institute_id,
        pairs={(student_id, badge_id)},
        source="manual",
        by_user_id=actor.user_id,
        evidence=(evidence or "").strip() or None,
    )
    if not created:
        raise Conflict(f"{student.name} already has the {badge.name} badge.")
    after_awards(session, actor, created)
    return created


def after_awards(session: Session, actor: Actor | None, created: list[BadgeAward]) -> None:
    if not created:
        return
    names = dict(
        session.exec(
            select(Badge.id, Badge.name).where(col(Badge.id).in_({a.badge_id for a in created}))
        ).all()
    )
    # In bulk: a rule run can award thousands at once.
    accounts = dict(
        session.exec(
            select(Student.id, Student.user_id).where(
                col(Student.id).in_({a.student_id for a in created})
            )
        ).all()
    )
    audit.record_many(
        session,
        actor=actor,
        action="badges.award",
        institute_id=created[0].institute_id,
        entries=[
            {
                "target_type": "badge_award",
                "target_id": a.id,
                "detail": {
                    "badge": names[a.badge_id],
                    "student_id": a.student_id,
                    "source": a.source,
                },
            }
            for a in created
        ],
    )
    # One message per student for everything this action earned them (a badge and the higher
    # badges it completed, or a night's rule awards), not one per badge.
    earned: dict[int, list[BadgeAward]] = defaultdict(list)
    for a in created:
        if accounts[a.student_id] is not None:
            earned[a.student_id].append(a)
    notify_service.enqueue_many_internal(
        session,
        institute_id=created[0].institute_id,
        messages=[
            _student_message(
                accounts[student_id],
                f"You earned the {_and([names[a.badge_id] for a in awards])} "
                f"badge{'s' if len(awards) > 1 else ''}.",
                f"badge_award:{min(a.id for a in awards)}",
            )
            for student_id, awards in earned.items()
        ],
    )


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def revoke(session: Session, *, actor: Actor, award_id: int, reason: str) -> BadgeAward:
    """Revoke an award with a reason; higher badges that depended on it are flagged for review,
    not revoked."""
    actor.require(*STAFF)
    institute_id = actor.institute_scope()
    award_row = owned(session, BadgeAward, award_id, institute_id, "award")
    check_teaches(session, actor, award_row.student_id)
    if award_row.revoked_at is not None:
        raise Conflict("This award was already revoked.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the badge is revoked.", field="reason")
    award_row.revoked_at, award_row.revoked_by = clock.now(), actor.user_id
    award_row.revoke_reason = reason[:1000]
    session.add(award_row)
    badge = session.get(Badge, award_row.badge_id)
    ancestors, parent_id = [], badge.parent_id
    while parent_id is not None:
        ancestors.append(parent_id)
        parent_id = session.get(Badge, parent_id).parent_id
    flagged = []
    if ancestors:
        for dependent in session.exec(
            select(BadgeAward).where(
                BadgeAward.institute_id == institute_id,
                BadgeAward.student_id == award_row.student_id,
                col(BadgeAward.badge_id).in_(ancestors),
                col(BadgeAward.revoked_at).is_(None),
            )
        ):
            dependent.needs_review = True
            dependent.review_note = f"{badge.name} was revoked: {reason}"[:1000]
            session.add(dependent)
            flagged.append(dependent.id)
    session.flush()
    audit.on(
        session,
        actor,
        "badges.revoke",
        award_row.id,
        {"badge": badge.name, "reason": reason, "flagged_for_review": flagged},
        target_type="badge_award",
    )
    notify_student(
        session,
        student_internal(session, institute_id, award_row.student_id),
        f"Your {badge.name} badge was revoked: {reason}",
        f"badge_revoke:{award_row.id}",
    )
    return award_row


def clear_review(session: Session, *, actor: Actor, award_id: int, note: str = "") -> BadgeAward:
    """Confirm an award flagged for review after a badge beneath it was revoked."""
    actor.require(*STAFF)
    award_row = get_owned(session, BadgeAward, actor, award_id, "award")
    check_teaches(session, actor, award_row.student_id)
    award_row.needs_review, award_row.review_note = False, (note or "").strip() or None
    audit.save_audited(
        session,
        award_row,
        "badges.review_cleared",
        actor=actor,
        target_type="badge_award",
        detail={"note": award_row.review_note},
    )
    return award_row
