"""AI-assisted drafting: a teacher (for their batches) or an admin asks the local model
(Ollama, `app.integrations.ollama`) for homework questions or a short quiz on a topic of a
batch's subject, edits the draft, and saves it as real homework or a real assessment.

Off unless OLLAMA_BASE_URL is set. Asking writes only a log row (`AiDraft`: prompt, model, raw
answer, whether it could be used, duration) — also when the model times out, fails or answers
something unusable; nothing else is created until the teacher saves, which goes through the
coursework service (so its checks and audit apply) and links the new work to the log row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.academics import service as academics
from app.academics.models import Batch, Subject, Topic
from app.core import audit, clock
from app.core.errors import Conflict, PermissionDenied, ValidationError
from app.core.ownership import get_owned
from app.core.roles import Role
from app.core.rows import carry
from app.core.tenancy import Actor
from app.coursework import service as coursework
from app.coursework.models import Assessment, Homework
from app.drafting import prompts
from app.drafting.models import AiDraft, DraftKind
from app.identity.models import Institute, User
from app.integrations import ollama

TEACHING = (Role.ADMIN, Role.TEACHER)
NOTES_LIMIT = 500
RAW_LIMIT = 20_000
LIST_LIMIT = 30
OFF_MESSAGE = (
    "AI drafting is off. To turn it on, run a local Ollama server, pull a model "
    "(for example `ollama pull llama3.2`) and set OLLAMA_BASE_URL (for example "
    "http://localhost:11434) and OLLAMA_MODEL, then restart the app."
)


@dataclass(frozen=True)
class Draft:
    """What one request gave: the log row's id and the parsed draft, or the error to show."""

    id: int
    kind: str
    batch_id: int
    topic_id: int
    topic: str
    error: str | None = None
    title: str = ""
    instructions: str = ""
    questions: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    suggested_max_marks: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class DraftLine:
    """A row of the drafting log, for the page's history table."""

    id: int
    created_at: datetime
    author: str
    batch: str
    topic: str
    kind: str
    questions: int
    model: str
    duration_ms: int
    outcome: str
    saved_text: str | None


def enabled() -> bool:
    """Whether a local model is configured (OLLAMA_BASE_URL), so drafting can be offered."""
    return ollama.get_model() is not None


def _batch_and_topic(
    session: Session, actor: Actor, batch_id: int, topic_id: int
) -> tuple[Batch, Topic]:
    batch = academics.taught_batch(session, actor=actor, batch_id=batch_id)
    if not batch.active:
        raise ValidationError(f"{batch.name} is closed; reopen it before setting work.")
    topic = next(
        (
            t
            for t in coursework.batch_topics(session, actor=actor, batch_id=batch.id)
            if t.id == topic_id
        ),
        None,
    )
    if topic is None:
        raise ValidationError("Choose a topic from the batch's syllabus.", field="topic_id")
    return batch, topic


def _kind(kind: str) -> DraftKind:
    try:
        return DraftKind(str(kind or "").strip().lower())
    except ValueError:
        raise ValidationError("Choose what to draft: homework or a quiz.", field="kind") from None


def _content_draft(row: AiDraft, topic: str) -> Draft:
    content = row.content or {}
    questions = tuple(content.get("questions") or ())
    return carry(
        Draft,
        row,
        topic=topic,
        error=None if row.ok else (row.error or "The draft could not be used."),
        title=content.get("title") or f"{topic} — {'quiz' if row.kind == 'quiz' else 'homework'}",
        instructions=content.get("instructions") or "",
        questions=questions,
        answers=tuple(content.get("answers") or ()),
        suggested_max_marks=float(len(questions) * (1 if row.kind == DraftKind.QUIZ else 2)),
    )


def request_draft(
    session: Session,
    *,
    actor: Actor,
    batch_id: int,
    topic_id: int,
    kind: str,
    questions: int = 5,
    notes: str = "",
    model: ollama.ChatModel | None = None,
) -> Draft:
    """Ask the local model for a homework or quiz draft on a topic of one of the actor's batches.
    Writes only the drafting log row — also when the model fails, whose reason is in
    `Draft.error` — and nothing else; the draft becomes work only when saved."""
    actor.require(*TEACHING)
    if actor.user_id is None:
        raise PermissionDenied("Drafting is for signed-in staff.")
    chat = model if model is not None else ollama.get_model()
    if chat is None:
        raise ValidationError(OFF_MESSAGE)
    draft_kind = _kind(kind)
    try:
        count = int(questions)
    except (TypeError, ValueError):
        raise ValidationError("Say how many questions, as a number.", field="questions") from None
    if not 1 <= count <= prompts.MAX_QUESTIONS:
        raise ValidationError(
            f"Ask for between 1 and {prompts.MAX_QUESTIONS} questions.", field="questions"
        )
    notes = " ".join((notes or "").split())
    if len(notes) > NOTES_LIMIT:
        raise ValidationError(
            f"Keep the notes for the model under {NOTES_LIMIT} characters.", field="notes"
        )
    batch, topic = _batch_and_topic(session, actor, batch_id, topic_id)
    subject = session.get(Subject, batch.subject_id)
    institute = session.get(Institute, batch.institute_id)
    messages = prompts.messages(
        kind=draft_kind.value,
        institute=institute.name,
        subject=subject.name,
        batch=batch.name,
        level=batch.level,
        topic=topic.name,
        count=count,
        notes=notes,
    )
    started = time.monotonic()
    raw: str | None = None
    content: dict | None = None
    error: str | None = None
    try:
        raw = chat.reply(messages)
        parsed = prompts.parse_draft(raw, kind=draft_kind.value, count=count)
        content = parsed.as_dict()
    except (ollama.ModelUnavailable, prompts.UnusableDraft) as exc:
        error = f"{exc} Nothing was created; try again, or write the work yourself."
    row = AiDraft(
        institute_id=batch.institute_id,
        user_id=actor.user_id,
        batch_id=batch.id,
        topic_id=topic.id,
        kind=draft_kind.value,
        questions=count,
        model=str(getattr(chat, "model", type(chat).__name__))[:120],
        prompt="\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages),
        raw_output=raw[:RAW_LIMIT] if raw is not None else None,
        ok=error is None,
        error=error[:500] if error else None,
        content=content,
        duration_ms=max(0, round((time.monotonic() - started) * 1000)),
    )
    session.add(row)
    session.flush()
    return _content_draft(row, topic.name)


def _own_draft(session: Session, actor: Actor, draft_id: int) -> AiDraft:
    row = get_owned(session, AiDraft, actor, draft_id, "draft")
    if row.user_id != actor.user_id:
        raise PermissionDenied("That draft is someone else's; ask for your own.")
    if not row.ok:
        raise ValidationError("That draft could not be used; ask for a new one.")
    return row


def get_draft(session: Session, *, actor: Actor, draft_id: int) -> Draft:
    """One of the actor's own drafts, to keep editing it."""
    actor.require(*TEACHING)
    row = _own_draft(session, actor, draft_id)
    topic = session.get(Topic, row.topic_id)
    return _content_draft(row, topic.name if topic else "")


def _claim(session: Session, actor: Actor, draft_id: int, kind: DraftKind) -> AiDraft:
    """The draft, marked saved in the same statement that checks it was not (a second click or
    tab gets a plain refusal, never a second piece of work)."""
    row = _own_draft(session, actor, draft_id)
    if row.kind != kind:
        raise ValidationError(
            "This is a quiz draft; save it as a quiz."
            if row.kind == DraftKind.QUIZ
            else "This is a homework draft; save it as homework."
        )
    claimed = session.execute(
        update(AiDraft)
        .where(
            AiDraft.id == row.id,
            AiDraft.institute_id == row.institute_id,
            col(AiDraft.saved_at).is_(None),
        )
        .values(saved_at=clock.now())
    ).rowcount
    if claimed != 1:
        raise Conflict(
            "This draft has already been saved; find it on the Homework or Assessments page."
        )
    session.refresh(row)
    return row


def _lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in (text or "").strip().splitlines())


def _record_save(
    session: Session, actor: Actor, row: AiDraft, saved_text: str, made: dict[str, int | None]
) -> None:
    """Keep the text the teacher saved with the draft and audit what the draft became."""
    row.saved_text = saved_text
    audit.save_audited(
        session,
        row,
        "ai_draft.save",
        actor=actor,
        detail={**made, "batch_id": row.batch_id, "model": row.model},
    )


def save_as_homework(
    session: Session,
    *,
    actor: Actor,
    draft_id: int,
    title: str,
    instructions: str,
    due_on: date,
    assigned_on: date | None = None,
    max_marks: float | None = None,
) -> Homework:
    """Set the (edited) homework draft for its batch as real homework on the draft's topic."""
    actor.require(*TEACHING)
    row = _claim(session, actor, draft_id, DraftKind.HOMEWORK)
    instructions = _lines(instructions)
    if not instructions:
        raise ValidationError("Write the instructions and questions.", field="instructions")
    homework = coursework.create_homework(
        session,
        actor=actor,
        batch_id=row.batch_id,
        title=title,
        instructions=instructions,
        due_on=due_on,
        assigned_on=assigned_on,
        topic_id=row.topic_id,
        max_marks=max_marks,
    )
    row.homework_id = homework.id
    _record_save(session, actor, row, instructions, {"homework_id": homework.id})
    return homework


def save_as_quiz(
    session: Session,
    *,
    actor: Actor,
    draft_id: int,
    title: str,
    questions: str,
    answers: str,
    max_marks: float,
    held_on: date,
) -> Assessment:
    """Create the (edited) quiz draft as a real quiz assessment on the draft's topic; the
    questions and answers stay with the draft for the teacher."""
    actor.require(*TEACHING)
    row = _claim(session, actor, draft_id, DraftKind.QUIZ)
    questions, answers = _lines(questions), _lines(answers)
    if not questions:
        raise ValidationError("Write the quiz questions.", field="questions")
    assessment = coursework.create_assessment(
        session,
        actor=actor,
        batch_id=row.batch_id,
        kind="quiz",
        title=title,
        max_marks=max_marks,
        held_on=held_on,
        topic_id=row.topic_id,
    )
    row.assessment_id = assessment.id
    _record_save(
        session,
        actor,
        row,
        f"Questions\n{questions}\n\nAnswers\n{answers}".strip(),
        {"assessment_id": assessment.id},
    )
    return assessment


def list_drafts(session: Session, *, actor: Actor, limit: int = LIST_LIMIT) -> list[DraftLine]:
    """The drafting log, newest first: a teacher's own requests, or the whole institute's for an
    admin — what was asked, of which model, how long it took and what became of it."""
    actor.require(*TEACHING)
    query = (
        select(AiDraft, User.name, Batch.name, Topic.name)
        .join(User, User.id == AiDraft.user_id)
        .join(Batch, Batch.id == AiDraft.batch_id)
        .join(Topic, Topic.id == AiDraft.topic_id)
        .where(AiDraft.institute_id == actor.institute_scope())
        .order_by(col(AiDraft.id).desc())
        .limit(limit)
    )
    if actor.role == Role.TEACHER:
        query = query.where(AiDraft.user_id == actor.user_id)
    lines = []
    for row, author, batch, topic in session.exec(query).all():
        if row.homework_id:
            outcome = "saved as homework"
        elif row.assessment_id:
            outcome = "saved as a quiz"
        elif row.ok:
            outcome = "not saved"
        else:
            outcome = f"failed: {row.error}"
        lines.append(
            carry(
                DraftLine,
                row,
                author=author,
                batch=batch,
                topic=topic,
                outcome=outcome,
            )
        )
    return lines
