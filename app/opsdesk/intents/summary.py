"""A student's summary (read-only)."""

from __future__ import annotations

from typing import Any

from app.academics import service as academics
from app.core.errors import NotFound
from app.core.roles import Role
from app.fees import service as fees
from app.opsdesk import parser as rules
from app.opsdesk.common import Context, Reply
from app.opsdesk.models import Kind
from app.opsdesk.resolve import batch_names_of, resolve_student
from app.risk import service as risk


def preview(ctx: Context, args: dict[str, Any]) -> Reply:
    intent = rules.STUDENT_SUMMARY
    student = resolve_student(ctx, args, intent)
    rows: list[dict[str, Any]] = [
        {"": "Enrollment", "Value": student.enrollment_no},
        {"": "Status", "Value": student.status},
        {"": "Batches", "Value": ", ".join(batch_names_of(ctx, student.id)) or "none"},
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
