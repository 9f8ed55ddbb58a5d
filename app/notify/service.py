"""Notifications: add to the outbox (deduplicated), rules per institute and batch, inbox, retries.

Any service enqueues inside its own transaction, so a message exists exactly when the event
that caused it was committed. The worker delivers Telegram messages; in-app messages are
delivered at once (they are rows the recipient reads).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.core import audit, clock, db
from app.core.errors import ValidationError
from app.core.ownership import owned, reach
from app.core.roles import Role
from app.core.tenancy import Actor
from app.notify.models import Announcement, BlockedChat, Channel, Notification, RuleConfig, Status

MAX_TEXT = 4000  # Telegram's limit is 4096 characters


# ------------------------------------------------------------------ enqueue


def enqueue_internal(
    session: Session,
    *,
    institute_id: int,
    channel: str,
    recipient: str | None,
    text: str,
    dedupe_key: str,
    recipient_user_id: int | None = None,
    subject: str | None = None,
    buttons: list[list[dict[str, Any]]] | None = None,
    attachment: str | None = None,
) -> Notification:
    """Queue one message; the same (institute, dedupe key) returns the message already queued.
    `buttons`: rows of app.notify.buttons.act/link; `attachment`: a file built at delivery."""
    existing = session.exec(_keyed(institute_id, dedupe_key)).first()
    if existing is not None:
        return existing
    row = _new_row(
        session,
        institute_id=institute_id,
        channel=channel,
        recipient=recipient,
        text=text,
        dedupe_key=dedupe_key,
        recipient_user_id=recipient_user_id,
        subject=subject,
        buttons=buttons,
        attachment=attachment,
    )
    if not db.add_unless_duplicate(session, row):
        # Another transaction queued the same event first.
        return session.exec(_keyed(institute_id, dedupe_key)).one()
    return row


def _keyed(institute_id: int, dedupe_key: str) -> SelectOfScalar[Notification]:
    """The institute's message queued under `dedupe_key`."""
    return select(Notification).where(
        Notification.institute_id == institute_id, Notification.dedupe_key == dedupe_key
    )


def _new_row(session: Session, **fields) -> Notification:
    return Notification(**_new_values(session, **fields))


def _new_values(
    session: Session,
    *,
    institute_id: int,
    channel: str,
    recipient: str | None,
    text: str,
    dedupe_key: str,
    recipient_user_id: int | None,
    subject: str | None,
    blocked: set[str] | None = None,
    buttons: list[list[dict[str, Any]]] | None = None,
    attachment: str | None = None,
) -> dict:
    """Every column of a new outbox row (no model instance: bulk callers queue thousands)."""
    channel = Channel(channel).value
    if not dedupe_key:
        raise ValueError("a notification needs a dedupe key")
    now = clock.now()
    row = {
        "institute_id": institute_id,
        "channel": channel,
        "recipient": str(recipient or ""),
        "recipient_user_id": recipient_user_id,
        "subject": subject,
        "text": text[:MAX_TEXT],
        "dedupe_key": dedupe_key[:200],
        "status": Status.QUEUED.value,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "sent_at": None,
        "read_at": None,
        "created_at": now,
        "buttons": buttons or None,
        "attachment": attachment,
    }
    if channel == Channel.IN_APP.value:
        row["status"], row["sent_at"] = Status.SENT.value, now
    elif channel == Channel.TELEGRAM.value:
        if not recipient:
            row["status"], row["last_error"] = (
                Status.SUPPRESSED.value,
                "No Telegram chat is linked to this recipient.",
            )
        else:
            is_blocked = (
                (str(recipient) in blocked)
                if blocked is not None
                else session.exec(
                    select(BlockedChat.id).where(
                        BlockedChat.institute_id == institute_id,
                        BlockedChat.chat_id == str(recipient),
                    )
                ).first()
                is not None
            )
            if is_blocked:
                row["status"], row["last_error"] = (
                    Status.SUPPRESSED.value,
                    "The recipient has blocked the bot.",
                )
    else:
        row["status"], row["last_error"] = (
            Status.SUPPRESSED.value,
            "Email delivery is not available yet.",
        )
    return row


def enqueue_many_internal(session: Session, *, institute_id: int, messages: list[dict]) -> int:
    """Queue many messages in one pass (announcements, reminders); returns how many were new.

    Each dict has channel, recipient, text, dedupe_key and optionally recipient_user_id,
    subject, buttons and attachment (as for enqueue_internal).
    """
    if not messages:
        return 0
    keys = [m["dedupe_key"] for m in messages]
    existing: set[str] = set()
    for start in range(0, len(keys), 900):
        existing |= set(
            session.exec(
                select(Notification.dedupe_key).where(
                    Notification.institute_id == institute_id,
                    col(Notification.dedupe_key).in_(keys[start : start + 900]),
                )
            )
        )
    blocked = set(
        session.exec(select(BlockedChat.chat_id).where(BlockedChat.institute_id == institute_id))
    )
    rows, seen = [], set()
    for m in messages:
        if m["dedupe_key"] in existing or m["dedupe_key"] in seen:
            continue
        seen.add(m["dedupe_key"])
        rows.append(
            _new_values(
                session,
                institute_id=institute_id,
                channel=m["channel"],
                recipient=m.get("recipient"),
                text=m["text"],
                dedupe_key=m["dedupe_key"],
                recipient_user_id=m.get("recipient_user_id"),
                subject=m.get("subject"),
                blocked=blocked,
                buttons=m.get("buttons"),
                attachment=m.get("attachment"),
            )
        )
    for start in range(0, len(rows), 1000):
        session.execute(insert(Notification), rows[start : start + 1000])
    session.flush()
    return len(rows)


# ------------------------------------------------------------------ rules


@dataclass(frozen=True)
class EffectiveRules:
    notify_guardian_on_absence: bool = True
    absence_streak_threshold: int = 3
    fee_reminder_days_before: int = 3
    fee_reminder_days_after: int = 7
    quiet_hours_start: time | None = time(21, 0)
    quiet_hours_end: time | None = time(7, 0)
    # Where each value came from: "default", "institute" or "batch".
    sources: tuple[tuple[str, str], ...] = ()

    def source(self, field: str) -> str:
        return dict(self.sources).get(field, "default")


RULE_FIELDS = (
    "notify_guardian_on_absence",
    "absence_streak_threshold",
    "fee_reminder_days_before",
    "fee_reminder_days_after",
    "quiet_hours_start",
    "quiet_hours_end",
)


def effective_rules_internal(
    session: Session, *, institute_id: int, batch_id: int | None = None
) -> EffectiveRules:
    """The rules that apply to a batch: its override, else the institute's, else the defaults."""
    rows = {
        r.batch_id: r
        for r in session.exec(
            select(RuleConfig).where(
                RuleConfig.institute_id == institute_id,
                (col(RuleConfig.batch_id).is_(None)) | (RuleConfig.batch_id == batch_id),
            )
        )
    }
    defaults = EffectiveRules()
    values, sources = {}, []
    levels = [(None, "institute")] + ([(batch_id, "batch")] if batch_id is not None else [])
    for field in RULE_FIELDS:
        value, source = getattr(defaults, field), "default"
        for key, label in levels:
            row = rows.get(key)
            if row is not None and getattr(row, field) is not None:
                value, source = getattr(row, field), label
        values[field] = value
        sources.append((field, source))
    return EffectiveRules(**values, sources=tuple(sources))


def effective_rules_for(
    session: Session, *, actor: Actor, batch_id: int | None = None
) -> EffectiveRules:
    """The rules in force for the actor's institute (or one of its batches)."""
    actor.require(Role.ADMIN, Role.TEACHER)
    return effective_rules_internal(
        session, institute_id=actor.institute_scope(), batch_id=batch_id
    )


def get_rule_config(
    session: Session, *, actor: Actor, batch_id: int | None = None
) -> RuleConfig | None:
    actor.require(Role.ADMIN)
    return session.exec(
        select(RuleConfig).where(
            RuleConfig.institute_id == actor.institute_scope(),
            RuleConfig.batch_id == batch_id
            if batch_id is not None
            else col(RuleConfig.batch_id).is_(None),
        )
    ).first()


def list_rule_overrides(session: Session, *, actor: Actor) -> list[RuleConfig]:
    actor.require(Role.ADMIN)
    return list(
        session.exec(
            select(RuleConfig)
            .where(
                RuleConfig.institute_id == actor.institute_scope(),
                col(RuleConfig.batch_id).is_not(None),
            )
            .order_by(RuleConfig.batch_id)
        )
    )


def save_rules(
    session: Session, *, actor: Actor, batch_id: int | None = None, **fields
) -> RuleConfig:
    """Set the institute's rules (batch_id None) or a batch's overrides (None fields inherit)."""
    actor.require(Role.ADMIN)
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown rule {', '.join(sorted(unknown))}.")
    for name in ("absence_streak_threshold", "fee_reminder_days_before", "fee_reminder_days_after"):
        value = fields.get(name)
        if value is not None and not 0 <= int(value) <= 365:
            raise ValidationError("Days and counts must be between 0 and 365.", field=name)
    if fields.get("absence_streak_threshold") == 0:
        raise ValidationError(
            "Consecutive absences must be at least 1.", field="absence_streak_threshold"
        )
    start, end = fields.get("quiet_hours_start"), fields.get("quiet_hours_end")
    if (start is None) != (end is None):
        raise ValidationError(
            "Give both ends of the quiet hours, or neither.", field="quiet_hours_start"
        )
    if start is not None and start == end:
        raise ValidationError(
            "Quiet hours must start and end at different times.", field="quiet_hours_start"
        )
    if batch_id is not None:
        from app.academics.models import Batch  # a model only: notify sits below academics

        owned(session, Batch, batch_id, actor.institute_scope(), "batch")
    row = get_rule_config(session, actor=actor, batch_id=batch_id)
    if row is None:
        row = RuleConfig(institute_id=actor.institute_scope(), batch_id=batch_id)
    before = {f: str(getattr(row, f)) for f in RULE_FIELDS}
    for name in RULE_FIELDS:
        if name in fields:
            setattr(row, name, fields[name])
    row.updated_at, row.updated_by = clock.now(), actor.user_id
    session.add(row)
    session.flush()
    changes = {
        f: [before[f], str(getattr(row, f))]
        for f in RULE_FIELDS
        if before[f] != str(getattr(row, f))
    }
    audit.record(
        session,
        actor=actor,
        action="rules.update",
        target_type="batch" if batch_id else "institute",
        target_id=batch_id or actor.institute_id,
        detail=changes,
    )
    return row


def in_quiet_hours(local: time, start: time | None, end: time | None) -> bool:
    if start is None or end is None:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # spans midnight


def quiet_until(
    moment: datetime, timezone: str, start: time | None, end: time | None
) -> datetime | None:
    """When quiet hours that contain `moment` end (UTC), or None when it is not quiet."""
    local = moment.astimezone(ZoneInfo(timezone))
    if not in_quiet_hours(local.time(), start, end):
        return None
    end_today = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if end_today <= local:
        end_today += timedelta(days=1)
    return end_today.astimezone(ZoneInfo("UTC"))


# ------------------------------------------------------------------ in-app inbox


def my_messages(
    session: Session, *, actor: Actor, unread_only: bool = False, limit: int = 50
) -> list[Notification]:
    """The actor's in-app messages, newest first."""
    query = select(Notification).where(
        Notification.institute_id == actor.institute_id,
        Notification.recipient_user_id == actor.user_id,
        Notification.channel == Channel.IN_APP.value,
    )
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    return list(session.exec(query.order_by(col(Notification.id).desc()).limit(limit)))


def unread_count(session: Session, *, actor: Actor) -> int:
    if actor.user_id is None or actor.institute_id is None:
        return 0
    return int(
        db.count(
            session,
            Notification,
            Notification.institute_id == actor.institute_id,
            Notification.recipient_user_id == actor.user_id,
            Notification.channel == Channel.IN_APP.value,
            col(Notification.read_at).is_(None),
        )
    )


def mark_read(session: Session, *, actor: Actor, notification_ids: list[int] | None = None) -> int:
    """Mark the actor's own messages read (all of them when no ids are given)."""
    stmt = update(Notification).where(
        Notification.institute_id == actor.institute_id,
        Notification.recipient_user_id == actor.user_id,
        Notification.channel == Channel.IN_APP.value,
        col(Notification.read_at).is_(None),
    )
    if notification_ids:
        stmt = stmt.where(col(Notification.id).in_(notification_ids))
    result = session.execute(stmt.values(read_at=clock.now()))
    return result.rowcount or 0


# ------------------------------------------------------------------ outbox administration


def list_outbox(
    session: Session,
    *,
    actor: Actor,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 200,
) -> list[Notification]:
    """The institute's outgoing messages, newest first (admin)."""
    actor.require(Role.ADMIN, Role.SUPER_ADMIN)
    query = select(Notification)
    if not actor.is_super_admin:
        query = query.where(Notification.institute_id == actor.institute_id)
    if status:
        query = query.where(Notification.status == status)
    if channel:
        query = query.where(Notification.channel == channel)
    return list(session.exec(query.order_by(col(Notification.id).desc()).limit(limit)))


def outbox_counts(session: Session, *, actor: Actor) -> dict[str, int]:
    actor.require(Role.ADMIN, Role.SUPER_ADMIN)
    query = select(Notification.status, func.count()).group_by(Notification.status)
    if not actor.is_super_admin:
        query = query.where(Notification.institute_id == actor.institute_id)
    return {status: int(n) for status, n in session.exec(query)}


def retry(session: Session, *, actor: Actor, notification_id: int) -> Notification:
    """Send a failed or blocked message again (a blocked chat is unblocked)."""
    actor.require(Role.ADMIN, Role.SUPER_ADMIN)
    row = owned(session, Notification, notification_id, reach(actor), "message")
    if row.status not in (Status.FAILED.value, Status.BLOCKED.value, Status.SUPPRESSED.value):
        raise ValidationError("Only failed, blocked or suppressed messages can be retried.")
    if row.channel != Channel.TELEGRAM.value or not row.recipient:
        raise ValidationError("This message has no Telegram chat to send to.")
    session.execute(
        delete(BlockedChat).where(
            BlockedChat.institute_id == row.institute_id, BlockedChat.chat_id == row.recipient
        )
    )
    previous = row.status
    row.status, row.attempts, row.next_attempt_at, row.last_error = (
        Status.QUEUED.value,
        0,
        clock.now(),
        None,
    )
    audit.save_audited(
        session,
        row,
        "notification.retry",
        actor=actor,
        institute_id=row.institute_id,
        detail={"from": previous},
    )
    return row


# ------------------------------------------------------------------ announcements


def announce(
    session: Session, *, actor: Actor, title: str, body: str, batch_id: int | None = None
) -> Announcement:
    """Announce to a batch or the whole institute: in the app to its people, by Telegram to the
    students' guardians. Teachers announce to their own batches; admins anywhere."""
    from app.academics import service as academics
    from app.academics.models import Batch

    actor.require(Role.ADMIN, Role.TEACHER)
    if not (title or "").strip() or not (body or "").strip():
        raise ValidationError("An announcement needs a title and a message.", field="title")
    institute_id = actor.institute_scope()
    batch = None
    if batch_id is not None:
        batch = owned(session, Batch, batch_id, institute_id, "batch")
        academics.ensure_teacher_scope(session, actor=actor, batch=batch)
    elif actor.role == Role.TEACHER:
        raise ValidationError(
            "Teachers announce to one of their batches; ask an admin for the whole institute.",
            field="batch_id",
        )
    announcement = Announcement(
        institute_id=institute_id,
        batch_id=batch_id,
        title=title.strip()[:200],
        body=body.strip(),
        author_user_id=actor.user_id,
    )
    session.add(announcement)
    session.flush()
    user_ids, guardian_chats = academics.announcement_audience_internal(
        session, institute_id=institute_id, batch_id=batch_id
    )
    where = f" ({batch.name})" if batch else ""
    messages = [
        {
            "channel": "in_app",
            "recipient": str(uid),
            "recipient_user_id": uid,
            "subject": announcement.title + where,
            "text": announcement.body,
            "dedupe_key": f"announcement:{announcement.id}:in_app:{uid}",
        }
        for uid in user_ids
        if uid != actor.user_id
    ]
    messages += [
        {
            "channel": "telegram",
            "recipient": chat,
            "text": f"{announcement.title}{where}\n\n{announcement.body}",
            "dedupe_key": f"announcement:{announcement.id}:guardian:{guardian_id}",
        }
        for guardian_id, chat in guardian_chats
    ]
    announcement.recipients = len(messages)
    enqueue_many_internal(session, institute_id=institute_id, messages=messages)
    session.add(announcement)
    audit.on(
        session,
        actor,
        "announcement.create",
        announcement.id,
        {"recipients": len(messages), "title": announcement.title, "batch_id": batch_id},
    )
    return announcement


def list_announcements(session: Session, *, actor: Actor, limit: int = 20) -> list[Announcement]:
    """The institute's announcements, for staff who make them (students read my_announcements)."""
    actor.require(Role.ADMIN, Role.TEACHER)
    return list(
        session.exec(
            select(Announcement)
            .where(Announcement.institute_id == actor.institute_scope())
            .order_by(col(Announcement.id).desc())
            .limit(limit)
        )
    )


def my_announcements(
    session: Session, *, actor: Actor, limit: int = 30
) -> list[tuple[Announcement, str | None]]:
    """The announcements a signed-in student may read, newest first: the whole institute's and
    those of the batches they are in now, with the batch name."""
    from app.academics import service as academics
    from app.academics.models import Batch, BatchMembership

    student = academics.my_student(session, actor=actor)
    institute_id = student.institute_id
    mine = select(BatchMembership.batch_id).where(
        BatchMembership.institute_id == institute_id,
        BatchMembership.student_id == student.id,
        col(BatchMembership.left_on).is_(None),
    )
    return list(
        session.exec(
            select(Announcement, Batch.name)
            .outerjoin(Batch, Batch.id == Announcement.batch_id)
            .where(
                Announcement.institute_id == institute_id,
                col(Announcement.batch_id).is_(None) | col(Announcement.batch_id).in_(mine),
            )
            .order_by(col(Announcement.id).desc())
            .limit(limit)
        ).all()
    )
