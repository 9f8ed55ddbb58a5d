"""The awards as a spreadsheet (personal data redacted unless asked)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from app.academics.models import Batch, Student, Subject, Topic
from app.badges.common import REDACTED
from app.badges.models import (
    Badge,
    BadgeAward,
)
from app.badges.wall import award_status
from app.core import audit, sheets
from app.core.roles import Role
from app.core.tenancy import Actor

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
            "status": award_status(a),
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

    def by_name(model: Any) -> dict[int, str]:
        """The institute's subjects or batches: name by id, in name order."""
        query = select(model.id, model.name).where(model.institute_id == institute_id)
        return dict(session.exec(query.order_by(model.name)).all())

    subjects = by_name(Subject)
    topics = {
        tid: f"{subjects.get(sid, '?')}: {name}"
        for tid, sid, name in session.exec(
            select(Topic.id, Topic.subject_id, Topic.name)
            .where(Topic.institute_id == institute_id)
            .order_by(Topic.subject_id, Topic.position, Topic.id)
        ).all()
    }
    batches = by_name(Batch)
    return RuleChoices(subjects=subjects, topics=topics, batches=batches)
