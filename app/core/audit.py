"""Append-only audit log: who did what to which thing, in which institute, when (UTC), from where.

Rows are only ever inserted; on PostgreSQL and SQLite a trigger refuses UPDATE and DELETE.
Details never carry passwords, codes or tokens: such keys are dropped before writing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, insert
from sqlmodel import Field, Session, SQLModel, col, func, select

from app.core import clock, models_base  # noqa: F401  (naming convention first)
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
) -> AuditLog:
    """Add one audit row inside the caller's transaction."""
    entry = AuditLog(
        institute_id=institute_id
        if institute_id is not None
        else (actor.institute_id if actor else None),
        at=clock.now(),
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
