"""Linking a Telegram chat to a person without anyone typing a chat id.

Cohort makes a deep link `https://t.me/<bot>?start=<code>` for a user (My account) or for a
guardian (the student's guardian card, by the office); the person opens it, Telegram sends the
bot `/start <code>`, and the chat is linked. A code works once and for a day; only its hash is
stored, and asking for a new one voids the old. Either side may unlink: `/stop` in Telegram, or
Unlink in Cohort.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from app.academics.models import Guardian, Student
from app.bot.models import TelegramLinkCode
from app.core import audit, clock
from app.core.config import get_settings
from app.core.errors import PermissionDenied, ValidationError
from app.core.ownership import get_owned
from app.core.roles import Role
from app.core.security import token_hash
from app.core.tenancy import Actor
from app.identity.models import Institute, User
from app.integrations import telegram
from app.notify.models import BlockedChat

CODE_HOURS = 24
NOT_SET_UP = (
    "Telegram is not set up for this Cohort yet: the operator sets TELEGRAM_BOT_TOKEN "
    "(see README, Telegram)."
)


def bot_username() -> str:
    """The bot's @username (the setting, or asked from Telegram once)."""
    settings = get_settings()
    if settings.TELEGRAM_BOT_USERNAME:
        return settings.TELEGRAM_BOT_USERNAME.lstrip("@")
    sender = telegram.get_sender()
    if not isinstance(sender, telegram.TelegramSender):
        raise ValidationError(NOT_SET_UP)
    try:
        return sender.username()
    except telegram.SendFailed as exc:
        raise ValidationError(f"Telegram could not be reached to make the link: {exc}") from exc


@dataclass(frozen=True)
class LinkOffer:
    url: str
    expires_at: datetime  # UTC
    who: str


def _offer(
    session: Session,
    actor: Actor,
    *,
    institute_id: int,
    who: str,
    user_id: int | None = None,
    guardian_id: int | None = None,
) -> LinkOffer:
    """A new code for one person (voiding their unused one), audited, as a deep link."""
    username = bot_username()  # refuse before writing anything when Telegram is not set up
    session.execute(
        update(TelegramLinkCode)
        .where(
            col(TelegramLinkCode.institute_id) == institute_id,
            col(TelegramLinkCode.used_at).is_(None),
            (col(TelegramLinkCode.user_id) == user_id)
            if user_id is not None
            else (col(TelegramLinkCode.guardian_id) == guardian_id),
        )
        .values(expires_at=clock.now())
    )
    code = secrets.token_urlsafe(18)
    expires = clock.now() + timedelta(hours=CODE_HOURS)
    session.add(
        TelegramLinkCode(
            institute_id=institute_id,
            user_id=user_id,
            guardian_id=guardian_id,
            code_hash=token_hash(code),
            created_by=actor.user_id,
            expires_at=expires,
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="telegram.link_offered",
        target_type="user" if user_id is not None else "guardian",
        target_id=user_id if user_id is not None else guardian_id,
    )
    return LinkOffer(url=f"https://t.me/{username}?start={code}", expires_at=expires, who=who)


def my_link(session: Session, *, actor: Actor) -> LinkOffer:
    """A deep link that links the signed-in user's own Telegram chat."""
    if actor.user_id is None or actor.institute_id is None:
        raise PermissionDenied("Only a member of an institute links a Telegram chat here.")
    return _offer(
        session, actor, institute_id=actor.institute_id, who=actor.name, user_id=actor.user_id
    )


def guardian_link(session: Session, *, actor: Actor, guardian_id: int) -> LinkOffer:
    """A deep link the office gives a guardian (to send or show) to link their chat."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    guardian = get_owned(session, Guardian, actor, guardian_id, "guardian")
    _counselled(session, actor, guardian)
    return _offer(
        session,
        actor,
        institute_id=guardian.institute_id,
        who=guardian.name,
        guardian_id=guardian.id,
    )


def _counselled(session: Session, actor: Actor, guardian: Guardian) -> None:
    if actor.role == Role.COUNSELOR:
        student = session.get(Student, guardian.student_id)
        if student is None or student.counselor_user_id != actor.user_id:
            raise PermissionDenied("This guardian's student is not one you counsel.")


def my_chat_linked(session: Session, *, actor: Actor) -> bool:
    """Whether the signed-in user's Telegram chat is linked."""
    user = session.get(User, actor.user_id) if actor.user_id else None
    return bool(user and user.telegram_chat_id)


def unlink_me(session: Session, *, actor: Actor) -> bool:
    """Stop messages to the signed-in user's Telegram chat."""
    user = session.get(User, actor.user_id) if actor.user_id else None
    if user is None or not user.telegram_chat_id:
        return False
    user.telegram_chat_id = None
    session.add(user)
    audit.on(session, actor, "telegram.unlinked", user.id, target_type="user")
    return True


def unlink_guardian(session: Session, *, actor: Actor, guardian_id: int) -> bool:
    """The office stops messages to a guardian's Telegram chat."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    guardian = get_owned(session, Guardian, actor, guardian_id, "guardian")
    _counselled(session, actor, guardian)
    if not guardian.telegram_chat_id:
        return False
    guardian.telegram_chat_id = None
    session.add(guardian)
    audit.on(session, actor, "telegram.unlinked", guardian.id, target_type="guardian")
    return True


# ------------------------------------------------------------------ the bot's side (system)


@dataclass(frozen=True)
class Linked:
    institute: str
    name: str
    guardian_of: str | None  # the student's name when a guardian was linked


class LinkRefused(Exception):
    """The code is unknown, used or expired (the message says which, politely)."""


def link_chat_internal(session: Session, *, code: str, chat_id: str) -> Linked:
    """`/start <code>` from `chat_id`: link the chat to the code's person (system context)."""
    row = session.exec(
        select(TelegramLinkCode).where(TelegramLinkCode.code_hash == token_hash(code.strip()))
    ).first()
    if row is None:
        raise LinkRefused("That link is not valid. Ask your institute for a new one.")
    if row.used_at is not None:
        raise LinkRefused("That link was already used. Ask your institute for a new one.")
    if clock.now() >= clock.aware_utc(row.expires_at):
        raise LinkRefused("That link has expired (links work for a day). Ask for a new one.")
    institute = session.get(Institute, row.institute_id)
    if institute is None:
        raise LinkRefused("That link is not valid. Ask your institute for a new one.")
    row.used_at = clock.now()
    session.add(row)
    source = Actor.system(row.institute_id, source="telegram")
    if row.user_id is not None:
        user = session.get(User, row.user_id)
        if user is None:
            raise LinkRefused("That link is not valid. Ask your institute for a new one.")
        user.telegram_chat_id = chat_id
        session.add(user)
        linked = Linked(institute=institute.name, name=user.name, guardian_of=None)
        target = ("user", user.id)
        source = Actor(
            user_id=user.id,
            role=Role(user.role),
            institute_id=user.institute_id,
            name=user.name,
            source="telegram",
        )
    else:
        guardian = session.get(Guardian, row.guardian_id)
        if guardian is None:
            raise LinkRefused("That link is not valid. Ask your institute for a new one.")
        guardian.telegram_chat_id = chat_id
        session.add(guardian)
        student = session.get(Student, guardian.student_id)
        linked = Linked(
            institute=institute.name,
            name=guardian.name,
            guardian_of=student.name if student else None,
        )
        target = ("guardian", guardian.id)
    # Whoever starts the bot again has unblocked it.
    session.execute(
        delete(BlockedChat).where(
            col(BlockedChat.institute_id) == row.institute_id, col(BlockedChat.chat_id) == chat_id
        )
    )
    session.flush()
    audit.record(
        session,
        actor=source,
        action="telegram.linked",
        target_type=target[0],
        target_id=target[1],
        institute_id=row.institute_id,
        source="telegram",
    )
    return linked


def unlink_chat_internal(session: Session, *, chat_id: str) -> int:
    """`/stop`: the chat no longer receives anything, for every person it was linked to."""
    users = list(session.exec(select(User).where(User.telegram_chat_id == chat_id)))
    guardians = list(session.exec(select(Guardian).where(Guardian.telegram_chat_id == chat_id)))
    people: list[tuple[str, User | Guardian]] = [("user", u) for u in users]
    people += [("guardian", g) for g in guardians]
    for kind, person in people:
        person.telegram_chat_id = None
        session.add(person)
        audit.record(
            session,
            actor=Actor.system(person.institute_id, source="telegram"),
            action="telegram.unlinked",
            target_type=kind,
            target_id=person.id,
            institute_id=person.institute_id,
            source="telegram",
        )
    session.flush()
    return len(users) + len(guardians)
