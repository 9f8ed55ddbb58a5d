"""What the bot does with one update: a command, a reply, or a button press.

`handle(session, update)` runs inside the update's transaction (system context) and returns
the outcome and the Telegram calls to make once that transaction has committed. Who a chat is
comes only from Cohort's own records (users and guardians whose linked chat it is); a button
does something only when its signed token is valid for this chat (app/notify/buttons.py) and
the chat is linked to the person the action needs. Every action goes through the same service
as on the web, with an actor whose source is "telegram", so it is authorized and audited alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app.academics.models import Guardian, Student
from app.attendance.notices import absence_notice_internal
from app.attendance.sheet import sessions_for_day
from app.bot import answers, linking
from app.core import audit, clock, ratelimit
from app.core.db import set_tenant
from app.core.errors import DomainError
from app.core.roles import STAFF_ROLES, Role
from app.core.tenancy import Actor
from app.identity.models import Institute, User, UserStatus
from app.inbox import service as inbox
from app.inbox.models import Outcome, PendingAction
from app.integrations.telegram import Button, Buttons, Document
from app.notify import buttons

PER_MINUTE = 30  # updates one chat may send per minute; more are dropped
UNKNOWN_EVERY = timedelta(hours=1)  # an unlinked chat is answered at most this often

UNKNOWN = (
    "Hello! This is your institute's Cohort bot. It answers only chats linked to Cohort: open "
    "the link your institute gave you (staff and students find theirs on My account)."
)
STUDENT_COMMANDS = (
    "/attendance — this month's attendance and the latest classes\n"
    "/balance — fees to pay\n"
    "/homework — homework to hand in\n"
    "/report — this month's progress report with the report card"
)
STAFF_COMMANDS = "/today — your classes today"
COMMON = "/stop — stop messages to this chat"
IGNORE_PROMPT = "Why are you ignoring it? Reply to this message with a short note. (action #{id})"

QUESTIONS = {"/attendance": "a", "/balance": "b", "/homework": "h", "/report": "r"}
BY_LETTER = {letter: command for command, letter in QUESTIONS.items()}


@dataclass(frozen=True)
class Send:
    chat: str
    text: str
    buttons: Buttons | None = None
    document: Document | None = None
    prompt: bool = False  # ask for a reply (Telegram opens the reply box)


@dataclass(frozen=True)
class Answer:
    callback_id: str
    text: str | None = None


@dataclass(frozen=True)
class Clear:
    chat: str
    message_id: int


@dataclass
class Result:
    outcome: str
    effects: list[Any] = field(default_factory=list)


@dataclass
class Who:
    """Everyone a chat is linked to, in every institute."""

    chat: str
    users: list[User]
    guardians: list[tuple[Guardian, Student]]
    own: list[Student]  # the student records of linked student users

    @property
    def known(self) -> bool:
        return bool(self.users or self.guardians)

    @property
    def staff(self) -> list[User]:
        return [u for u in self.users if u.role in STAFF_ROLES]

    @property
    def students(self) -> list[Student]:
        found = {s.id: s for s in self.own}
        for _g, student in self.guardians:
            found.setdefault(student.id, student)
        return sorted(found.values(), key=lambda s: (s.name, s.id))


def identify(session: Session, chat: str) -> Who:
    users = list(
        session.exec(
            select(User).where(
                User.telegram_chat_id == chat, User.status != UserStatus.DISABLED.value
            )
        )
    )
    guardians = [
        (g, s)
        for g, s in session.exec(
            select(Guardian, Student)
            .join(Student, col(Student.id) == col(Guardian.student_id))
            .where(Guardian.telegram_chat_id == chat)
        ).all()
    ]
    student_users = [u.id for u in users if u.role == Role.STUDENT.value]
    own = (
        list(session.exec(select(Student).where(col(Student.user_id).in_(student_users))))
        if student_users
        else []
    )
    return Who(chat=chat, users=users, guardians=guardians, own=own)


def actor_of(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        role=Role(user.role),
        institute_id=user.institute_id,
        name=user.name,
        source="telegram",
    )


def handle(session: Session, update: dict[str, Any]) -> Result:
    if _CHUNK_LIMITS.get() is None:  # handled on its own, not as part of a chunk
        with chunk_limits(session, [update]):
            return handle(session, update)
    if "callback_query" in update:
        return _press(session, update["callback_query"])
    message = update.get("message")
    if not message or "chat" not in message:
        return Result("ignored")
    if message["chat"].get("type", "private") != "private":
        return Result("ignored_group")
    return _message(session, message)


class ChatLimits:
    """The per-chat limit for a chunk of updates, set-based: each chat's count of the last
    minute read in one query before the chunk, every update counted as it is handled (a
    failing one too: it was received), and the chunk's events written in one insert after."""

    def __init__(self, session: Session, chats: list[str]) -> None:
        self.counts = ratelimit.recent_counts(
            session, sorted({_rate_key(chat) for chat in chats}), timedelta(minutes=1)
        )
        self.hits: list[str] = []

    def limited(self, chat: str) -> bool:
        key = _rate_key(chat)
        if self.counts.get(key, 0) >= PER_MINUTE:
            return True
        self.counts[key] = self.counts.get(key, 0) + 1
        self.hits.append(key)
        return False

    def record(self, session: Session) -> None:
        ratelimit.hit_many(session, self.hits)
        self.hits = []


_CHUNK_LIMITS: ContextVar[ChatLimits | None] = ContextVar("telegram_chunk_limits", default=None)


@contextmanager
def chunk_limits(session: Session, updates: list[dict[str, Any]]) -> Iterator[None]:
    """Handle a chunk of updates under one `ChatLimits`; its events are written at the end."""
    limits = ChatLimits(session, [chat for u in updates if (chat := chat_of(u)) is not None])
    token = _CHUNK_LIMITS.set(limits)
    try:
        yield
    finally:
        _CHUNK_LIMITS.reset(token)
    limits.record(session)


def chat_of(update: dict[str, Any]) -> str | None:
    """The chat an update comes from (a message's, or a button press's message's)."""
    message = update.get("message") or (update.get("callback_query") or {}).get("message")
    chat = (message or {}).get("chat") or {}
    return str(chat["id"]) if "id" in chat else None


def _rate_key(chat: str) -> str:
    return f"telegram:{chat}"


def _limited(chat: str) -> bool:
    limits = _CHUNK_LIMITS.get()
    assert limits is not None, "updates are handled under chunk_limits (see handle)"
    return limits.limited(chat)


# ------------------------------------------------------------------ messages


def _message(session: Session, message: dict[str, Any]) -> Result:
    chat = str(message["chat"]["id"])
    if _limited(chat):
        return Result("rate_limited")
    text = (message.get("text") or "").strip()
    command = text.split()[0].split("@")[0].lower() if text.startswith("/") else None
    if command == "/start" and len(text.split()) > 1:
        return _link(session, chat, text.split()[1])
    if command == "/stop":
        n = linking.unlink_chat_internal(session, chat_id=chat)
        reply = (
            "Done: this chat gets no more messages from Cohort. Ask your institute for a new "
            "link to start again."
            if n
            else "This chat was not linked to Cohort."
        )
        return Result("unlinked" if n else "not_linked", [Send(chat, reply)])
    who = identify(session, chat)
    if not who.known:
        return _unknown(session, chat)
    replied = message.get("reply_to_message") or {}
    if (
        replied
        and (replied.get("from") or {}).get("is_bot")
        and "(action #" in (replied.get("text") or "")
    ):
        return _ignore_with_note(session, who, replied["text"], text)
    if command in QUESTIONS:
        return _question(session, who, QUESTIONS[command])
    if command == "/today":
        return _today(session, who)
    return Result("help", [Send(chat, _help(who))])


def _help(who: Who) -> str:
    names = sorted({u.name for u in who.users} | {g.name for g, _s in who.guardians})
    lines = [f"Hello {', '.join(names)}. You can ask:"]
    if who.students:
        lines.append(STUDENT_COMMANDS)
    if who.staff:
        lines.append(STAFF_COMMANDS)
    lines.append(COMMON)
    return "\n".join(lines)


def _unknown(session: Session, chat: str) -> Result:
    key = f"telegram-unknown:{chat}"
    count, _ = ratelimit.recent(session, key, UNKNOWN_EVERY)
    if count:
        return Result("unknown_chat_quiet")
    ratelimit.hit(session, key)
    return Result("unknown_chat", [Send(chat, UNKNOWN)])


def _link(session: Session, chat: str, code: str) -> Result:
    try:
        linked = linking.link_chat_internal(session, code=code, chat_id=chat)
    except linking.LinkRefused as exc:
        return Result("link_refused", [Send(chat, str(exc))])
    about = (
        f"You will get messages about {linked.guardian_of} here."
        if linked.guardian_of
        else "Your Cohort messages and sign-in codes come here now."
    )
    who = identify(session, chat)
    return Result(
        "linked",
        [Send(chat, f"Linked to {linked.institute} as {linked.name}. {about}\n\n{_help(who)}")],
    )


def _question(session: Session, who: Who, letter: str) -> Result:
    students = who.students
    if not students:
        return Result(
            "not_for_you",
            [Send(who.chat, "Those questions are for students and their guardians.")],
        )
    if len(students) > 1:
        choice: Buttons = [
            [Button(s.name, data=buttons.sign(who.chat, "c", f"{letter}-{s.id}"))] for s in students
        ]
        return Result("choose_child", [Send(who.chat, "About whom?", buttons=choice)])
    return Result("answered", [_about(session, who.chat, students[0], letter)])


def _institute(session: Session, institute_id: int | None) -> Institute:
    institute = session.get(Institute, institute_id)
    assert institute is not None  # a linked person's institute exists (foreign key)
    return institute


def _about(session: Session, chat: str, student: Student, letter: str) -> Send:
    institute = _institute(session, student.institute_id)
    set_tenant(session, institute_id=student.institute_id, super_access=False)
    command = BY_LETTER[letter].lstrip("/")
    if command == "report":
        text, document = answers.report(session, student, institute)
        return Send(chat, text, document=document)
    return Send(chat, answers.ANSWERS[command](session, student, institute))


def _today(session: Session, who: Who) -> Result:
    staff = [u for u in who.staff if u.institute_id is not None]
    if not staff:
        return Result("not_for_you", [Send(who.chat, "/today is for teachers and the office.")])
    lines: list[str] = []
    for user in staff:
        institute = _institute(session, user.institute_id)
        tz = ZoneInfo(institute.timezone)
        day = clock.today_in(institute.timezone)
        set_tenant(session, institute_id=institute.id, super_access=False)
        cards = sessions_for_day(session, actor=actor_of(user), day=day)
        lines.append(f"{institute.name}, {day:%A %d %B}:")
        if not cards:
            lines.append("No classes today.")
        for card in cards:
            state = "not held" if not card.held else card.status
            lines.append(
                f"• {card.starts_at.astimezone(tz):%H:%M} {card.batch}: {state}, "
                f"{card.marked}/{card.students} marked"
            )
    return Result("today", [Send(who.chat, "\n".join(lines))])


def _ignore_with_note(session: Session, who: Who, prompt: str, note: str) -> Result:
    try:
        action_id = int(prompt.rsplit("(action #", 1)[1].split(")", 1)[0])
    except (IndexError, ValueError):
        return Result("help", [Send(who.chat, _help(who))])
    if not note:
        return Result("ignored_empty", [Send(who.chat, "Write why, as a reply to my question.")])
    done = _act(session, who, action_id, Outcome.IGNORED.value, note)
    return Result(done[0], [Send(who.chat, done[1])])


# ------------------------------------------------------------------ buttons


def _press(session: Session, query: dict[str, Any]) -> Result:
    callback = str(query["id"])
    message = query.get("message") or {}
    chat = str((message.get("chat") or {}).get("id") or (query.get("from") or {}).get("id"))
    if _limited(chat):
        return Result("rate_limited", [Answer(callback, "Too many presses; wait a minute.")])
    try:
        pressed = buttons.verify(chat, query.get("data") or "")
    except buttons.BadToken as exc:
        return Result(
            "expired_button" if exc.expired else "bad_button", [Answer(callback, str(exc))]
        )
    who = identify(session, chat)
    if not who.known:
        return Result("unknown_chat", [Answer(callback, "This chat is not linked to Cohort.")])
    shown = (chat, int(message["message_id"])) if message.get("message_id") else None
    if pressed.action in ("ir", "in", "ii"):
        return _inbox_press(session, who, pressed, callback, shown)
    if pressed.action in ("an", "at"):
        return _absence_press(session, who, pressed, callback, shown)
    if pressed.action == "c":
        letter, _, student_id = pressed.ref.partition("-")
        student = next((s for s in who.students if str(s.id) == student_id), None)
        if student is None or letter not in BY_LETTER:
            return Result("not_yours", [Answer(callback, "That is not a student of this chat.")])
        return Result("answered", [Answer(callback), _about(session, chat, student, letter)])
    return Result("bad_button", [Answer(callback, "That button is not one of ours.")])


def _act(
    session: Session, who: Who, action_id: int, outcome: str, note: str | None
) -> tuple[str, str]:
    """Close an inbox action as one of the chat's staff users; (outcome, what to tell them)."""
    action = session.get(PendingAction, action_id)
    staff = [u for u in who.staff if action is not None and u.institute_id == action.institute_id]
    if action is None or not staff:
        return "not_yours", "This chat is not linked to anyone who can act on that."
    set_tenant(session, institute_id=action.institute_id, super_access=False)
    last = "You cannot act on that."
    for user in staff:
        try:
            with session.begin_nested():
                inbox.act(
                    session, actor=actor_of(user), action_id=action_id, outcome=outcome, note=note
                )
        except DomainError as exc:
            last = str(exc)
            continue
        done = {
            Outcome.REVIEWED.value: "Marked reviewed.",
            Outcome.NOTIFIED_GUARDIAN.value: "The guardian will be told.",
            Outcome.IGNORED.value: "Ignored, with your note.",
        }[outcome]
        return "acted", done
    return "refused", last


def _inbox_press(
    session: Session,
    who: Who,
    pressed: buttons.Pressed,
    callback: str,
    shown: tuple[str, int] | None,
) -> Result:
    try:
        action_id = int(pressed.ref)
    except ValueError:
        return Result("bad_button", [Answer(callback, "That button is not one of ours.")])
    if pressed.action == "ii":
        action = session.get(PendingAction, action_id)
        if action is None or not any(u.institute_id == action.institute_id for u in who.staff):
            return Result("not_yours", [Answer(callback, "This chat cannot act on that.")])
        return Result(
            "asked_note",
            [
                Answer(callback, "Reply with a note."),
                Send(who.chat, IGNORE_PROMPT.format(id=action_id), prompt=True),
            ],
        )
    outcome = Outcome.REVIEWED.value if pressed.action == "ir" else Outcome.NOTIFIED_GUARDIAN.value
    result, text = _act(session, who, action_id, outcome, None)
    effects: list[Any] = [Answer(callback, text)]
    if shown and result in ("acted", "refused"):
        effects.append(Clear(*shown))
    return Result(result, effects)


def _absence_press(
    session: Session,
    who: Who,
    pressed: buttons.Pressed,
    callback: str,
    shown: tuple[str, int] | None,
) -> Result:
    guardian_id, _, _class = pressed.ref.partition("-")
    pair = next(((g, s) for g, s in who.guardians if str(g.id) == guardian_id), None)
    if pair is None:
        return Result("not_yours", [Answer(callback, "This chat is not that guardian's.")])
    guardian, student = pair
    institute = _institute(session, guardian.institute_id)
    set_tenant(session, institute_id=guardian.institute_id, super_access=False)
    effects: list[Any] = []
    if pressed.action == "an":
        action, reply = "attendance.absence_noted", "Thank you, noted."
        effects.append(Answer(callback, reply))
        detail: dict[str, Any] = {"guardian": guardian.name, "class": _class}
    else:
        tomorrow = clock.today_in(institute.timezone) + timedelta(days=1)
        told = absence_notice_internal(
            session,
            institute_id=guardian.institute_id,
            student_id=student.id,
            day=tomorrow,
            said_by=f"{guardian.name} ({guardian.relationship})",
        )
        action = "attendance.absence_notice"
        reply = (
            f"Thank you. The teacher of {', '.join(told)} will know {student.name} is away "
            f"on {tomorrow:%A %d %B}."
            if told
            else f"Thank you. {student.name} has no class on {tomorrow:%A %d %B}."
        )
        effects += [Answer(callback, "Thank you."), Send(who.chat, reply)]
        detail = {"guardian": guardian.name, "day": tomorrow.isoformat(), "classes": len(told)}
    audit.record(
        session,
        actor=None,
        action=action,
        target_type="student",
        target_id=student.id,
        detail=detail,
        institute_id=guardian.institute_id,
        source="telegram",
    )
    if shown:
        effects.append(Clear(*shown))
    return Result("acted", effects)
