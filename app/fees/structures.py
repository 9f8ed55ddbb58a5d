"""Fee structures: items, optional items, activation, and instalment plans."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, select

from app.core import audit
from app.core.errors import Conflict, ValidationError
from app.core.money import allocate
from app.core.ownership import owned
from app.core.roles import Role
from app.core.tenancy import Actor
from app.fees import ledger
from app.fees.models import (
    Account,
    FeeInstalment,
    FeeItem,
    FeeStructure,
)


def create_structure(
    session: Session,
    *,
    actor: Actor,
    name: str,
    items: list[dict],
    period_kind: str = "term",
    due_days: int = 14,
    instalments: list[tuple[int, int]] | None = None,
) -> FeeStructure:
    """A fee structure with its items; each item gets its own income account (4000+).
    `instalments`, if given, is the plan: (percent, days after issue) per part."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    if not (name or "").strip():
        raise ValidationError("The fee structure needs a name.", field="name")
    if period_kind not in ("term", "month"):
        raise ValidationError(
            "A fee structure is billed per term or per month.", field="period_kind"
        )
    if not items:
        raise ValidationError("Add at least one fee item.", field="items")
    if session.exec(
        select(FeeStructure.id).where(
            FeeStructure.institute_id == institute_id,
            func.lower(FeeStructure.name) == name.strip().lower(),
        )
    ).first():
        raise Conflict(f"A fee structure called {name.strip()} already exists.", field="name")
    accounts = ledger.ensure_chart_internal(session, institute_id=institute_id)
    structure = FeeStructure(
        institute_id=institute_id, name=name.strip(), period_kind=period_kind, due_days=due_days
    )
    session.add(structure)
    session.flush()
    by_name = {a.name.lower(): a for a in accounts.values() if a.type == "income"}
    next_code = (
        max(int(c) for c, a in accounts.items() if a.type == "income" and c < ledger.DISCOUNTS) + 10
    )
    for item in items:
        item_name = (item.get("name") or "").strip()
        amount = int(item.get("amount_minor") or 0)
        if not item_name:
            raise ValidationError("Every fee item needs a name.", field="items")
        if amount <= 0:
            raise ValidationError(f"{item_name}: the amount must be more than zero.", field="items")
        label = "Tuition income" if item_name.lower() == "tuition" else f"{item_name} income"
        account = by_name.get(label.lower())
        if account is None:
            account = Account(
                institute_id=institute_id, code=str(next_code), name=label, type="income"
            )
            session.add(account)
            session.flush()
            by_name[label.lower()] = account
            next_code += 10
        session.add(
            FeeItem(
                institute_id=institute_id,
                structure_id=structure.id,
                name=item_name,
                amount_minor=amount,
                optional=bool(item.get("optional")),
                income_account_id=account.id,
            )
        )
    session.flush()
    if instalments:
        _write_plan(session, institute_id, structure.id, instalments)
    audit.on(
        session,
        actor,
        "fees.structure_create",
        structure.id,
        {"name": structure.name, "items": len(items)},
        target_type="fee_structure",
    )
    return structure


def _check_plan(steps: list[tuple[int, int]]) -> list[tuple[int, int]]:
    clean = []
    for n, (percent, due_days) in enumerate(steps, start=1):
        try:
            percent, due_days = int(percent), int(due_days)
        except (TypeError, ValueError):
            raise ValidationError(
                f"Instalment {n}: give a whole percent and a number of days.", field="instalments"
            ) from None
        if not 0 < percent <= 100:
            raise ValidationError(
                f"Instalment {n}: the share is between 1% and 100%.", field="instalments"
            )
        if due_days < 0 or due_days > 366:
            raise ValidationError(
                f"Instalment {n}: due 0 to 366 days after the invoice is issued.",
                field="instalments",
            )
        if clean and due_days < clean[-1][1]:
            raise ValidationError(
                f"Instalment {n} falls due before instalment {n - 1}; list them in date order.",
                field="instalments",
            )
        clean.append((percent, due_days))
    total = sum(p for p, _ in clean)
    if clean and total != 100:
        raise ValidationError(
            f"The instalments add up to {total}%; they must add up to 100%.", field="instalments"
        )
    return clean


def _write_plan(
    session: Session, institute_id: int, structure_id: int, steps: list[tuple[int, int]]
) -> None:
    steps = _check_plan(steps)
    session.execute(
        delete(FeeInstalment).where(
            FeeInstalment.institute_id == institute_id, FeeInstalment.structure_id == structure_id
        )
    )
    for seq, (percent, due_days) in enumerate(steps, start=1):
        session.add(
            FeeInstalment(
                institute_id=institute_id,
                structure_id=structure_id,
                seq=seq,
                percent=percent,
                due_days=due_days,
            )
        )
    session.flush()


def set_instalment_plan(
    session: Session, *, actor: Actor, structure_id: int, steps: list[tuple[int, int]]
) -> list[FeeInstalment]:
    """Replace a structure's instalment plan (percent, days after issue); an empty plan means
    one payment due `due_days` after issue. Invoices already issued keep their schedule."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    owned(session, FeeStructure, structure_id, institute_id, "fee structure")
    _write_plan(session, institute_id, structure_id, steps)
    audit.on(
        session,
        actor,
        "fees.instalment_plan",
        structure_id,
        {"steps": [list(x) for x in _check_plan(steps)]},
        target_type="fee_structure",
    )
    return instalment_plan(session, actor=actor, structure_id=structure_id)


def instalment_plan(session: Session, *, actor: Actor, structure_id: int) -> list[FeeInstalment]:
    actor.require(Role.ADMIN, Role.COUNSELOR)
    return structure_rows_internal(session, FeeInstalment, actor.institute_scope(), structure_id)


def structure_rows_internal(
    session: Session, model: Any, institute_id: int, structure_id: int
) -> list[Any]:
    """A structure's items (by id) or instalment steps (by seq): `model` is FeeItem or
    FeeInstalment."""
    order = FeeInstalment.seq if model is FeeInstalment else model.id
    query = select(model).where(
        model.institute_id == institute_id, model.structure_id == structure_id
    )
    return list(session.exec(query.order_by(order)))


def split_instalments(
    total_minor: int, issued: date, steps: list[tuple[int, int]]
) -> list[tuple[date, int]]:
    """(due date, amount) per part, split by `money.allocate` (the one splitting rule: shares
    in proportion to the percents, no unit lost), so the parts always add up to the total."""
    amounts = allocate(total_minor, [percent for percent, _ in steps])
    return [
        (issued + timedelta(days=due_days), amount)
        for (_, due_days), amount in zip(steps, amounts, strict=True)
    ]


def structure_items(session: Session, *, actor: Actor, structure_id: int) -> list[FeeItem]:
    actor.require(Role.ADMIN)
    return structure_rows_internal(session, FeeItem, actor.institute_scope(), structure_id)


def list_structures(session: Session, *, actor: Actor) -> list[FeeStructure]:
    actor.require(Role.ADMIN, Role.COUNSELOR)
    return list(
        session.exec(
            select(FeeStructure)
            .where(FeeStructure.institute_id == actor.institute_scope())
            .order_by(FeeStructure.name)
        )
    )
