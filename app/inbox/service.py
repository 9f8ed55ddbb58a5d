"""The action inbox: pending actions from every module, with one-click outcomes that are kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from app.academics.models import Batch, Guardian, Student
from app.core import audit, clock, db
from app.core.errors import NotFound, ValidationError
from app.core.roles import Role
from app.core.rows import carry
from app.core.tenancy import Actor
from app.identity.models import Institute
from app.inbox.models import ActionStatus, ActionType, Outcome, PendingAction


def open_action_internal(
    session: Session,
    *,
    institute_id: int,
    type: str,
    reason: str,
    dedupe_key: str,
    student_id: int | None = None,
    batch_id: int | None = None,
    session_id: int | None = None,
    owner_user_id: int | None = None,
    created_at: datetime | None = None,
) -> PendingAction:
    """Open a pending action once per dedupe key (repeating the event opens nothing new);
    `created_at` lets an anonymous event keep only a coarse time."""
    ActionType(type)
    existing = session.exec(
        select(PendingAction).where(
            PendingAction.institute_id == institute_id, PendingAction.dedupe_key == dedupe_key
        )
    ).first()
    if existing is not None:
        return existing
    action = PendingAction(
        institute_id=institute_id,
        type=type,
        reason=reason,
        dedupe_key=dedupe_key[:200],
        student_id=student_id,
        batch_id=batch_id,
        session_id=session_id,
        owner_user_id=owner_user_id,
    )
    if created_at is not None:
        action.created_at = created_at
    if not db.add_unless_duplicate(session, action):
        return session.exec(
            select(PendingAction).where(
                PendingAction.institute_id == institute_id, PendingAction.dedupe_key == dedupe_key
            )
        ).one()
    _push(session, action)
    return action


# Actions decided elsewhere (badge requests, extra classes) are not pushed with buttons, nor
# feedback: a message arriving the minute a student submits would date anonymous feedback,
# which is stored with only its day.
PUSHED_TYPES = frozenset(ActionType) - {
    ActionType.BADGE_REQUEST,
    ActionType.EXTRA_CLASS_REQUEST,
    ActionType.NEGATIVE_FEEDBACK,
}


def _push(session: Session, action: PendingAction) -> None:
    """Tell the person who owns a new action on Telegram, with buttons that act on it (app.bot
    calls `act` for them, as the web inbox does). Nothing when their chat is not linked."""
    from app.identity.models import User
    from app.notify import buttons
    from app.notify import service as notify

    if action.type not in PUSHED_TYPES:
        return
    owner = action.owner_user_id
    if owner is None and action.batch_id is not None:
        batch = session.get(Batch, action.batch_id)
        owner = batch.teacher_user_id if batch else None
    user = session.get(User, owner) if owner else None
    if user is None or not user.telegram_chat_id:
        return
    row = [buttons.act("Reviewed", "ir", action.id)]
    if action.student_id is not None and action.type in GUARDIAN_TYPES:
        row.append(buttons.act("Notify guardian", "in", action.id))
    row.append(buttons.act("Ignore…", "ii", action.id))
    notify.enqueue_internal(
        session,
        institute_id=action.institute_id,
        channel="telegram",
        recipient=user.telegram_chat_id,
        recipient_user_id=user.id,
        text=f"To do: {action.reason}",
        dedupe_key=f"inbox_push:{action.id}",
        buttons=[row],
    )


@dataclass(frozen=True)
class InboxItem:
    id: int
    type: str
    reason: str
    student: str | None
    batch: str | None
    created_at: datetime  # in the institute's time zone
    status: str
    outcome: str | None
    note: str | None
    has_student: bool = False

    @property
    def outcomes(self) -> list[Outcome]:
        """What may be done with it: "Notify guardian" only for a student's attendance, risk or
        fees (never a badge request, a CRM follow-up or anonymous feedback)."""
        if self.type == ActionType.EXTRA_CLASS_REQUEST.value:
            return []  # approved or rejected (app.attendance), never just "reviewed"
        return [o for o in Outcome if o != Outcome.NOTIFIED_GUARDIAN or self.can_notify_guardian]

    @property
    def can_notify_guardian(self) -> bool:
        return self.has_student and self.type in GUARDIAN_TYPES


# The actions about a student that their guardian may be told about.
GUARDIAN_TYPES = frozenset(
    {ActionType.STUDENT_RISK.value, ActionType.ABSENCE_STREAK.value, ActionType.FEE_OVERDUE.value}
)


def _scoped(actor: Actor):
    query = select(PendingAction).where(PendingAction.institute_id == actor.institute_scope())
    if actor.role == Role.TEACHER:
        own_batches = select(Batch.id).where(
            Batch.institute_id == actor.institute_id, Batch.teacher_user_id == actor.user_id
        )
        query = query.where(
            (col(PendingAction.batch_id).in_(own_batches))
            | (PendingAction.owner_user_id == actor.user_id)
        )
    elif actor.role == Role.COUNSELOR:
        query = query.where(PendingAction.owner_user_id == actor.user_id)
    return query


def list_actions(
    session: Session,
    *,
    actor: Actor,
    status: str = "open",
    type: str | None = None,
    batch_id: int | None = None,
    limit: int = 200,
) -> list[InboxItem]:
    """The actor's inbox (admin: everything; teacher: their batches; counselor: theirs)."""
    actor.require(Role.ADMIN, Role.TEACHER, Role.COUNSELOR)
    query = _scoped(actor).where(PendingAction.status == status)
    if type:
        query = query.where(PendingAction.type == type)
    if batch_id:
        query = query.where(PendingAction.batch_id == batch_id)
    sub = query.order_by(col(PendingAction.created_at).desc()).limit(limit).subquery()
    # Rows of the subquery's columns plus two names (SQLAlchemy types them as plain tuples).
    rows: list[Any] = list(
        session.exec(
            select(sub, Student.name, Batch.name)
            .outerjoin(Student, Student.id == sub.c.student_id)
            .outerjoin(Batch, Batch.id == sub.c.batch_id)
            .order_by(sub.c.created_at.desc())
        ).all()
    )
    institute = session.get(Institute, actor.institute_scope())
    tz = ZoneInfo(institute.timezone if institute else "UTC")
    return [
        carry(
            InboxItem,
            r,
            student=r[-2],
            batch=r[-1],
            created_at=(clock.aware_utc(r.created_at)).astimezone(tz),
            has_student=r.student_id is not None,
        )
        for r in rows
    ]


def open_count(session: Session, *, actor: Actor) -> int:
    actor.require(Role.ADMIN, Role.TEACHER, Role.COUNSELOR)
    sub = _scoped(actor).where(PendingAction.status == ActionStatus.OPEN.value).subquery()
    return int(session.exec(select(func.count()).select_from(sub)).one())


def act(
    session: Session, *, actor: Actor, action_id: int, outcome: str, note: str | None = None
) -> PendingAction:
    """Close an action with an outcome: reviewed, notify guardian, resolve, or ignore with a note."""
    actor.require(Role.ADMIN, Role.TEACHER, Role.COUNSELOR)
    outcome = Outcome(outcome).value
    action = session.exec(_scoped(actor).where(PendingAction.id == action_id)).first()
    if action is None:
        raise NotFound("That action does not exist.")
    if action.status == ActionStatus.DONE:
        raise ValidationError("This action was already dealt with.")
    if outcome == Outcome.IGNORED.value and not (note or "").strip():
        raise ValidationError("Say why you are ignoring it, in a note.", field="note")
    if outcome == Outcome.NOTIFIED_GUARDIAN.value:
        if action.type not in GUARDIAN_TYPES:
            raise ValidationError(
                "A guardian is told only about a student's attendance, risk or fees; "
                "mark this one reviewed or resolved instead."
            )
        _notify_guardians(session, action=action, text=(note or "").strip())
    action.status, action.outcome, action.note = (
        ActionStatus.DONE.value,
        outcome,
        (note or "").strip() or None,
    )
    action.acted_by, action.acted_at = actor.user_id, clock.now()
    audit.save_audited(
        session,
        action,
        "inbox.act",
        actor=actor,
        target_type="pending_action",
        detail={"type": action.type, "outcome": outcome},
    )
    return action


def action_key(session: Session, *, actor: Actor, action_id: int) -> str:
    """The dedupe key of an action in the actor's inbox: which request or event it stands for
    (the module that raised it decides it)."""
    actor.require(Role.ADMIN, Role.TEACHER, Role.COUNSELOR)
    found: PendingAction | None = session.exec(
        _scoped(actor).where(PendingAction.id == action_id)
    ).first()
    if found is None:
        raise NotFound("That action does not exist.")
    return str(found.dedupe_key)


def resolve_by_key(session: Session, *, actor: Actor, dedupe_key: str, note: str) -> bool:
    """Close the open action of a dedupe key in the actor's own institute as resolved, when the
    work it asked for was done elsewhere (a due follow-up logged on the Pipeline). Returns
    whether one was open."""
    action = session.exec(
        select(PendingAction).where(
            PendingAction.institute_id == actor.institute_scope(),
            PendingAction.dedupe_key == dedupe_key,
            PendingAction.status != ActionStatus.DONE.value,
        )
    ).first()
    if action is None:
        return False
    action.status, action.outcome = ActionStatus.DONE.value, Outcome.RESOLVED.value
    action.note, action.acted_by, action.acted_at = note[:500], actor.user_id, clock.now()
    session.add(action)
    session.flush()
    return True


def _notify_guardians(session: Session, *, action: PendingAction, text: str) -> int:
    from app.notify import service as notify

    if action.student_id is None:
        raise ValidationError(
            "This action is not about a student, so there is no guardian to notify."
        )
    student = session.get(Student, action.student_id)
    guardians = session.exec(
        select(Guardian).where(
            Guardian.institute_id == action.institute_id, Guardian.student_id == action.student_id
        )
    ).all()
    if not guardians:
        raise ValidationError(f"{student.name} has no guardian on record.")
    message = text or f"Message from your institute about {student.name}: {action.reason}"
    return notify.enqueue_many_internal(
        session,
        institute_id=action.institute_id,
        messages=[
            {
                "channel": "telegram",
                "recipient": g.telegram_chat_id,
                "text": message,
                "dedupe_key": f"inbox:{action.id}:guardian:{g.id}",
            }
            for g in guardians
        ],
    )


def usefulness(session: Session, *, actor: Actor) -> dict[str, dict[str, int]]:
    """How each action type was resolved (to learn which types are worth raising)."""
    actor.require(Role.ADMIN)
    rows = session.exec(
        select(PendingAction.type, PendingAction.outcome, func.count())
        .where(
            PendingAction.institute_id == actor.institute_scope(),
            PendingAction.status == ActionStatus.DONE.value,
        )
        .group_by(PendingAction.type, PendingAction.outcome)
    ).all()
    out: dict[str, dict[str, int]] = {}
    for type_, outcome, n in rows:
        out.setdefault(type_, {})[outcome] = int(n)
    return out


def open_actions_bulk_internal(session: Session, *, institute_id: int, actions: list[dict]) -> int:
    """Open many actions at once (each dict: type, reason, dedupe_key, student_id, batch_id…),
    skipping dedupe keys that already exist: two queries however many there are."""
    if not actions:
        return 0
    for a in actions:
        ActionType(a["type"])
    keys = [a["dedupe_key"][:200] for a in actions]
    existing = set(
        session.exec(
            select(PendingAction.dedupe_key).where(
                PendingAction.institute_id == institute_id,
                col(PendingAction.dedupe_key).in_(keys),
            )
        )
    )
    now = clock.now()
    rows = [
        {
            "institute_id": institute_id,
            "type": a["type"],
            "reason": a["reason"],
            "dedupe_key": a["dedupe_key"][:200],
            "student_id": a.get("student_id"),
            "batch_id": a.get("batch_id"),
            "session_id": a.get("session_id"),
            "owner_user_id": a.get("owner_user_id"),
            "status": ActionStatus.OPEN.value,
            "created_at": now,
        }
        for a in actions
        if a["dedupe_key"][:200] not in existing
    ]
    if rows:
        session.execute(insert(PendingAction), rows)
    return len(rows)
