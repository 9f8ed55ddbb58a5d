"""The Ops desk conversation: asking (rules first, a question when something is missing), previews waiting for confirmation, confirming and cancelling."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.core import audit, clock
from app.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from app.core.ownership import find_owned
from app.core.tenancy import Actor
from app.identity.models import Institute
from app.integrations import ollama
from app.opsdesk import parser as rules
from app.opsdesk.assistant import unknown
from app.opsdesk.common import LABELS, MAX_ROWS, STAFF, AskUser, Context, Reply
from app.opsdesk.history import help_text
from app.opsdesk.intents import absences, balances, invoices, payments, risk, summary
from app.opsdesk.models import Author, DeskMessage, DeskStatus, Kind


def ask(
    session: Session, *, actor: Actor, text: str, model: ollama.ChatModel | None = None
) -> DeskMessage:
    """Take one request: reply with a preview to confirm, a question, an answer or a refusal
    (requests the rules do not understand go to the local model, if any, for text only). Writes
    only the desk's history; returns the desk's reply."""
    actor.require(*STAFF)
    institute_id = actor.institute_scope()
    if actor.user_id is None:
        raise PermissionDenied("The Ops desk is for signed-in staff.")
    text = " ".join((text or "").split())
    if not text:
        raise ValidationError("Type a request, for example: " + rules.EXAMPLES[rules.LIST_RISK])
    if len(text) > 2000:
        raise ValidationError(
            "That is too long for the desk; keep a request under 2,000 characters."
        )
    institute = session.get(Institute, institute_id)
    ctx = Context(session, actor, institute, clock.today_in(institute.timezone))
    question = _open_question(session, actor)
    parsed = rules.parse(text, today=ctx.today)
    if parsed.intent == rules.UNKNOWN and _YES.fullmatch(text.lower().strip(" .!")):
        waiting = _pending_preview(session, actor)
        if waiting is not None:
            # Only the button acts: a typed "yes" might have been meant for something else.
            _write(session, actor, Author.USER, Reply(Kind.REQUEST, text, intent=rules.UNKNOWN))
            return _write(
                session,
                actor,
                Author.DESK,
                Reply(
                    Kind.ANSWER,
                    "To go ahead, press **Confirm** under the preview above (or Cancel).",
                    intent=waiting.intent,
                ),
            )
    reply: Reply | None = None
    if question is not None and parsed.intent == rules.UNKNOWN:
        reply = _answer_question(ctx, question, text)
    if reply is None:
        if parsed.intent == rules.UNKNOWN:
            reply = unknown(ctx, text, model if model is not None else ollama.get_model())
        elif parsed.intent == rules.HELP:
            reply = Reply(Kind.ANSWER, help_text(actor.role), intent=rules.HELP)
        else:
            reply = _handle(ctx, parsed.intent, dict(parsed.args))
    # Only the newest preview or question stays open: what is confirmed is what was last shown.
    session.execute(
        update(DeskMessage)
        .where(
            DeskMessage.institute_id == institute_id,
            DeskMessage.user_id == actor.user_id,
            col(DeskMessage.status).in_([DeskStatus.PENDING.value, DeskStatus.OPEN.value]),
        )
        .values(status=DeskStatus.EXPIRED.value)
    )
    if question is not None and reply.payload and reply.payload.get("answers") == question.id:
        session.execute(
            update(DeskMessage)
            .where(DeskMessage.id == question.id)
            .values(status=DeskStatus.ANSWERED.value)
        )
    _write(session, actor, Author.USER, Reply(Kind.REQUEST, text, intent=parsed.intent))
    return _write(session, actor, Author.DESK, reply)


def _write(session: Session, actor: Actor, author: Author, reply: Reply) -> DeskMessage:
    row = DeskMessage(
        institute_id=actor.institute_scope(),
        user_id=actor.user_id,
        author=author.value,
        kind=reply.kind.value,
        intent=reply.intent,
        text=reply.text[:8000],
        rows=reply.rows[:MAX_ROWS] if reply.rows else None,
        payload=reply.payload,
        status=reply.status.value if reply.status else None,
    )
    session.add(row)
    session.flush()
    return row


_YES = re.compile(r"(?:yes|y|yep|yeah|ok|okay|confirm(?:ed)?|go ahead|do it|sure|proceed)")


def _pending_preview(session: Session, actor: Actor) -> DeskMessage | None:
    return session.exec(
        select(DeskMessage).where(
            DeskMessage.institute_id == actor.institute_scope(),
            DeskMessage.user_id == actor.user_id,
            DeskMessage.status == DeskStatus.PENDING.value,
        )
    ).first()


def _open_question(session: Session, actor: Actor) -> DeskMessage | None:
    last = session.exec(
        select(DeskMessage)
        .where(
            DeskMessage.institute_id == actor.institute_scope(),
            DeskMessage.user_id == actor.user_id,
            DeskMessage.author == Author.DESK.value,
        )
        .order_by(col(DeskMessage.id).desc())
        .limit(1)
    ).first()
    if last is not None and last.status == DeskStatus.OPEN.value:
        return last
    return None


def _handle(ctx: Context, intent: str, args: dict[str, Any]) -> Reply:
    handler = HANDLERS[intent]
    try:
        return handler(ctx, args)
    except AskUser as need:
        return Reply(
            Kind.QUESTION,
            need.question,
            intent=intent,
            rows=need.rows,
            payload={
                "intent": need.intent,
                "args": need.known,
                "missing": need.missing,
                "options": need.options,
            },
            status=DeskStatus.OPEN,
        )
    except PermissionDenied as exc:
        audit.record(
            ctx.session,
            actor=ctx.actor,
            action="auth.permission_denied",
            detail={"operation": f"opsdesk.{intent}", "message": exc.message},
        )
        return Reply(
            Kind.ERROR,
            f"{exc.message} You cannot {LABELS[intent]} from the desk with your role"
            f" ({ctx.actor.role.label.lower()}); nothing was done.",
            intent=intent,
        )
    except DomainError as exc:
        return Reply(Kind.ERROR, exc.message, intent=intent)


def _answer_question(ctx: Context, question: DeskMessage, text: str) -> Reply | None:
    """Fill what the open question asked for from the answer, then try the request again.
    None when the answer gives nothing the question wanted (it is then a new request)."""
    state = question.payload or {}
    args = dict(state.get("args") or {})
    missing = list(state.get("missing") or [])
    filled = False
    options = state.get("options") or []
    if options:
        chosen = _pick(options, text)
        if chosen is None:
            return None
        args[chosen["field"]] = chosen["id"]
        filled = True
    else:
        for need in missing:
            value = _fill(need, text, ctx.today, alone=len(missing) == 1)
            if value:
                args.update(value)
                filled = True
    if not filled:
        return None
    reply = _handle(ctx, state["intent"], args)
    reply.payload = {**(reply.payload or {}), "answers": question.id}
    return reply


def _pick(options: list[dict[str, Any]], text: str) -> dict[str, Any] | None:
    answer = text.strip().strip(".!").lower()
    m = re.fullmatch(r"(?:#|no\.?\s*|number\s+|option\s+|the\s+)?(\d{1,3})(?:st|nd|rd|th)?", answer)
    if m and 1 <= int(m.group(1)) <= len(options):
        return options[int(m.group(1)) - 1]
    ordinals = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"]
    for n, word in enumerate(ordinals[: len(options)]):
        if re.search(rf"\b{word}\b", answer):
            return options[n]
    exact = [o for o in options if answer in {k.lower() for k in o.get("keys", [])}]
    if len(exact) == 1:
        return exact[0]
    partial = [o for o in options if answer and answer in o["label"].lower()]
    return partial[0] if len(partial) == 1 else None


def _fill(need: str, text: str, today: date, *, alone: bool) -> dict[str, Any]:
    if need == "amount":
        amount = rules.parse_amount(rules.REFERENCE.sub(" ", text))
        return {"amount": amount} if amount else {}
    if need == "method":
        method = rules.parse_method(rules.REFERENCE.sub(" ", text))
        return {"method": method} if method else {}
    if need == "reference":
        reference = rules.parse_reference(text)
        if (
            not reference
            and alone
            and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9/_-]{1,60}", text.strip())
        ):
            reference = text.strip()
        return {"reference": reference} if reference else {}
    if need == "student":
        student = rules.parse_student(text)
        if not student and alone and re.fullmatch(r"[A-Za-z][A-Za-z .'-]{1,80}", text.strip()):
            student = text.strip()
        return {"student": student} if student else {}
    if need == "credit":
        if re.search(r"\bcredit\b|\brecord the rest\b", text, re.IGNORECASE):
            return {"allow_credit": True}
        amount = rules.parse_amount(rules.REFERENCE.sub(" ", text))
        return {"amount": amount} if amount else {}
    if need == "period":
        period = rules.parse_period(text, today)
        return {"period": period[0], "period_label": period[1]} if period else {}
    if need == "target":
        target = rules.parse_target(text)
        if not target and alone and re.fullmatch(r"[\w][\w .&'-]{0,80}", text.strip()):
            target = {"target_kind": "any", "target": text.strip()}
        return target
    return {}


HANDLERS = {
    rules.GENERATE_INVOICES: invoices.preview,
    rules.RECORD_PAYMENT: payments.preview,
    rules.NOTIFY_BALANCES: balances.preview,
    rules.LIST_RISK: risk.preview,
    rules.MARK_ABSENT: absences.preview,
    rules.STUDENT_SUMMARY: summary.preview,
}


def _own_preview(session: Session, actor: Actor, message_id: int) -> DeskMessage:
    row = find_owned(session, DeskMessage, message_id, actor.institute_scope())
    if row is None or row.user_id != actor.user_id or row.kind != Kind.PREVIEW.value:
        raise NotFound("There is no such request to confirm.")
    return row


_NOT_PENDING = {
    DeskStatus.DONE.value: "This was already done; nothing more happened.",
    DeskStatus.FAILED.value: "This was tried and refused; ask again once the reason is fixed.",
    DeskStatus.CANCELLED.value: "This was cancelled; ask again if you still want it.",
    DeskStatus.EXPIRED.value: "A newer request replaced this one; ask again if you still want it.",
}


def confirm(session: Session, *, actor: Actor, message_id: int) -> DeskMessage:
    """Carry out a previewed request through its own service, once however often it is
    confirmed; a refusal is kept with its reason and nothing of the action is written.
    Returns the desk's reply saying what was done."""
    actor.require(*STAFF)
    preview = _own_preview(session, actor, message_id)
    claimed = session.execute(
        update(DeskMessage)
        .where(DeskMessage.id == preview.id, DeskMessage.status == DeskStatus.PENDING.value)
        .values(status=DeskStatus.DONE.value, acted_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        session.refresh(preview)
        raise Conflict(_NOT_PENDING.get(preview.status or "", "This cannot be confirmed."))
    session.refresh(preview)
    payload = dict(preview.payload or {})
    _write(session, actor, Author.USER, Reply(Kind.REQUEST, "Confirm", intent=preview.intent))
    try:
        with session.begin_nested():
            reply = ACTIONS[payload["intent"]](session, actor, payload)
    except DomainError as exc:
        if isinstance(exc, PermissionDenied):
            audit.record(
                session,
                actor=actor,
                action="auth.permission_denied",
                detail={"operation": f"opsdesk.{payload['intent']}", "message": exc.message},
            )
        preview.status = DeskStatus.FAILED.value
        session.add(preview)
        return _write(
            session,
            actor,
            Author.DESK,
            Reply(Kind.ERROR, f"Not done: {exc.message}", intent=preview.intent),
        )
    audit.on(
        session,
        actor,
        "opsdesk.confirm",
        preview.id,
        {"intent": payload["intent"]},
        target_type="ops_desk_message",
    )
    return _write(session, actor, Author.DESK, reply)


def cancel(session: Session, *, actor: Actor, message_id: int) -> DeskMessage:
    """Drop a previewed request: nothing is done."""
    actor.require(*STAFF)
    preview = _own_preview(session, actor, message_id)
    if preview.status != DeskStatus.PENDING.value:
        raise Conflict(_NOT_PENDING.get(preview.status or "", "This cannot be cancelled."))
    preview.status, preview.acted_at = DeskStatus.CANCELLED.value, clock.now()
    session.add(preview)
    _write(session, actor, Author.USER, Reply(Kind.REQUEST, "Cancel", intent=preview.intent))
    return _write(
        session,
        actor,
        Author.DESK,
        Reply(Kind.RESULT, "Cancelled; nothing was done.", intent=preview.intent),
    )


ACTIONS = {
    rules.GENERATE_INVOICES: invoices.execute,
    rules.RECORD_PAYMENT: payments.execute,
    rules.NOTIFY_BALANCES: balances.execute,
    rules.MARK_ABSENT: absences.execute,
}
