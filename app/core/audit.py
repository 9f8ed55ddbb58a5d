"""Append-only audit log: who did what to which thing, in which institute, when (UTC), from where.

Rows are only ever inserted; on PostgreSQL and SQLite a trigger refuses UPDATE and DELETE.
Details never carry passwords, codes or tokens: such keys are dropped before writing.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Column, Index, Select, insert, text
from sqlmodel import Field, Session, SQLModel, col, func, select

from app.core import clock, models_base, sheets  # noqa: F401  (naming convention first)
from app.core.errors import ValidationError
from app.core.roles import Role
from app.core.tenancy import Actor

_SECRET_MARKERS = ("password", "passcode", "code", "otp", "secret", "token", "hash")


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_institute_id_at", "institute_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    institute_id: int | None = Field(default=None, foreign_key="institutes.id")
    at: datetime = Field(default_factory=clock.now)
    actor_user_id: int | None = Field(default=None)
    actor_role: str | None = Field(default=None, max_length=20)
    actor_name: str | None = Field(default=None, max_length=200)
    action: str = Field(max_length=80)
    target_type: str | None = Field(default=None, max_length=40)
    target_id: str | None = Field(default=None, max_length=80)
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    source: str | None = Field(default=None, max_length=120)


def _scrub(detail: dict[str, Any] | None) -> dict[str, Any] | None:
    if not detail:
        return None
    clean: dict[str, Any] = {}
    for key, value in detail.items():
        if any(marker in key.lower() for marker in _SECRET_MARKERS):
            continue
        clean[key] = _scrub(value) if isinstance(value, dict) else value
    return clean


def record(
    session: Session,
    *,
    actor: Actor | None,
    action: str,
    target_type: str | None = None,
    target_id: object | None = None,
    detail: dict[str, Any] | None = None,
    institute_id: int | None = None,
    source: str | None = None,
    at: datetime | None = None,
) -> AuditLog:
    """Add one audit row inside the caller's transaction (`at`: a coarser time than now, for
    events that must not be matched to a person by their exact time)."""
    entry = AuditLog(
        institute_id=institute_id
        if institute_id is not None
        else (actor.institute_id if actor else None),
        at=at or clock.now(),
        actor_user_id=actor.user_id if actor else None,
        actor_role=str(actor.role) if actor else None,
        actor_name=actor.name if actor else None,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        detail=_scrub(detail),
        source=source or (actor.source if actor else None),
    )
    session.add(entry)
    session.flush()
    return entry


def on(
    session: Session,
    actor: Actor | None,
    action: str,
    target_id: object,
    detail: dict[str, Any] | None = None,
    *,
    target_type: str | None = None,
    institute_id: int | None = None,
    source: str | None = None,
) -> AuditLog:
    """`record` an action on one target, whose type is the one the action starts with
    ("batch.create" → "batch") unless given."""
    return record(
        session,
        actor=actor,
        action=action,
        target_type=target_type or action.split(".", 1)[0],
        target_id=target_id,
        detail=detail,
        institute_id=institute_id,
        source=source,
    )


def save_audited(
    session: Session,
    row: Any,
    action: str,
    *,
    actor: Actor | None,
    target_type: str | None = None,
    detail: dict[str, Any] | None = None,
    institute_id: int | None = None,
) -> None:
    """Save `row` (added and flushed, so it has its id) and audit `action` on it; the target
    type is the one the action starts with ("batch.create" → "batch") unless given."""
    session.add(row)
    session.flush()
    on(session, actor, action, row.id, detail, target_type=target_type, institute_id=institute_id)


def record_many(
    session: Session,
    *,
    actor: Actor | None,
    action: str,
    entries: list[dict[str, Any]],
    institute_id: int | None = None,
    source: str | None = None,
) -> int:
    """Add many audit rows of one action in bulk (each entry: target_type, target_id, detail)
    inside the caller's transaction; for jobs that act on thousands of rows at once."""
    if not entries:
        return 0
    at = clock.now()
    base = {
        "institute_id": institute_id
        if institute_id is not None
        else (actor.institute_id if actor else None),
        "at": at,
        "actor_user_id": actor.user_id if actor else None,
        "actor_role": str(actor.role) if actor else None,
        "actor_name": actor.name if actor else None,
        "action": action,
        "source": source or (actor.source if actor else None),
    }
    rows = [
        base
        | {
            "target_type": e.get("target_type"),
            "target_id": None if e.get("target_id") is None else str(e["target_id"]),
            "detail": _scrub(e.get("detail")),
        }
        for e in entries
    ]
    for start in range(0, len(rows), 1000):
        session.execute(insert(AuditLog), rows[start : start + 1000])
    return len(rows)


def list_entries(
    session: Session,
    *,
    actor: Actor,
    action_prefix: str | None = None,
    user_id: int | None = None,
    limit: int = 200,
) -> list[AuditLog]:
    """The actor's institute's audit entries, newest first (super_admin: all). Admins only."""
    actor.require(Role.ADMIN, Role.SUPER_ADMIN)
    query = select(AuditLog)
    if not actor.is_super_admin:
        query = query.where(AuditLog.institute_id == actor.institute_id)
    if action_prefix:
        query = query.where(col(AuditLog.action).startswith(action_prefix))
    if user_id is not None:
        query = query.where(AuditLog.actor_user_id == user_id)
    return list(session.exec(query.order_by(col(AuditLog.id).desc()).limit(limit)))


def count_entries(session: Session, *, actor: Actor, action: str) -> int:
    actor.require(Role.ADMIN, Role.SUPER_ADMIN)
    query = select(func.count()).select_from(AuditLog).where(AuditLog.action == action)
    if not actor.is_super_admin:
        query = query.where(AuditLog.institute_id == actor.institute_id)
    return int(session.exec(query).one())


# The audit log viewer ------------------------------------------------------------------------

EXPORT_COLUMNS = [
    "id",
    "at_utc",
    "institute_id",
    "actor_user_id",
    "actor_role",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "detail",
    "source",
]


@dataclass(frozen=True)
class AuditFilter:
    """What the viewer asks for. Dates are whole days in the institute's timezone (UTC when a
    super admin looks across every institute); `action` ending in "." is a prefix."""

    institute_id: int | None = None
    user_id: int | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def described(self) -> dict[str, Any]:
        return {
            "institute_id": self.institute_id,
            "user_id": self.user_id,
            "action": self.action,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
        }


@dataclass(frozen=True)
class AuditPage:
    """One page of matching entries, newest first, and how many match in all."""

    entries: list[AuditLog]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class AuditChoices:
    """What the filters can offer: the actions and the people seen in the actor's scope."""

    actions: list[str]
    users: dict[int, str]


def _scope(actor: Actor, institute_id: int | None) -> int | None:
    actor.require(Role.ADMIN, Role.SUPER_ADMIN)
    if actor.is_super_admin:
        return institute_id
    return actor.institute_scope(institute_id)


def _timezone(session: Session, institute_id: int | None) -> ZoneInfo:
    if institute_id is None:
        return ZoneInfo("UTC")
    name = session.execute(
        text("select timezone from institutes where id = :i"), {"i": institute_id}
    ).scalar()
    return ZoneInfo(name or "UTC")


def _filtered(session: Session, actor: Actor, filters: AuditFilter) -> Select:
    scope = _scope(actor, filters.institute_id)
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ValidationError("The start date is after the end date.", field="date_from")
    query = select(AuditLog)
    if scope is not None:
        query = query.where(AuditLog.institute_id == scope)
    if filters.user_id is not None:
        query = query.where(AuditLog.actor_user_id == filters.user_id)
    if filters.action:
        query = query.where(
            col(AuditLog.action).startswith(filters.action, autoescape=True)
            if filters.action.endswith(".")
            else AuditLog.action == filters.action
        )
    tz = _timezone(session, scope)
    if filters.date_from:
        start = datetime.combine(filters.date_from, dtime.min, tzinfo=tz).astimezone(UTC)
        query = query.where(AuditLog.at >= start)
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), dtime.min, tzinfo=tz)
        query = query.where(AuditLog.at < end.astimezone(UTC))
    return query


def viewer_today(session: Session, *, actor: Actor, institute_id: int | None = None) -> date:
    """Today in the timezone the viewer's dates are read in: the institute's (for the super
    admin, the chosen institute's; with none chosen, UTC)."""
    scope = institute_id if actor.is_super_admin else actor.institute_scope()
    return clock.now().astimezone(_timezone(session, scope)).date()


def search_entries(
    session: Session,
    *,
    actor: Actor,
    filters: AuditFilter | None = None,
    page: int = 1,
    page_size: int = 50,
) -> AuditPage:
    """One page of the audit log matching the filters, newest first (institute admin: their
    institute; super admin: every institute or the one chosen)."""
    filters = filters or AuditFilter()
    query = _filtered(session, actor, filters)
    total = int(session.exec(select(func.count()).select_from(query.subquery())).one())
    page_size = max(1, min(page_size, 500))
    last = max(1, -(-total // page_size))
    page = min(max(1, page), last)
    entries = list(
        session.exec(
            query.order_by(col(AuditLog.id).desc()).offset((page - 1) * page_size).limit(page_size)
        )
    )
    return AuditPage(entries=entries, total=total, page=page, page_size=page_size)


def filter_choices(
    session: Session, *, actor: Actor, institute_id: int | None = None
) -> AuditChoices:
    """The actions and people that appear in the actor's part of the audit log."""
    scope = _scope(actor, institute_id)
    actions = select(AuditLog.action).distinct().order_by(AuditLog.action)
    people = (
        select(AuditLog.actor_user_id, func.max(AuditLog.actor_name))
        .where(col(AuditLog.actor_user_id).is_not(None))
        .group_by(AuditLog.actor_user_id)
    )
    if scope is not None:
        actions = actions.where(AuditLog.institute_id == scope)
        people = people.where(AuditLog.institute_id == scope)
    users = {int(uid): name or f"user #{uid}" for uid, name in session.exec(people).all()}
    return AuditChoices(
        actions=list(session.exec(actions).all()),
        users=dict(sorted(users.items(), key=lambda item: item[1].lower())),
    )


def export_entries_csv(
    session: Session, *, actor: Actor, filters: AuditFilter | None = None
) -> str:
    """Every entry matching the filters as CSV, oldest first; the export itself is audited."""
    filters = filters or AuditFilter()
    query = _filtered(session, actor, filters).order_by(col(AuditLog.id))
    out = io.StringIO()
    writer = sheets.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    rows = 0
    result = session.execute(query, execution_options={"yield_per": 2000}).scalars()
    for entry in result:
        writer.writerow(
            [
                entry.id,
                entry.at.isoformat() if entry.at else "",
                "" if entry.institute_id is None else entry.institute_id,
                "" if entry.actor_user_id is None else entry.actor_user_id,
                entry.actor_role or "",
                entry.actor_name or "",
                entry.action,
                entry.target_type or "",
                entry.target_id or "",
                json.dumps(entry.detail, ensure_ascii=False, default=str) if entry.detail else "",
                entry.source or "",
            ]
        )
        rows += 1
    scope = _scope(actor, filters.institute_id)
    record(
        session,
        actor=actor,
        action="audit.export",
        target_type="audit_log",
        institute_id=scope,
        detail={"filters": filters.described(), "rows": rows},
    )
    return out.getvalue()
