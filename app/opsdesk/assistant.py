"""Requests the rules miss: answered by the local model, which cannot act."""

from __future__ import annotations

from app.integrations import ollama
from app.opsdesk import parser as rules
from app.opsdesk.common import MODEL_CONTEXT, Context, Reply
from app.opsdesk.history import help_text, history
from app.opsdesk.models import Author, Kind

SYSTEM_PROMPT = (
    "You are the help assistant of the Ops desk in Cohort, the software that runs {institute}, an "
    "education institute. Answer staff in a few short, plain sentences. You cannot see the "
    "institute's records and you cannot do anything: never say that you did, will do or "
    "scheduled an action, and never invent names, amounts or dates. The desk itself carries out "
    "these requests when they are typed like the examples:\n{examples}\nIf the person seems to "
    "want one of these, tell them the exact words to type."
)


MODEL_NOTE = "\n\n_(Answer from the local assistant; it cannot act and nothing was done.)_"


def unknown(ctx: Context, text: str, model: ollama.ChatModel | None) -> Reply:
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
