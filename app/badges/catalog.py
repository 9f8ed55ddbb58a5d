"""The badge catalogue: programs, skills, minis and capstones, their criteria and rules."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.academics.models import Batch, Subject, Topic
from app.badges.common import PARENT_KIND
from app.badges.models import (
    Badge,
    BadgeKind,
    RuleKind,
)
from app.core import audit
from app.core.errors import Conflict, ValidationError
from app.core.ownership import find_owned, owned
from app.core.roles import Role
from app.core.tenancy import Actor


def badge_internal(session: Session, institute_id: int, badge_id: int) -> Badge:
    badge = owned(session, Badge, badge_id, institute_id, "badge")
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
            if find_owned(session, Subject, int(subject_id), institute_id) is None:
                raise ValidationError("That subject does not exist.", field="subject_id")
        if not 0 < threshold <= 100:
            raise ValidationError("The assessment percentage is 1 to 100.", field="threshold")
        batch_id = None
    else:
        if find_owned(session, Batch, int(batch_id) if batch_id else None, institute_id) is None:
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
    parent = badge_internal(session, institute_id, parent_id)
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
    audit.save_audited(
        session,
        badge,
        "badges.create",
        actor=actor,
        target_type="badge",
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
    badge = badge_internal(session, institute_id, badge_id)
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
    audit.save_audited(
        session,
        badge,
        "badges.update",
        actor=actor,
        target_type="badge",
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
