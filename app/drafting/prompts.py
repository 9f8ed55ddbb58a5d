"""What the local model is asked for, and reading its answer back.

The model is asked for one JSON object of a strict shape. Small local models still wrap it in a
```json fence, add a sentence before or after, or use a near-miss key; `parse_draft` copes with
those and raises `UnusableDraft` (with a plain reason) for anything it cannot use.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

MAX_QUESTIONS = 20
TITLE_LIMIT = 200
TEXT_LIMIT = 2000  # one question or answer

SYSTEM_PROMPT = """You help a teacher at {institute} draft {what}.
Answer with ONE JSON object and nothing else: no explanations, no markdown.
The JSON object must have exactly this shape:
{shape}
Write exactly {count} questions about the topic, suited to the batch's level, each answerable
in a few lines. Use plain text inside the strings (no markdown, no numbering)."""

HOMEWORK_SHAPE = (
    '{"title": "a short title", "instructions": "one or two sentences for the students", '
    '"questions": ["question 1", "question 2"]}'
)
QUIZ_SHAPE = (
    '{"title": "a short title", "questions": [{"question": "question 1", '
    '"answer": "the correct answer, for the teacher"}]}'
)

USER_PROMPT = """Subject: {subject}
Batch: {batch}{level}
Topic: {topic}
Number of questions: {count}{notes}"""


class UnusableDraft(Exception):
    """The model answered, but not with a draft that can be used; the message says why."""


@dataclass(frozen=True)
class ParsedDraft:
    title: str
    instructions: str = ""
    questions: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # quiz only, one per question

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "instructions": self.instructions,
            "questions": list(self.questions),
            "answers": list(self.answers),
        }


def messages(
    *,
    kind: str,
    institute: str,
    subject: str,
    batch: str,
    level: str | None,
    topic: str,
    count: int,
    notes: str = "",
) -> list[dict[str, str]]:
    """The chat messages asking for a homework (`kind="homework"`) or quiz draft."""
    quiz = kind == "quiz"
    system = SYSTEM_PROMPT.format(
        institute=institute,
        what="a short quiz with the answers" if quiz else "homework questions",
        shape=QUIZ_SHAPE if quiz else HOMEWORK_SHAPE,
        count=count,
    )
    user = USER_PROMPT.format(
        subject=subject,
        batch=batch,
        level=f" ({level})" if level else "",
        topic=topic,
        count=count,
        notes=f"\nTeacher's notes: {notes}" if notes else "",
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def _json_object(raw: str) -> dict:
    """The first JSON object in the text: inside a code fence if there is one, else anywhere."""
    candidates = [m.group(1) for m in _FENCE.finditer(raw)] + [raw]
    decoder = json.JSONDecoder()
    for text in candidates:
        text = text.strip()
        for start in [i for i, ch in enumerate(text) if ch == "{"][:50]:
            try:
                value, _ = decoder.raw_decode(text, start)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    raise UnusableDraft("The model's answer was not in the expected format (no JSON object in it).")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}" if math.isfinite(value) else ""
    return " ".join(str(value).split()) if isinstance(value, str) else ""


_NUMBERING = re.compile(r"^(?:q(?:uestion)?\s*)?\d{1,2}\s*[.):-]\s*", re.IGNORECASE)


def _clean(text: str) -> str:
    return _NUMBERING.sub("", text).strip()[:TEXT_LIMIT]


def _first(item: dict, *keys: str) -> str:
    for key in keys:
        for k, v in item.items():
            if str(k).strip().lower() == key:
                return _text(v)
    return ""


def parse_draft(raw: str, *, kind: str, count: int) -> ParsedDraft:
    """The draft in the model's answer, or `UnusableDraft` with the reason."""
    data = _json_object(raw or "")
    questions_raw = next(
        (data[k] for k in ("questions", "items", "quiz") if isinstance(data.get(k), list)), None
    )
    if not questions_raw:
        raise UnusableDraft("The model's answer had no list of questions.")
    questions: list[str] = []
    answers: list[str] = []
    for item in questions_raw:
        if isinstance(item, dict):
            question = _first(item, "question", "q", "text", "prompt")
            answer = _first(item, "answer", "a", "solution", "correct_answer")
        else:
            question, answer = _text(item), ""
        question = _clean(question)
        if not question:
            continue
        questions.append(question)
        answers.append(_clean(answer))
        if len(questions) >= min(count, MAX_QUESTIONS):
            break
    if not questions:
        raise UnusableDraft("The model's answer had no usable questions.")
    if kind == "quiz":
        if not all(answers):
            raise UnusableDraft("The model's quiz left out the answer to some questions.")
    else:
        answers = []
    title = _text(data.get("title"))[:TITLE_LIMIT]
    instructions = _text(data.get("instructions"))[:TEXT_LIMIT] if kind != "quiz" else ""
    return ParsedDraft(title=title, instructions=instructions, questions=questions, answers=answers)


def numbered(lines: list[str]) -> str:
    """`1. first\\n2. second` — how questions and answers are shown for editing."""
    return "\n".join(f"{n}. {line}" for n, line in enumerate(lines, start=1))
