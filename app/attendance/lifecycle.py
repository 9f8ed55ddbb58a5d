"""A class session's life: scheduled, open, submitted, closed or missed, and reopening."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.academics.models import (
    Batch,
)
from app.attendance.common import aware_utc
from app.attendance.models import (
    NOT_HELD,
    AttendanceLink,
    ClassSession,
    SessionStatus,
)
from app.core import audit, clock
from app.core.config import get_settings
from app.core.errors import ValidationError
from app.core.ownership import get_owned
from app.core.roles import Role
from app.core.security import new_token, token_hash
from app.core.tenancy import Actor
from app.identity.models import Institute, User
from app.inbox import service as inbox
from app.notify import buttons as notify_buttons
from app.notify import service as notify


def live_status(row: ClassSession, now: datetime | None = None) -> str:
    """The status as of now (a scheduled session is open once its window starts)."""
    now = now or clock.now()
    settings = get_settings()
    if row.status == SessionStatus.SCHEDULED.value and now >= aware_utc(row.starts_at) - timedelta(
        minutes=settings.ATTENDANCE_OPEN_BEFORE_MINUTES
    ):
        if now > aware_utc(row.ends_at) + timedelta(
            minutes=settings.ATTENDANCE_AUTO_CLOSE_GRACE_MINUTES
        ):
            return SessionStatus.MISSED.value
        return SessionStatus.OPEN.value
    return row.status


def auto_close(session: Session) -> dict:
    """Open sessions whose window began; close submitted ones and mark unsubmitted ones missed
    after class end + grace (one missed_session action each). All institutes, set-based."""
    settings = get_settings()
    now = clock.now()
    cutoff = now - timedelta(minutes=settings.ATTENDANCE_AUTO_CLOSE_GRACE_MINUTES)
    opening = (
        select(ClassSession, Batch)
        .join(Batch, Batch.id == ClassSession.batch_id)
        .where(
            ClassSession.status == SessionStatus.SCHEDULED.value,
            col(ClassSession.starts_at)
            <= now + timedelta(minutes=settings.ATTENDANCE_OPEN_BEFORE_MINUTES),
            col(ClassSession.ends_at) >= cutoff,
        )
    )
    to_open = session.exec(opening).all()
    for row, _batch in to_open:
        row.status = SessionStatus.OPEN.value
        session.add(row)
    session.flush()
    links = _send_links(session, to_open)
    opened = len(to_open)
    closed = (
        session.execute(
            update(ClassSession)
            .where(
                ClassSession.status == SessionStatus.SUBMITTED.value,
                col(ClassSession.ends_at) < cutoff,
            )
            .values(status=SessionStatus.CLOSED.value)
        ).rowcount
        or 0
    )
    missing = session.exec(
        select(ClassSession, Batch)
        .join(Batch, Batch.id == ClassSession.batch_id)
        .where(
            col(ClassSession.status).in_([SessionStatus.SCHEDULED.value, SessionStatus.OPEN.value]),
            col(ClassSession.ends_at) < cutoff,
        )
    ).all()
    for row, batch in missing:
        row.status = SessionStatus.MISSED.value
        session.add(row)
        local = aware_utc(row.starts_at).astimezone(
            ZoneInfo(session.get(Institute, row.institute_id).timezone)
        )
        inbox.open_action_internal(
            session,
            institute_id=row.institute_id,
            type="missed_session",
            batch_id=batch.id,
            session_id=row.id,
            owner_user_id=batch.teacher_user_id,
            reason=f"No attendance was taken for {batch.name} on {local:%a %d %b, %H:%M}.",
            dedupe_key=f"missed_session:{row.id}",
        )
    session.flush()
    return {"opened": opened, "closed": closed, "missed": len(missing), "links_sent": links}


def _send_links(session: Session, opening: list) -> int:
    """Each teacher with a Telegram chat gets a one-time link to the sheet of a class that opens."""
    teacher_ids = {batch.teacher_user_id for _row, batch in opening if batch.teacher_user_id}
    if not teacher_ids:
        return 0
    chats = dict(
        session.exec(
            select(User.id, User.telegram_chat_id).where(
                col(User.id).in_(teacher_ids), col(User.telegram_chat_id).is_not(None)
            )
        ).all()
    )
    sent = 0
    for row, batch in opening:
        chat = chats.get(batch.teacher_user_id)
        if not chat:
            continue
        now = clock.now()
        link = AttendanceLink(
            institute_id=row.institute_id,
            session_id=row.id,
            # Unusable until delivery mints the real token (deliver_link): the outbox keeps
            # only a reference, never a working link.
            token_hash=token_hash(new_token()),
            created_for=batch.teacher_user_id,
            created_at=now,
            expires_at=now + timedelta(hours=get_settings().ATTENDANCE_LINK_HOURS),
        )
        session.add(link)
        session.flush()
        notify.enqueue_internal(
            session,
            institute_id=row.institute_id,
            channel="telegram",
            recipient=chat,
            recipient_user_id=batch.teacher_user_id,
            text=f"{batch.name} starts soon. The button opens its attendance sheet (works once).",
            dedupe_key=f"attendance_link:{row.id}",
            buttons=[[notify_buttons.link("Take attendance", "attendance", link.id)]],
        )
        sent += 1
    session.flush()
    return sent


def reopen_session(session: Session, *, actor: Actor, session_id: int) -> ClassSession:
    """Admin only: let a closed, missed or submitted session take marks again (saved marks stay)."""
    actor.require(Role.ADMIN)
    row = class_in_scope(session, actor, session_id)
    if row.status in (SessionStatus.SCHEDULED.value, SessionStatus.OPEN.value):
        raise ValidationError("This session is already open.")
    if row.status in NOT_HELD:
        raise ValidationError(NOT_HELD_MESSAGE)
    previous = row.status
    row.status = SessionStatus.OPEN.value
    audit.save_audited(
        session,
        row,
        "session.reopen",
        actor=actor,
        target_type="class_session",
        detail={"from": previous},
    )
    return row


NOT_HELD_MESSAGE = "This class was cancelled or moved, so it takes no attendance."


def class_in_scope(session: Session, actor: Actor, session_id: int) -> ClassSession:
    row = get_owned(session, ClassSession, actor, session_id, "class session")
    return row
