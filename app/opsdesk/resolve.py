"""Resolving the names people type: a student, a batch, a level."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from app.academics import service as academics
from app.academics.models import Batch, BatchMembership, Student
from app.core.errors import NotFound
from app.opsdesk import parser as rules
from app.opsdesk.common import AskUser, Context


def resolve_student(ctx: Context, args: dict[str, Any], intent: str) -> Student:
    """The one student the request means (a teacher: among their own students), or a question."""
    if args.get("student_id"):
        return academics.get_student(ctx.session, actor=ctx.actor, student_id=args["student_id"])
    ref = (args.get("student") or "").strip()
    if not ref:
        raise AskUser(
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
    raise AskUser(
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


def resolve_target(
    ctx: Context, args: dict[str, Any], intent: str, *, required: bool
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
        raise AskUser(
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
            raise AskUser(
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


def batch_names_of(ctx: Context, student_id: int) -> list[str]:
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
