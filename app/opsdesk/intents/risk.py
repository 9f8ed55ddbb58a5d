"""List students at risk (read-only)."""

from __future__ import annotations

from typing import Any

from app.academics import service as academics
from app.opsdesk import parser as rules
from app.opsdesk.common import Context, Reply
from app.opsdesk.models import Kind
from app.opsdesk.resolve import resolve_target
from app.risk import service as risk


def preview(ctx: Context, args: dict[str, Any]) -> Reply:
    intent = rules.LIST_RISK
    level = args.get("level") or "HIGH"
    target = resolve_target(ctx, args, intent, required=False)
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
