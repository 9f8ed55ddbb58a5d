"""The Ops desk: staff type plain requests; the desk shows exactly what it will do and does it
only after Confirm, through the same services (and so the same permissions) as the pages.

`ask` reads a request with the rules in `parser`, resolves students, batches and fee structures
in the actor's institute, and replies with a preview to confirm, a clarifying question, an
answer (reads need no confirmation), or a refusal. Requests the rules do not understand go to
the local model when one is configured (`app.integrations.ollama`); its text is shown as it is
and never acts. `confirm` carries out a preview once, however often it is clicked. Everything
either says is kept per institute and user (`DeskMessage`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.academics import service as academics
from app.academics.models import Batch, BatchMembership, Student
from app.attendance import service as attendance
from app.attendance.models import Mark
from app.core import audit, clock
from app.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from app.core.money import format_money, to_minor
from app.core.roles import Role
from app.core.tenancy import Actor
from app.core.text import plural
from app.fees import alerts as fee_alerts
from app.fees import periods, receipts
from app.fees import service as fees
from app.fees.receipts import METHOD_LABELS
from app.identity.models import Institute
from app.integrations import ollama
from app.opsdesk import parser as rules
from app.opsdesk.models import Author, DeskMessage, DeskStatus, Kind
from app.risk import service as risk

STAFF = (Role.ADMIN, Role.TEACHER, Role.COUNSELOR)
HISTORY_LIMIT = 50
MAX_ROWS = 200  # preview rows kept with a message; the text gives the full count
MODEL_CONTEXT = 6  # earlier turns sent to the model with a new question

LABELS = {
    rules.GENERATE_INVOICES: "generate invoices",
    rules.RECORD_PAYMENT: "record payments",
    rules.NOTIFY_BALANCES: "notify guardians about fee balances",
    rules.LIST_RISK: "list students at risk",
    rules.MARK_ABSENT: "mark students absent",
    rules.STUDENT_SUMMARY: "see student summaries",
}
# Who the help text offers each request to (the services themselves decide).
OFFERED = {
    rules.GENERATE_INVOICES: {Role.ADMIN},
    rules.RECORD_PAYMENT: {Role.ADMIN},
    rules.NOTIFY_BALANCES: {Role.ADMIN, Role.COUNSELOR},
    rules.LIST_RISK: set(STAFF),
    rules.MARK_ABSENT: {Role.ADMIN, Role.TEACHER},
    rules.STUDENT_SUMMARY: set(STAFF),
}


@dataclass
class Reply:
    kind: Kind
    text: str
    intent: str | None = None
    rows: list[dict[str, Any]] | None = None
    payload: dict[str, Any] | None = None
    status: DeskStatus | None = None


class _Ask(Exception):
    """A handler needs one more detail: the question, and what it knows so far."""

    def __init__(
        self,
        question: str,
        intent: str,
        known: dict[str, Any],
        missing: list[str],
        *,
        options: list[dict[str, Any]] | None = None,
        rows: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(question)
        self.question, self.intent, self.known, self.missing = question, intent, known, missing
        self.options, self.rows = options or [], rows


@dataclass
class _Context:
    session: Session
    actor: Actor
    institute: Institute
    today: date

    @property
    def currency(self) -> str:
        return self.institute.currency

    def money(self, minor: int) -> str:
        return format_money(minor, self.currency)


# ------------------------------------------------------------------ reading the history


def history(session: Session, *, actor: Actor, limit: int = HISTORY_LIMIT) -> list[DeskMessage]:
    """The signed-in person's last `limit` desk messages (theirs and the desk's), oldest first."""
    actor.require(*STAFF)
    rows = session.exec(
        select(DeskMessage)
        .where(
            DeskMessage.institute_id == actor.institute_scope(),
            DeskMessage.user_id == actor.user_id,
        )
        .order_by(col(DeskMessage.id).desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def help_text(role: Role) -> str:
    """What the desk can do for this role, with an example of each."""
    lines = [
        f"- {LABELS[intent].capitalize()}: “{example}”"
        for intent, example in rules.EXAMPLES.items()
        if Role(role) in OFFERED[intent]
    ]
    return (
        "Here is what I can do (in your own words is fine):\n"
        + "\n".join(lines)
        + "\n\nI show what I will do first and act only when you press Confirm."
    )


# ------------------------------------------------------------------ asking


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
    ctx = _Context(session, actor, institute, clock.today_in(institute.timezone))
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
            reply = _unknown(ctx, text, model if model is not None else ollama.get_model())
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


def _handle(ctx: _Context, intent: str, args: dict[str, Any]) -> Reply:
    handler = HANDLERS[intent]
    try:
        return handler(ctx, args)
    except _Ask as need:
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


def _answer_question(ctx: _Context, question: DeskMessage, text: str) -> Reply | None:
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


# ------------------------------------------------------------------ requests the rules miss


SYSTEM_PROMPT = (
    "You are the help assistant of the Ops desk in Cohort, the software that runs {institute}, an "
    "education institute. Answer staff in a few short, plain sentences. You cannot see the "
    "institute's records and you cannot do anything: never say that you did, will do or "
    "scheduled an action, and never invent names, amounts or dates. The desk itself carries out "
    "these requests when they are typed like the examples:\n{examples}\nIf the person seems to "
    "want one of these, tell them the exact words to type."
)


MODEL_NOTE = "\n\n_(Answer from the local assistant; it cannot act and nothing was done.)_"


def _unknown(ctx: _Context, text: str, model: ollama.ChatModel | None) -> Reply:
    if model is None:
        return Reply(
            Kind.ANSWER,
            "I did not understand that request. " + help_text(ctx.actor.role),
            intent=rules.UNKNOWN,
        )
    examples = "\n".join(f"- {example}" for example in rules.EXAMPLES.values())
    messages = [
        {
            "role": "system",
            "content": SYSTEM_PROMPT.format(institute=ctx.institute.name, examples=examples),
        }
    ]
    for earlier in history(ctx.session, actor=ctx.actor, limit=MODEL_CONTEXT):
        if earlier.kind in (Kind.REQUEST.value, Kind.MODEL.value, Kind.ANSWER.value):
            role = "user" if earlier.author == Author.USER.value else "assistant"
            said = earlier.text.split(MODEL_NOTE)[0].strip()
            messages.append({"role": role, "content": said[:1000]})
    messages.append({"role": "user", "content": text})
    try:
        answer = model.reply(messages)
    except ollama.ModelUnavailable as exc:
        return Reply(
            Kind.ERROR,
            f"I did not understand that, and the local assistant could not help: {exc} "
            "Nothing was done. Type “help” to see what I can do.",
            intent=rules.UNKNOWN,
        )
    return Reply(
        Kind.MODEL,
        answer.strip()[:6000] + MODEL_NOTE,
        intent=rules.UNKNOWN,
    )


# ------------------------------------------------------------------ resolving names


def _resolve_student(ctx: _Context, args: dict[str, Any], intent: str) -> Student:
    """The one student the request means (a teacher: among their own students), or a question."""
    if args.get("student_id"):
        return academics.get_student(ctx.session, actor=ctx.actor, student_id=args["student_id"])
    ref = (args.get("student") or "").strip()
    if not ref:
        raise _Ask(
            "Which student? Give the enrollment number or the name.",
            intent,
            args,
            ["student"],
        )
    found = academics.list_students(ctx.session, actor=ctx.actor, search=ref, limit=50)
    if rules.ENROLLMENT.fullmatch(ref):
        exact = [s for s in found if s.enrollment_no.lower() == ref.lower()]
        if len(exact) == 1:
            return exact[0]
    named = [s for s in found if s.name.lower() == ref.lower()]
    candidates = named or found
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise NotFound(
            f"No student matches “{ref}”. Check the enrollment number or the spelling of the name."
        )
    shown = candidates[:10]
    raise _Ask(
        f"{len(candidates)} students match “{ref}”. Which one? Reply with the number or the "
        "enrollment number.",
        intent,
        {k: v for k, v in args.items() if k != "student"},
        ["student"],
        options=[
            {
                "field": "student_id",
                "id": s.id,
                "label": f"{s.name} ({s.enrollment_no})",
                "keys": [s.enrollment_no, s.name],
            }
            for s in shown
        ],
        rows=[
            {"#": n, "Student": s.name, "Enrollment": s.enrollment_no, "Status": s.status}
            for n, s in enumerate(shown, start=1)
        ],
    )


@dataclass(frozen=True)
class _Target:
    batch_id: int | None
    level: str | None
    label: str


def _resolve_target(
    ctx: _Context, args: dict[str, Any], intent: str, *, required: bool
) -> _Target | None:
    """The batch or level the request names (a teacher: among their own batches)."""
    if args.get("batch_id"):
        batches = academics.list_batches(ctx.session, actor=ctx.actor)
        batch = next((b for b in batches if b.id == args["batch_id"]), None)
        if batch is None:
            raise NotFound("That batch does not exist or is closed.")
        return _Target(batch.id, None, f"batch {batch.name}")
    kind, text = args.get("target_kind"), (args.get("target") or "").strip()
    if kind == "all":
        return _Target(None, None, "all active students")
    if not text:
        if not required:
            return None
        raise _Ask(
            "For which batch or level? (or say “all students”)",
            intent,
            args,
            ["target"],
        )
    batches = academics.list_batches(ctx.session, actor=ctx.actor)
    lowered = text.lower()
    levels = sorted({b.level for b in batches if b.level})
    # An exact batch name wins ("class Grade 4 East" is the batch, not level Grade 4), then a
    # level ("class 10", "grade 4", "level XI"); a name matching several batches is a question.
    if kind in ("batch", "class", "any"):
        names = {lowered, _bare_level(lowered, once=True)}
        exact = [b for b in batches if b.name.lower() in names]
        if len(exact) == 1:
            return _Target(exact[0].id, None, f"batch {exact[0].name}")
    if kind in ("level", "class", "any"):
        bare = _bare_level(lowered)
        level = next(
            (lv for lv in levels if lv.lower() == lowered or _bare_level(lv.lower()) == bare),
            None,
        )
        if level is not None:
            return _Target(
                None,
                level,
                level if _bare_level(level.lower()) != level.lower() else f"level {level}",
            )
    if kind in ("batch", "class", "any"):
        partial = [b for b in batches if any(n and n in b.name.lower() for n in names)]
        if len(partial) == 1:
            return _Target(partial[0].id, None, f"batch {partial[0].name}")
        if partial:
            raise _Ask(
                f"{len(partial)} batches match “{text}”. Which one?",
                intent,
                {k: v for k, v in args.items() if k not in ("target", "target_kind")},
                ["target"],
                options=[
                    {"field": "batch_id", "id": b.id, "label": b.name, "keys": [b.name]}
                    for b in partial[:10]
                ],
                rows=[
                    {"#": n, "Batch": b.name, "Level": b.level or "", "Students": b.members}
                    for n, b in enumerate(partial[:10], start=1)
                ],
            )
    known = ", ".join(b.name for b in batches[:12]) or "none yet"
    extra = f" Levels: {', '.join(levels)}." if levels else ""
    raise NotFound(f"No batch or level is called “{text}”. Batches: {known}.{extra}")


def _bare_level(text: str, *, once: bool = False) -> str:
    """ "class grade 4" → "4" (every leading level word off); once: "class grade 4" → "grade 4"."""
    pattern = r"^(?:level|grade|class|standard|std\.?|form)\s+"
    text = text.strip()
    if once:
        return re.sub(pattern, "", text, count=1)
    while re.match(pattern, text):
        text = re.sub(pattern, "", text, count=1)
    return text


def _batch_names_of(ctx: _Context, student_id: int) -> list[str]:
    return list(
        ctx.session.exec(
            select(Batch.name)
            .join(BatchMembership, BatchMembership.batch_id == Batch.id)
            .where(
                BatchMembership.institute_id == ctx.institute.id,
                Batch.institute_id == ctx.institute.id,
                BatchMembership.student_id == student_id,
                col(BatchMembership.left_on).is_(None),
            )
            .order_by(Batch.name)
        )
    )


# ------------------------------------------------------------------ the requests


def _generate_invoices(ctx: _Context, args: dict[str, Any]) -> Reply:
    intent = rules.GENERATE_INVOICES
    structures = fees.list_structures(ctx.session, actor=ctx.actor)
    target = _resolve_target(ctx, args, intent, required=True)
    if not structures:
        raise ValidationError("There is no fee structure yet. Create one on the Fees page first.")
    said = args.get("period")
    if args.get("structure_id"):
        chosen = [s for s in structures if s.id == args["structure_id"]]
        if not chosen:
            raise NotFound("That fee structure does not exist.")
    elif said and "-T" in said:
        # A term was named: only per-term structures bill terms.
        chosen = [s for s in structures if s.period_kind == "term"]
        if not chosen:
            raise _Ask(
                f"{', '.join(s.name for s in structures)} "
                f"{'is' if len(structures) == 1 else 'are'} billed per month, not per term. "
                "For which month? (for example: December)",
                intent,
                {k: v for k, v in args.items() if k not in ("period", "period_label")},
                ["period"],
            )
    elif said:
        # A month was named: monthly structures bill it; a per-term structure bills the term
        # containing it (the one billing-period rule).
        chosen = [s for s in structures if s.period_kind == "month"] or structures
    else:
        chosen = structures
    if len(chosen) > 1:
        raise _Ask(
            "Which fee structure should I bill from?",
            intent,
            args,
            ["structure"],
            options=[
                {"field": "structure_id", "id": s.id, "label": s.name, "keys": [s.name]}
                for s in chosen
            ],
            rows=[
                {"#": n, "Fee structure": s.name, "Billed per": s.period_kind}
                for n, s in enumerate(chosen, start=1)
            ],
        )
    terms = ctx.institute.term_starts
    if not said:
        period = fees.billing_period(chosen[0], ctx.today, term_starts=terms)
    elif "-T" in said:
        if periods.term_by_key(said, terms) is None:
            count = len(periods.parse_term_starts(terms))
            raise _Ask(
                f"This institute has {plural(count, 'term')} a year, so there is no "
                f"{args.get('period_label') or said}. For which term? (for example: term 1)",
                intent,
                {k: v for k, v in args.items() if k not in ("period", "period_label")},
                ["period"],
            )
        period = said
    else:
        month = date.fromisoformat(f"{said}-01")
        period = fees.billing_period(chosen[0], month, term_starts=terms)
    period_label = periods.period_label(period, terms)
    structure = chosen[0]
    scope: dict[str, Any] = {"batch_id": target.batch_id, "level": target.level}
    if target.batch_id is None and target.level is None:
        scope = {
            "student_ids": [
                s.id
                for s in academics.list_students(
                    ctx.session, actor=ctx.actor, status="active", limit=100_000
                )
            ]
        }
    plan = fees.preview_invoice_run(
        ctx.session, actor=ctx.actor, structure_id=structure.id, period=period, **scope
    )
    if not plan.items:
        raise ValidationError(f"{structure.name} has no fee items to bill.")
    if not plan.students:
        return Reply(
            Kind.ANSWER,
            f"Nothing to do: every active student of {target.label} already has a {period_label} "
            f"invoice from {structure.name} ({plural(plan.already, 'invoice')}).",
            intent=intent,
        )
    names = {
        s.id: s
        for s in academics.list_students(
            ctx.session, actor=ctx.actor, batch_id=target.batch_id, limit=100_000
        )
    }
    rows = [
        {
            "Student": names[sid].name if sid in names else f"#{sid}",
            "Enrollment": names[sid].enrollment_no if sid in names else "",
            "Amount": ctx.money(plan.net_of(sid)),
            "Discount": ctx.money(plan.discount_of(sid)) if plan.discount_of(sid) else "",
        }
        for sid in plan.students
    ]
    optional = (
        " Optional items are not included; add them on the Fees page."
        if any(
            i.optional
            for i in fees.structure_items(ctx.session, actor=ctx.actor, structure_id=structure.id)
        )
        else ""
    )
    already = (
        f" {plural(plan.already, 'student')} already "
        f"{'has one and is' if plan.already == 1 else 'have one and are'} skipped."
        if plan.already
        else ""
    )
    return Reply(
        Kind.PREVIEW,
        f"I will create **{plural(len(plan.students), 'invoice')}** from *{structure.name}* for "
        f"**{period_label}** (period {period}) for {target.label}: "
        f"{ctx.money(plan.per_student_minor)} each, total **{ctx.money(plan.total_minor)}**."
        f"{already}{optional}",
        intent=intent,
        rows=rows,
        payload={
            "intent": intent,
            "structure_id": structure.id,
            "period": period,
            "period_label": period_label,
            "student_ids": plan.students,
            "label": target.label,
        },
        status=DeskStatus.PENDING,
    )


def _record_payment(ctx: _Context, args: dict[str, Any]) -> Reply:
    intent = rules.RECORD_PAYMENT
    # The payments register is the fee service's own permission (admins): checked before any
    # question is asked, so a role that may not take payments is told so at once.
    receipts.payments_of(ctx.session, actor=ctx.actor, limit=1)
    student = _resolve_student(ctx, args, intent)
    args = {**args, "student_id": student.id}
    questions = {
        "amount": "how much was paid",
        "method": "how it was paid (cash, bank transfer, card, UPI, M-Pesa or other)",
        "reference": "the transaction reference (for cash, the counter slip number)",
    }
    missing = [k for k in questions if not args.get(k)]
    if missing:
        wanted = [questions[k] for k in missing]
        sentence = wanted[0] if len(wanted) == 1 else ", ".join(wanted[:-1]) + " and " + wanted[-1]
        raise _Ask(
            f"Recording a payment for {student.name} ({student.enrollment_no}): tell me "
            f"{sentence}.",
            intent,
            args,
            missing,
        )
    amount_minor = to_minor(args["amount"], ctx.currency)
    if amount_minor <= 0:
        raise ValidationError("The amount must be more than zero.")
    method, reference = args["method"], str(args["reference"]).strip()
    earlier = next(
        (
            p
            for p in receipts.payments_of(
                ctx.session, actor=ctx.actor, student_id=student.id, limit=500
            )
            if p.reference == reference
        ),
        None,
    )
    if earlier is not None and earlier.amount_minor == amount_minor:
        return Reply(
            Kind.ANSWER,
            f"This payment is already recorded: {ctx.money(earlier.amount_minor)} from "
            f"{student.name}, reference {reference}, receipt {earlier.receipt_no} "
            f"({earlier.received_on:%d %b %Y}). Nothing to do.",
            intent=intent,
        )
    balance = fees.student_balance(ctx.session, actor=ctx.actor, student_id=student.id)
    after = balance.owed_minor - amount_minor
    if after < 0 and not args.get("allow_credit"):
        # As at the counter: money beyond the balance is taken only when the person says so.
        owed = (
            f"{student.name} owes {ctx.money(balance.owed_minor)}"
            if balance.owed_minor
            else f"{student.name} owes nothing right now"
        )
        raise _Ask(
            f"{ctx.money(amount_minor)} is more than the open balance: {owed}, so "
            f"{ctx.money(-after)} would be held as advance credit. Reply “record the rest as "
            "advance credit” to take it all, or give the amount to take"
            + (f" (for example {ctx.money(balance.owed_minor)})." if balance.owed_minor else "."),
            intent,
            args,
            ["credit"],
        )
    rows = [
        {
            "Student": student.name,
            "Enrollment": student.enrollment_no,
            "Amount": ctx.money(amount_minor),
            "Method": METHOD_LABELS.get(method, method),
            "Reference": reference,
            "Owes now": ctx.money(balance.owed_minor),
            "Owes after": ctx.money(max(after, 0)),
        }
    ]
    credit = (
        f" {ctx.money(-after)} more than owed is recorded as advance credit, as you confirmed."
        if after < 0
        else ""
    )
    return Reply(
        Kind.PREVIEW,
        f"I will record a payment of **{ctx.money(amount_minor)}** from **{student.name}** "
        f"({student.enrollment_no}) by {METHOD_LABELS.get(method, method)}, reference "
        f"{reference}, and issue a receipt.{credit}",
        intent=intent,
        rows=rows,
        payload={
            "intent": intent,
            "student_id": student.id,
            "amount_minor": amount_minor,
            "method": method,
            "reference": reference,
            "allow_credit": after < 0,
        },
        status=DeskStatus.PENDING,
    )


def _notify_balances(ctx: _Context, args: dict[str, Any]) -> Reply:
    intent = rules.NOTIFY_BALANCES
    target = _resolve_target(ctx, args, intent, required=False)
    scope = {"batch_id": target.batch_id, "level": target.level} if target else {}
    notices = fee_alerts.balance_notices(ctx.session, actor=ctx.actor, **scope)
    where = f" in {target.label}" if target else ""
    if not notices:
        return Reply(Kind.ANSWER, f"No student{where} owes anything right now.", intent=intent)
    guardians = sum(n.guardians for n in notices)
    reachable = sum(n.reachable for n in notices)
    no_guardian = sum(1 for n in notices if n.guardians == 0)
    notes = []
    if guardians > reachable:
        notes.append(
            f"{plural(guardians - reachable, 'guardian')} "
            f"{'has' if guardians - reachable == 1 else 'have'} no Telegram chat linked; their "
            "messages are kept in the outbox but cannot be delivered."
        )
    if no_guardian:
        notes.append(
            f"{no_guardian} of these students {'has' if no_guardian == 1 else 'have'} no "
            "guardian on record."
        )
    return Reply(
        Kind.PREVIEW,
        f"I will message the guardians of **{plural(len(notices), 'student')}**{where} who "
        f"{'owes' if len(notices) == 1 else 'owe'} fees, "
        f"{ctx.money(sum(n.owed_minor for n in notices))} in all "
        f"({plural(guardians, 'guardian')}). "
        " ".join(["Anyone already told today is skipped.", *notes]),
        intent=intent,
        rows=[
            {
                "Student": n.name,
                "Enrollment": n.enrollment_no,
                "Owes": ctx.money(n.owed_minor),
                "Guardians": n.guardians,
                "On Telegram": n.reachable,
            }
            for n in notices
        ],
        payload={
            "intent": intent,
            "batch_id": target.batch_id if target else None,
            "level": target.level if target else None,
            "label": target.label if target else "all students",
        },
        status=DeskStatus.PENDING,
    )


def _list_risk(ctx: _Context, args: dict[str, Any]) -> Reply:
    intent = rules.LIST_RISK
    level = args.get("level") or "HIGH"
    target = _resolve_target(ctx, args, intent, required=False)
    if target is None or (target.batch_id is None and target.level is None):
        found = risk.list_profiles(ctx.session, actor=ctx.actor, level=level)
    elif target.batch_id is not None:
        found = risk.list_profiles(
            ctx.session, actor=ctx.actor, level=level, batch_id=target.batch_id
        )
    else:
        seen: dict[int, risk.RiskRow] = {}
        for b in academics.list_batches(ctx.session, actor=ctx.actor):
            if b.level == target.level:
                for r in risk.list_profiles(
                    ctx.session, actor=ctx.actor, level=level, batch_id=b.id
                ):
                    seen.setdefault(r.student_id, r)
        found = sorted(
            seen.values(), key=lambda r: (r.score if r.score is not None else 101, r.name)
        )
    where = f" in {target.label}" if target else ""
    if not found:
        return Reply(
            Kind.ANSWER,
            f"No student{where} is at {level} risk (as of the last risk computation).",
            intent=intent,
        )
    return Reply(
        Kind.ANSWER,
        f"{len(found)} student{'s' if len(found) != 1 else ''}{where} at {level} risk, riskiest "
        "first (advisory: a prompt to help, not a judgement):",
        intent=intent,
        rows=[
            {
                "Student": r.name,
                "Enrollment": r.enrollment_no,
                "Score": round(r.score) if r.score is not None else None,
                "Why": r.reasons[0] if r.reasons else "",
            }
            for r in found
        ],
    )


def _mark_absent(ctx: _Context, args: dict[str, Any]) -> Reply:
    intent = rules.MARK_ABSENT
    cards = attendance.sessions_for_day(ctx.session, actor=ctx.actor, day=ctx.today)
    student = _resolve_student(ctx, args, intent)
    args = {**args, "student_id": student.id}
    if args.get("session_id"):
        cards = [c for c in cards if c.id == args["session_id"]]
    else:
        mine = {n.lower() for n in _batch_names_of(ctx, student.id)}
        cards = [c for c in cards if c.batch.lower() in mine]
        if args.get("batch"):
            wanted = args["batch"].lower()
            cards = [c for c in cards if wanted in c.batch.lower()]
    if not cards:
        where = f" in {args['batch']}" if args.get("batch") else ""
        raise NotFound(
            f"{student.name} has no class{where} today ({ctx.today:%d %b %Y}) that you can take "
            "attendance for."
        )
    tz = ZoneInfo(ctx.institute.timezone)
    if len(cards) > 1:
        raise _Ask(
            f"{student.name} has {len(cards)} classes today. Which one?",
            intent,
            args,
            ["session"],
            options=[
                {
                    "field": "session_id",
                    "id": c.id,
                    "label": f"{c.batch} {c.starts_at.astimezone(tz):%H:%M}",
                    "keys": [c.batch],
                }
                for c in cards
            ],
            rows=[
                {"#": n, "Batch": c.batch, "Starts": f"{c.starts_at.astimezone(tz):%H:%M}"}
                for n, c in enumerate(cards, start=1)
            ],
        )
    card = cards[0]
    sheet = attendance.attendance_sheet(ctx.session, actor=ctx.actor, session_id=card.id)
    when = f"{sheet.batch} ({sheet.starts_at.astimezone(tz):%H:%M})"
    if not sheet.accepts_marks and sheet.status != "submitted":
        raise ValidationError(
            f"Attendance for {when} can no longer be taken (it is {sheet.status})."
        )
    if sheet.status == "submitted" and ctx.actor.role != Role.ADMIN:
        raise Conflict(
            f"Attendance for {when} was already submitted"
            f"{' by ' + sheet.submitted_by if sheet.submitted_by else ''}; only an admin can change it now."
        )
    if student.id not in {s.id for s in sheet.students}:
        raise NotFound(f"{student.name} is not on the sheet for {when}.")
    now_mark = sheet.marks.get(student.id)
    if now_mark == Mark.ABSENT.value:
        return Reply(
            Kind.ANSWER, f"{student.name} is already marked absent for {when}.", intent=intent
        )
    others = len(sheet.students) - 1
    if sheet.taken:
        text = (
            f"I will change **{student.name}**'s mark for {when} from {now_mark or 'present'} to "
            "**absent** on the submitted sheet; the other marks stay as they are."
        )
    else:
        text = (
            f"Attendance for {when} has not been taken yet. I will submit today's sheet with "
            f"**{student.name} absent** and the other {plural(others, 'student')} present — just as the "
            "Attendance page would (guardians get the usual absence message if your rules send one)."
        )
    return Reply(
        Kind.PREVIEW,
        text,
        intent=intent,
        rows=[
            {
                "Student": student.name,
                "Enrollment": student.enrollment_no,
                "Class": when,
                "Now": now_mark or "not taken",
                "After": "absent",
            }
        ],
        payload={
            "intent": intent,
            "session_id": sheet.session_id,
            "student_id": student.id,
            "expected_version": sheet.version,
            "label": when,
            "student": student.name,
        },
        status=DeskStatus.PENDING,
    )


def _student_summary(ctx: _Context, args: dict[str, Any]) -> Reply:
    intent = rules.STUDENT_SUMMARY
    student = _resolve_student(ctx, args, intent)
    rows: list[dict[str, Any]] = [
        {"": "Enrollment", "Value": student.enrollment_no},
        {"": "Status", "Value": student.status},
        {"": "Batches", "Value": ", ".join(_batch_names_of(ctx, student.id)) or "none"},
    ]
    try:
        profile = risk.student_risk(ctx.session, actor=ctx.actor, student_id=student.id).row
    except NotFound:
        unseen = "" if ctx.actor.role == Role.ADMIN else " (or not one of your students)"
        rows.append({"": "Risk", "Value": f"not computed yet{unseen}"})
    else:
        score = f", score {round(profile.score)}" if profile.score is not None else ""
        rows.append({"": "Risk", "Value": f"{profile.level}{score}"})
        for name, value in (
            ("Attendance", profile.attendance),
            ("Homework", profile.homework),
            ("Tests", profile.tests),
        ):
            if value is not None:
                rows.append({"": name, "Value": f"{round(value)} / 100"})
        if profile.reasons:
            rows.append({"": "Why", "Value": profile.reasons[0]})
    if ctx.actor.role in (Role.ADMIN, Role.COUNSELOR):
        balance = fees.student_balance(ctx.session, actor=ctx.actor, student_id=student.id)
        rows.append({"": "Fees owed", "Value": ctx.money(balance.owed_minor)})
        if balance.credit_minor:
            rows.append({"": "Credit", "Value": ctx.money(balance.credit_minor)})
    guardians = academics.guardians_of(ctx.session, actor=ctx.actor, student_id=student.id)
    rows.append(
        {
            "": "Guardians",
            "Value": ", ".join(
                f"{g.name} ({g.relationship}{', Telegram' if g.telegram_chat_id else ''})"
                for g in guardians
            )
            or "none on record",
        }
    )
    return Reply(
        Kind.ANSWER, f"**{student.name}** ({student.enrollment_no})", intent=intent, rows=rows
    )


HANDLERS = {
    rules.GENERATE_INVOICES: _generate_invoices,
    rules.RECORD_PAYMENT: _record_payment,
    rules.NOTIFY_BALANCES: _notify_balances,
    rules.LIST_RISK: _list_risk,
    rules.MARK_ABSENT: _mark_absent,
    rules.STUDENT_SUMMARY: _student_summary,
}


# ------------------------------------------------------------------ confirming


def _own_preview(session: Session, actor: Actor, message_id: int) -> DeskMessage:
    row = session.get(DeskMessage, message_id)
    if (
        row is None
        or row.institute_id != actor.institute_scope()
        or row.user_id != actor.user_id
        or row.kind != Kind.PREVIEW.value
    ):
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
    audit.record(
        session,
        actor=actor,
        action="opsdesk.confirm",
        target_type="ops_desk_message",
        target_id=preview.id,
        detail={"intent": payload["intent"]},
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


def _money(session: Session, actor: Actor, minor: int) -> str:
    return format_money(minor, session.get(Institute, actor.institute_scope()).currency)


def _do_invoices(session: Session, actor: Actor, payload: dict[str, Any]) -> Reply:
    plan = fees.invoice_run(
        session,
        actor=actor,
        structure_id=payload["structure_id"],
        period=payload["period"],
        student_ids=list(payload["student_ids"]),
    )
    skipped = len(payload["student_ids"]) - len(plan.students)
    note = (
        f" {plural(skipped, 'student')} had been invoiced meanwhile and "
        f"{'was' if skipped == 1 else 'were'} skipped."
        if skipped
        else ""
    )
    return Reply(
        Kind.RESULT,
        f"Done: created {plural(len(plan.students), 'invoice')} for {payload['period_label']} "
        f"({payload['label']}), total {_money(session, actor, plan.total_minor)}.{note}",
        intent=rules.GENERATE_INVOICES,
    )


def _do_payment(session: Session, actor: Actor, payload: dict[str, Any]) -> Reply:
    before = {
        p.id
        for p in receipts.payments_of(
            session, actor=actor, student_id=payload["student_id"], limit=500
        )
        if p.reference == payload["reference"]
    }
    payment = fees.record_payment(
        session,
        actor=actor,
        student_id=payload["student_id"],
        amount_minor=payload["amount_minor"],
        method=payload["method"],
        reference=payload["reference"],
        allow_credit=bool(payload.get("allow_credit")),
    )
    money = _money(session, actor, payment.amount_minor)
    if payment.id in before:
        text = (
            f"Already recorded earlier: {money}, reference {payment.reference}, receipt "
            f"{payment.receipt_no}. Nothing was recorded twice."
        )
    else:
        credit = (
            f" {_money(session, actor, payment.credit_minor)} is kept as credit."
            if payment.credit_minor
            else ""
        )
        text = (
            f"Done: recorded {money} by {METHOD_LABELS.get(payment.method, payment.method)}, "
            f"reference {payment.reference} — receipt {payment.receipt_no}.{credit} The receipt "
            "PDF is on the Fees page."
        )
    return Reply(
        Kind.RESULT,
        text,
        intent=rules.RECORD_PAYMENT,
        payload={"payment_id": payment.id, "receipt_no": payment.receipt_no},
    )


def _do_notify(session: Session, actor: Actor, payload: dict[str, Any]) -> Reply:
    queued = fee_alerts.notify_balances(
        session, actor=actor, batch_id=payload.get("batch_id"), level=payload.get("level")
    )
    text = (
        f"Done: queued {plural(queued, 'message')} to guardians ({payload['label']})."
        if queued
        else "Nothing new to send: those guardians were already told today."
    )
    return Reply(Kind.RESULT, text, intent=rules.NOTIFY_BALANCES)


def _do_absent(session: Session, actor: Actor, payload: dict[str, Any]) -> Reply:
    sheet = attendance.attendance_sheet(session, actor=actor, session_id=payload["session_id"])
    if sheet.version != payload["expected_version"]:
        raise Conflict(
            f"The attendance sheet for {payload['label']} changed since the preview. "
            "Ask again to see it as it is now."
        )
    on_sheet = {s.id for s in sheet.students}
    marks = {sid: mark for sid, mark in sheet.marks.items() if sid in on_sheet}
    marks[payload["student_id"]] = Mark.ABSENT.value
    attendance.submit_attendance(
        session,
        actor=actor,
        session_id=sheet.session_id,
        marks=marks,
        expected_version=payload["expected_version"],
        topics=sheet.covered or None,
        understanding={k: v for k, v in sheet.understanding.items() if k in on_sheet} or None,
        notes=sheet.notes,
    )
    return Reply(
        Kind.RESULT,
        f"Done: {payload['student']} is marked absent for {payload['label']}.",
        intent=rules.MARK_ABSENT,
    )


ACTIONS = {
    rules.GENERATE_INVOICES: _do_invoices,
    rules.RECORD_PAYMENT: _do_payment,
    rules.NOTIFY_BALANCES: _do_notify,
    rules.MARK_ABSENT: _do_absent,
}
