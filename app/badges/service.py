"""Badges: the catalog, student requests and decisions, awards with automatic progression,
revocation that flags (never silently undoes) higher badges, the badge wall and the CSV export."""

from __future__ import annotations

import io
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.academics import service as academics_service
from app.academics.models import Batch, BatchMembership, Student, Subject, Topic
from app.badges.models import (
    Badge,
    BadgeAward,
    BadgeKind,
    BadgeRequest,
    RequestStatus,
    RuleKind,
)
from app.core import audit, clock, sheets
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.core.roles import Role
from app.core.tenancy import Actor
from app.inbox import service as inbox_service
from app.inbox.models import ActionType, Outcome
from app.notify import service as notify_service

STAFF = (Role.ADMIN, Role.TEACHER)
PARENT_KIND = {
    BadgeKind.PROGRAM: None,
    BadgeKind.SKILL: BadgeKind.PROGRAM,
    BadgeKind.CAPSTONE: BadgeKind.PROGRAM,
    BadgeKind.MINI: BadgeKind.SKILL,
}
REDACTED = "[redacted]"


def new_credential_id() -> str:
    """An unguessable public id for an award (256 bits of randomness)."""
    return secrets.token_urlsafe(32)


# ------------------------------------------------------------------ catalog


def _badge(session: Session, institute_id: int, badge_id: int) -> Badge:
    badge = session.get(Badge, badge_id)
    if badge is None or badge.institute_id != institute_id:
        raise NotFound("That badge does not exist.")
    return badge


def _check_rule(session: Session, institute_id: int, kind: str, rule: dict | None) -> dict:
    """Validate an automatic rule and return the columns it sets."""
    empty = {
        "rule_kind": None,
        "rule_threshold": None,
        "rule_topic_ids": None,
        "rule_subject_id": None,
        "rule_batch_id": None,
    }
    if not rule or not rule.get("kind"):
        return empty
    if kind not in (BadgeKind.MINI, BadgeKind.CAPSTONE):
        raise ValidationError(
            "Only mini-badges and capstones can have an automatic rule; skill and program "
            "badges follow from them.",
            field="rule",
        )
    try:
        rule_kind = RuleKind(rule["kind"])
    except ValueError:
        raise ValidationError(
            "Choose a rule: topic competency, assessment or attendance."
        ) from None
    try:
        threshold = float(rule.get("threshold"))
    except (TypeError, ValueError):
        raise ValidationError("Give the rule a number to reach.", field="threshold") from None
    topic_ids = [int(t) for t in (rule.get("topic_ids") or [])]
    subject_id = rule.get("subject_id")
    batch_id = rule.get("batch_id")
    if topic_ids:
        found = set(
            session.exec(
                select(Topic.id).where(
                    Topic.institute_id == institute_id, col(Topic.id).in_(topic_ids)
                )
            )
        )
        if found != set(topic_ids):
            raise ValidationError("One of the chosen topics does not exist.", field="topic_ids")
    if rule_kind == RuleKind.TOPIC_COMPETENCY:
        if not topic_ids:
            raise ValidationError("List the topics the competency rule is about.", "topic_ids")
        if not 0 < threshold <= 5:
            raise ValidationError("Topic competency is between 0 and 5.", field="threshold")
        subject_id = batch_id = None
    elif rule_kind == RuleKind.ASSESSMENT_PERCENT:
        if not (subject_id or topic_ids):
            raise ValidationError("Choose the subject or topics the assessments are on.", "rule")
        if subject_id:
            subject = session.get(Subject, int(subject_id))
            if subject is None or subject.institute_id != institute_id:
                raise ValidationError("That subject does not exist.", field="subject_id")
        if not 0 < threshold <= 100:
            raise ValidationError("The assessment percentage is 1 to 100.", field="threshold")
        batch_id = None
    else:
        batch = session.get(Batch, int(batch_id)) if batch_id else None
        if batch is None or batch.institute_id != institute_id:
            raise ValidationError("Choose the batch whose attendance counts.", field="batch_id")
        if not 0 < threshold <= 100:
            raise ValidationError("The attendance percentage is 1 to 100.", field="threshold")
        subject_id, topic_ids = None, []
    return {
        "rule_kind": rule_kind.value,
        "rule_threshold": threshold,
        "rule_topic_ids": topic_ids or None,
        "rule_subject_id": int(subject_id) if subject_id else None,
        "rule_batch_id": int(batch_id) if batch_id else None,
    }


def _check_parent(session: Session, institute_id: int, kind: str, parent_id: int | None) -> None:
    wanted = PARENT_KIND[BadgeKind(kind)]
    if wanted is None:
        if parent_id is not None:
            raise ValidationError("A program is the top of the tree; it has no parent.")
        return
    if parent_id is None:
        raise ValidationError(f"Choose the {wanted.value} this {kind} belongs to.", field="parent")
    parent = _badge(session, institute_id, parent_id)
    if parent.kind != wanted.value:
        raise ValidationError(f"A {kind} belongs to a {wanted.value}, not a {parent.kind}.")


def create_badge(
    session: Session,
    *,
    actor: Actor,
    kind: str,
    name: str,
    parent_id: int | None = None,
    description: str = "",
    criteria: str = "",
    emoji: str = "🏅",
    colour: str = "#4f46e5",
    required: bool = True,
    position: int | None = None,
    rule: dict | None = None,
) -> Badge:
    """Add a program, skill, mini-badge or capstone to the institute's catalog."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    try:
        kind = BadgeKind(kind).value
    except ValueError:
        raise ValidationError("A badge is a program, skill, mini-badge or capstone.") from None
    name = (name or "").strip()
    if not name:
        raise ValidationError("The badge needs a name.", field="name")
    _check_parent(session, institute_id, kind, parent_id)
    same_name = select(Badge.id).where(
        Badge.institute_id == institute_id, func.lower(Badge.name) == name.lower()
    )
    same_name = same_name.where(
        Badge.parent_id == parent_id if parent_id else col(Badge.parent_id).is_(None)
    )
    if session.exec(same_name).first():
        raise Conflict(f"There is already a badge called {name} here.", field="name")
    if (
        kind == BadgeKind.CAPSTONE
        and session.exec(
            select(Badge.id).where(
                Badge.institute_id == institute_id,
                Badge.parent_id == parent_id,
                Badge.kind == BadgeKind.CAPSTONE.value,
            )
        ).first()
    ):
        raise Conflict("This program already has its capstone; edit that one instead.")
    if position is None:
        position = (
            session.exec(
                select(func.count(Badge.id)).where(
                    Badge.institute_id == institute_id, Badge.parent_id == parent_id
                )
            ).one()
            or 0
        )
    badge = Badge(
        institute_id=institute_id,
        kind=kind,
        parent_id=parent_id,
        name=name,
        description=(description or "").strip(),
        criteria=(criteria or "").strip(),
        emoji=(emoji or "🏅").strip()[:16],
        colour=(colour or "#4f46e5").strip()[:9],
        required=bool(required),
        position=int(position),
        **_check_rule(session, institute_id, kind, rule),
    )
    session.add(badge)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="badges.create",
        target_type="badge",
        target_id=badge.id,
        detail={"kind": kind, "name": name, "rule": badge.rule_kind},
    )
    return badge


EDITABLE = ("name", "description", "criteria", "emoji", "colour", "required", "active", "position")


def update_badge(
    session: Session, *, actor: Actor, badge_id: int, rule: dict | None = None, **fields
) -> Badge:
    """Edit a badge's text, look, ordering, active flag or rule (pass rule={} to remove it)."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    badge = _badge(session, institute_id, badge_id)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"These cannot be edited: {', '.join(sorted(unknown))}.")
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if not fields["name"]:
            raise ValidationError("The badge needs a name.", field="name")
    for key, value in fields.items():
        setattr(badge, key, value.strip() if isinstance(value, str) else value)
    if rule is not None:
        for key, value in _check_rule(session, institute_id, badge.kind, rule).items():
            setattr(badge, key, value)
    session.add(badge)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="badges.update",
        target_type="badge",
        target_id=badge.id,
        detail={"fields": sorted(fields), "rule": badge.rule_kind},
    )
    return badge


def catalog(session: Session, *, actor: Actor, include_inactive: bool = False) -> list[Badge]:
    """The catalog in tree order (programs, then each one's skills/minis/capstone by position)."""
    institute_id = actor.institute_scope()
    if actor.role == Role.STUDENT:
        include_inactive = False
    query = select(Badge).where(Badge.institute_id == institute_id)
    if not include_inactive:
        query = query.where(col(Badge.active).is_(True))
    badges = list(session.exec(query.order_by(Badge.position, Badge.id)))
    children: dict[int | None, list[Badge]] = defaultdict(list)
    for b in badges:
        children[b.parent_id].append(b)
    ordered: list[Badge] = []

    def walk(parent: int | None) -> None:
        for b in children.get(parent, []):
            ordered.append(b)
            walk(b.id)

    walk(None)
    return ordered


# ------------------------------------------------------------------ awards and progression


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


def _grant(
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
        try:
            with session.begin_nested():
                session.add(fresh)
                session.flush()
            kept.append(fresh)
        except IntegrityError:
            continue
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


def _notify_student(session: Session, student: Student, text: str, dedupe_key: str) -> None:
    if student.user_id is None:
        return
    notify_service.enqueue_internal(
        session,
        institute_id=student.institute_id,
        **_student_message(student.user_id, text, dedupe_key),
    )


def _student(session: Session, institute_id: int, student_id: int) -> Student:
    student = session.get(Student, student_id)
    if student is None or student.institute_id != institute_id:
        raise NotFound("That student does not exist.")
    return student


def _teacher_student_ids(institute_id: int, teacher_user_id: int):
    return (
        select(BatchMembership.student_id)
        .join(Batch, Batch.id == BatchMembership.batch_id)
        .where(
            BatchMembership.institute_id == institute_id,
            Batch.teacher_user_id == teacher_user_id,
            col(BatchMembership.left_on).is_(None),
        )
    )


def _check_teaches(session: Session, actor: Actor, student_id: int) -> None:
    if actor.role != Role.TEACHER:
        return
    ids = _teacher_student_ids(actor.institute_scope(), actor.user_id).where(
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
    badge = _badge(session, institute_id, badge_id)
    student = _student(session, institute_id, student_id)
    _check_teaches(session, actor, student_id)
    if not badge.active:
        raise ValidationError(f"{badge.name} is not active; activate it in the catalog first.")
    created = _grant(
        session,
        institute_id=institute_id,
        pairs={(student_id, badge_id)},
        source="manual",
        by_user_id=actor.user_id,
        evidence=(evidence or "").strip() or None,
    )
    if not created:
        raise Conflict(f"{student.name} already has the {badge.name} badge.")
    _after_awards(session, actor, created)
    return created


def _after_awards(session: Session, actor: Actor | None, created: list[BadgeAward]) -> None:
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
    award_row = session.get(BadgeAward, award_id)
    if award_row is None or award_row.institute_id != institute_id:
        raise NotFound("That award does not exist.")
    _check_teaches(session, actor, award_row.student_id)
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
    audit.record(
        session,
        actor=actor,
        action="badges.revoke",
        target_type="badge_award",
        target_id=award_row.id,
        detail={"badge": badge.name, "reason": reason, "flagged_for_review": flagged},
    )
    _notify_student(
        session,
        _student(session, institute_id, award_row.student_id),
        f"Your {badge.name} badge was revoked: {reason}",
        f"badge_revoke:{award_row.id}",
    )
    return award_row


def clear_review(session: Session, *, actor: Actor, award_id: int, note: str = "") -> BadgeAward:
    """Confirm an award flagged for review after a badge beneath it was revoked."""
    actor.require(*STAFF)
    award_row = session.get(BadgeAward, award_id)
    if award_row is None or award_row.institute_id != actor.institute_scope():
        raise NotFound("That award does not exist.")
    _check_teaches(session, actor, award_row.student_id)
    award_row.needs_review, award_row.review_note = False, (note or "").strip() or None
    session.add(award_row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="badges.review_cleared",
        target_type="badge_award",
        target_id=award_row.id,
        detail={"note": award_row.review_note},
    )
    return award_row


# ------------------------------------------------------------------ requests


def my_student(session: Session, *, actor: Actor) -> Student:
    """The signed-in student's record; refused when the account has none linked."""
    return academics_service.my_student(session, actor=actor)


def has_student_record(session: Session, *, actor: Actor) -> bool:
    """Whether the signed-in student's account is linked to a student record."""
    actor.require(Role.STUDENT)
    return (
        session.exec(
            select(Student.id).where(
                Student.institute_id == actor.institute_scope(), Student.user_id == actor.user_id
            )
        ).first()
        is not None
    )


def request_badge(
    session: Session,
    *,
    actor: Actor,
    badge_id: int,
    evidence_text: str = "",
    evidence_url: str | None = None,
) -> BadgeRequest:
    """A student asks for a badge with evidence; it waits in the teachers' inbox."""
    student = my_student(session, actor=actor)
    institute_id = student.institute_id
    badge = _badge(session, institute_id, badge_id)
    if not badge.active:
        raise ValidationError(f"{badge.name} is not open for requests.")
    if badge.kind not in (BadgeKind.MINI.value, BadgeKind.CAPSTONE.value):
        raise ValidationError(
            f"{badge.name} is earned by completing the badges beneath it; request those instead."
        )
    evidence_text = (evidence_text or "").strip()
    evidence_url = (evidence_url or "").strip() or None
    if not evidence_text and not evidence_url:
        raise ValidationError("Describe your evidence or give a link to it.", field="evidence")
    if evidence_url and not evidence_url.lower().startswith(("https://", "http://")):
        raise ValidationError("The evidence link must start with https://.", field="evidence_url")
    if session.exec(
        select(BadgeAward.id).where(
            BadgeAward.institute_id == institute_id,
            BadgeAward.student_id == student.id,
            BadgeAward.badge_id == badge.id,
        )
    ).first():
        raise Conflict(f"You already have the {badge.name} badge.")
    if session.exec(
        select(BadgeRequest.id).where(
            BadgeRequest.institute_id == institute_id,
            BadgeRequest.student_id == student.id,
            BadgeRequest.badge_id == badge.id,
            BadgeRequest.status == RequestStatus.PENDING.value,
        )
    ).first():
        raise Conflict(f"Your request for {badge.name} is still waiting for a teacher.")
    req = BadgeRequest(
        institute_id=institute_id,
        student_id=student.id,
        badge_id=badge.id,
        evidence_text=evidence_text[:2000],
        evidence_url=evidence_url,
    )
    try:
        # Two clicks (or two tabs) at once: the partial unique index keeps one pending request.
        with session.begin_nested():
            session.add(req)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"Your request for {badge.name} is still waiting for a teacher.") from exc
    batch_id = session.exec(
        select(BatchMembership.batch_id)
        .where(
            BatchMembership.institute_id == institute_id,
            BatchMembership.student_id == student.id,
            col(BatchMembership.left_on).is_(None),
        )
        .order_by(BatchMembership.batch_id)
    ).first()
    inbox_service.open_action_internal(
        session,
        institute_id=institute_id,
        type=ActionType.BADGE_REQUEST.value,
        reason=f"{student.name} requests the {badge.name} badge.",
        dedupe_key=f"badge_request:{req.id}",
        student_id=student.id,
        batch_id=batch_id,
    )
    audit.record(
        session,
        actor=actor,
        action="badges.request",
        target_type="badge_request",
        target_id=req.id,
        detail={"badge": badge.name},
    )
    return req


@dataclass(frozen=True)
class RequestRow:
    id: int
    student_id: int
    student: str
    badge_id: int
    badge: str
    kind: str
    evidence_text: str
    evidence_url: str | None
    status: str
    created_at: datetime
    reason: str | None
    decided_at: datetime | None


def _request_rows(session: Session, query) -> list[RequestRow]:
    rows = session.exec(
        query.join(Student, Student.id == BadgeRequest.student_id)
        .join(Badge, Badge.id == BadgeRequest.badge_id)
        .order_by(col(BadgeRequest.created_at).desc(), col(BadgeRequest.id).desc())
    ).all()
    return [
        RequestRow(
            id=r.id,
            student_id=r.student_id,
            student=name,
            badge_id=r.badge_id,
            badge=badge,
            kind=kind,
            evidence_text=r.evidence_text,
            evidence_url=r.evidence_url,
            status=r.status,
            created_at=r.created_at,
            reason=r.reason,
            decided_at=r.decided_at,
        )
        for r, name, badge, kind in rows
    ]


def list_requests(
    session: Session,
    *,
    actor: Actor,
    status: str | None = RequestStatus.PENDING.value,
    badge_id: int | None = None,
    batch_id: int | None = None,
    search: str | None = None,
    limit: int = 200,
) -> list[RequestRow]:
    """The request queue: admins see all, teachers their batches' students, students their own."""
    institute_id = actor.institute_scope()
    query = select(BadgeRequest, Student.name, Badge.name, Badge.kind).where(
        BadgeRequest.institute_id == institute_id
    )
    if actor.role == Role.STUDENT:
        query = query.where(BadgeRequest.student_id == my_student(session, actor=actor).id)
    else:
        actor.require(*STAFF)
        if actor.role == Role.TEACHER:
            query = query.where(
                col(BadgeRequest.student_id).in_(_teacher_student_ids(institute_id, actor.user_id))
            )
    if status:
        query = query.where(BadgeRequest.status == status)
    if badge_id:
        query = query.where(BadgeRequest.badge_id == badge_id)
    if batch_id:
        members = select(BatchMembership.student_id).where(
            BatchMembership.institute_id == institute_id, BatchMembership.batch_id == batch_id
        )
        query = query.where(col(BadgeRequest.student_id).in_(members))
    if search and search.strip():
        query = query.where(func.lower(Student.name).contains(search.strip().lower()))
    return _request_rows(session, query.limit(limit))


def decide(
    session: Session,
    *,
    actor: Actor,
    request_id: int,
    approve: bool,
    reason: str = "",
) -> BadgeRequest:
    """Approve (award, with progression) or reject (a reason is required) a pending request;
    the inbox action is closed and the student told in the app."""
    actor.require(*STAFF)
    institute_id = actor.institute_scope()
    req = session.get(BadgeRequest, request_id)
    if req is None or req.institute_id != institute_id:
        raise NotFound("That request does not exist.")
    _check_teaches(session, actor, req.student_id)
    if req.status != RequestStatus.PENDING.value:
        raise Conflict(f"This request was already {req.status}.")
    reason = (reason or "").strip()
    if not approve and not reason:
        raise ValidationError("Tell the student why the request is rejected.", field="reason")
    badge = _badge(session, institute_id, req.badge_id)
    student = _student(session, institute_id, req.student_id)
    req.status = RequestStatus.APPROVED.value if approve else RequestStatus.REJECTED.value
    req.decided_by, req.decided_at, req.reason = actor.user_id, clock.now(), reason or None
    session.add(req)
    session.flush()
    created: list[BadgeAward] = []
    if approve:
        created = _grant(
            session,
            institute_id=institute_id,
            pairs={(req.student_id, req.badge_id)},
            source="request",
            by_user_id=actor.user_id,
            evidence="\n".join(x for x in (req.evidence_text, req.evidence_url or "") if x) or None,
            request_id=req.id,
        )
    audit.record(
        session,
        actor=actor,
        action="badges.request_" + req.status,
        target_type="badge_request",
        target_id=req.id,
        detail={"badge": badge.name, "student_id": student.id, "reason": reason or None},
    )
    _close_inbox_action(session, actor, req, approve, reason)
    if approve:
        _after_awards(session, actor, created)
    else:
        _notify_student(
            session,
            student,
            f"Your request for the {badge.name} badge was not approved: {reason}",
            f"badge_request:{req.id}:rejected",
        )
    return req


def _close_inbox_action(
    session: Session, actor: Actor, req: BadgeRequest, approve: bool, reason: str
) -> None:
    action = inbox_service.open_action_internal(
        session,
        institute_id=req.institute_id,
        type=ActionType.BADGE_REQUEST.value,
        reason="Badge request",
        dedupe_key=f"badge_request:{req.id}",
        student_id=req.student_id,
    )
    if action.status != "open":
        return
    # The decision itself was authorised above (teacher of the student, or admin); the inbox
    # closes the action in the institute-wide scope so it closes whoever's inbox it sits in.
    closer = Actor(
        user_id=actor.user_id,
        role=Role.ADMIN,
        institute_id=req.institute_id,
        name=actor.name,
        source=actor.source,
    )
    note = ("Approved" if approve else "Rejected") + (f": {reason}" if reason else "")
    inbox_service.act(
        session, actor=closer, action_id=action.id, outcome=Outcome.RESOLVED.value, note=note
    )


# ------------------------------------------------------------------ badge wall


@dataclass(frozen=True)
class EarnedBadge:
    award_id: int
    badge_id: int
    name: str
    kind: str
    emoji: str
    colour: str
    awarded_at: datetime
    source: str
    credential_id: str
    revoked: bool
    needs_review: bool


@dataclass(frozen=True)
class Progress:
    badge_id: int
    name: str
    kind: str
    emoji: str
    earned: int
    needed: int
    missing: list[str]


@dataclass
class Wall:
    student_id: int
    student: str
    earned: list[EarnedBadge] = field(default_factory=list)
    progress: list[Progress] = field(default_factory=list)
    requestable: list[Badge] = field(default_factory=list)
    requests: list[RequestRow] = field(default_factory=list)


def wall(session: Session, *, actor: Actor, student_id: int | None = None) -> Wall:
    """A student's badges: earned, progress toward each skill and program, what can be requested."""
    institute_id = actor.institute_scope()
    if actor.role == Role.STUDENT:
        student = my_student(session, actor=actor)
    else:
        actor.require(*STAFF)
        if student_id is None:
            raise ValidationError("Choose a student.")
        student = _student(session, institute_id, student_id)
        academics_service.ensure_student_scope(session, actor=actor, student_id=student.id)
    badges = catalog(session, actor=actor)
    by_id = {b.id: b for b in badges}
    awards = list(
        session.exec(
            select(BadgeAward, Badge)
            .join(Badge, Badge.id == BadgeAward.badge_id)
            .where(BadgeAward.institute_id == institute_id, BadgeAward.student_id == student.id)
            .order_by(col(BadgeAward.awarded_at).desc())
        )
    )
    result = Wall(student_id=student.id, student=student.name)
    held: set[int] = set()
    for a, b in awards:
        result.earned.append(
            EarnedBadge(
                award_id=a.id,
                badge_id=b.id,
                name=b.name,
                kind=b.kind,
                emoji=b.emoji,
                colour=b.colour,
                awarded_at=a.awarded_at,
                source=a.source,
                credential_id=a.credential_id,
                revoked=a.revoked_at is not None,
                needs_review=a.needs_review,
            )
        )
        if a.revoked_at is None:
            held.add(b.id)
    children: dict[int, list[Badge]] = defaultdict(list)
    for b in badges:
        if b.parent_id is not None and (b.kind != BadgeKind.MINI.value or b.required):
            children[b.parent_id].append(b)
    for b in badges:
        if b.kind in (BadgeKind.SKILL.value, BadgeKind.PROGRAM.value) and b.id not in held:
            kids = children.get(b.id, [])
            if kids:
                result.progress.append(
                    Progress(
                        badge_id=b.id,
                        name=b.name,
                        kind=b.kind,
                        emoji=b.emoji,
                        earned=sum(1 for k in kids if k.id in held),
                        needed=len(kids),
                        missing=[k.name for k in kids if k.id not in held],
                    )
                )
    result.requests = (
        list_requests(session, actor=actor, status=None) if actor.role == Role.STUDENT else []
    )
    pending = {r.badge_id for r in result.requests if r.status == RequestStatus.PENDING.value}
    any_award = {a.badge_id for a, _ in awards}
    result.requestable = [
        b
        for b in badges
        if b.kind in (BadgeKind.MINI.value, BadgeKind.CAPSTONE.value)
        and b.id not in any_award
        and b.id not in pending
        and (b.parent_id is None or b.parent_id in by_id)
    ]
    return result


def my_award(session: Session, *, actor: Actor, award_id: int) -> BadgeAward:
    """An award the actor may see: a student their own, staff any in the institute."""
    institute_id = actor.institute_scope()
    row = session.get(BadgeAward, award_id)
    if row is None or row.institute_id != institute_id:
        raise NotFound("That award does not exist.")
    if actor.role == Role.STUDENT:
        if row.student_id != my_student(session, actor=actor).id:
            raise NotFound("That award does not exist.")
    else:
        actor.require(*STAFF, Role.COUNSELOR)
        try:
            academics_service.ensure_student_scope(session, actor=actor, student_id=row.student_id)
        except NotFound:
            raise NotFound("That award does not exist.") from None
    return row


def list_awards(
    session: Session,
    *,
    actor: Actor,
    badge_id: int | None = None,
    student_id: int | None = None,
    needs_review: bool = False,
) -> list[dict]:
    """Awards of the institute for staff (student name, badge, status), newest first."""
    actor.require(*STAFF)
    institute_id = actor.institute_scope()
    query = (
        select(BadgeAward, Student.name, Badge.name)
        .join(Student, Student.id == BadgeAward.student_id)
        .join(Badge, Badge.id == BadgeAward.badge_id)
        .where(BadgeAward.institute_id == institute_id)
    )
    if badge_id:
        query = query.where(BadgeAward.badge_id == badge_id)
    if student_id:
        query = query.where(BadgeAward.student_id == student_id)
    if needs_review:
        query = query.where(col(BadgeAward.needs_review).is_(True))
    if actor.role == Role.TEACHER:
        query = query.where(
            col(BadgeAward.student_id).in_(_teacher_student_ids(institute_id, actor.user_id))
        )
    rows = session.exec(query.order_by(col(BadgeAward.awarded_at).desc()).limit(500)).all()
    return [
        {
            "award_id": a.id,
            "student": s,
            "badge": b,
            "awarded_at": a.awarded_at,
            "source": a.source,
            "status": _status(a),
            "review_note": a.review_note,
        }
        for a, s, b in rows
    ]


def _status(a: BadgeAward) -> str:
    if a.revoked_at is not None:
        return "revoked"
    return "needs review" if a.needs_review else "valid"


# ------------------------------------------------------------------ export

EXPORT_COLUMNS = [
    "credential_id",
    "enrollment_no",
    "name",
    "email",
    "phone",
    "badge",
    "kind",
    "awarded_at",
    "source",
    "status",
    "revoked_at",
    "revoke_reason",
]


def export_awards_csv(session: Session, *, actor: Actor, include_personal: bool = False) -> str:
    """All awards as CSV; name, email and phone are redacted unless asked for (which is audited)."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    rows = session.exec(
        select(BadgeAward, Student, Badge)
        .join(Student, Student.id == BadgeAward.student_id)
        .join(Badge, Badge.id == BadgeAward.badge_id)
        .where(BadgeAward.institute_id == institute_id)
        .order_by(BadgeAward.awarded_at, BadgeAward.id)
    ).all()
    out = io.StringIO()
    writer = sheets.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for a, s, b in rows:
        row = {
            "credential_id": a.credential_id,
            "enrollment_no": s.enrollment_no,
            "name": s.name if include_personal else REDACTED,
            "email": (s.email or "") if include_personal else REDACTED,
            "phone": (s.phone or "") if include_personal else REDACTED,
            "badge": b.name,
            "kind": b.kind,
            "awarded_at": a.awarded_at.isoformat(),
            "source": a.source,
            "status": _status(a),
            "revoked_at": a.revoked_at.isoformat() if a.revoked_at else "",
            "revoke_reason": a.revoke_reason or "",
        }
        writer.writerow([row[column] for column in EXPORT_COLUMNS])
    audit.record(
        session,
        actor=actor,
        action="badges.export_personal" if include_personal else "badges.export",
        target_type="badge_award",
        detail={"rows": len(rows), "include_personal": include_personal},
    )
    return out.getvalue()


@dataclass(frozen=True)
class RuleChoices:
    subjects: dict[int, str]
    topics: dict[int, str]
    batches: dict[int, str]


def rule_choices(session: Session, *, actor: Actor) -> RuleChoices:
    """What an automatic rule can point at: the institute's subjects, topics and batches."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    subjects = dict(
        session.exec(
            select(Subject.id, Subject.name)
            .where(Subject.institute_id == institute_id)
            .order_by(Subject.name)
        ).all()
    )
    topics = {
        tid: f"{subjects.get(sid, '?')}: {name}"
        for tid, sid, name in session.exec(
            select(Topic.id, Topic.subject_id, Topic.name)
            .where(Topic.institute_id == institute_id)
            .order_by(Topic.subject_id, Topic.position, Topic.id)
        ).all()
    }
    batches = dict(
        session.exec(
            select(Batch.id, Batch.name)
            .where(Batch.institute_id == institute_id)
            .order_by(Batch.name)
        ).all()
    )
    return RuleChoices(subjects=subjects, topics=topics, batches=batches)
