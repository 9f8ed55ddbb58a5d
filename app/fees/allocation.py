"""How a payment is spread over what a student owes: the one rule, pure (no database).

Open invoice lines are paid in this order: the invoice the payer named first, then the invoice
falling due earliest, then the older invoice (lower id), and within an invoice its lines in
order. A line never takes more than it has open, and an invoice never takes more than it still
owes (a discounted invoice owes less than its item lines add up to). Whatever is left once
every open line is settled is credit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class OpenLine:
    line_id: int
    invoice_id: int
    due_on: date  # the invoice's due date
    open_minor: int  # what is still unpaid on this line


@dataclass(frozen=True)
class Allocation:
    parts: list[tuple[OpenLine, int]] = field(default_factory=list)  # (line, amount taken)
    credit_minor: int = 0

    @property
    def applied_minor(self) -> int:
        return sum(amount for _, amount in self.parts)

    def by_invoice(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for line, amount in self.parts:
            out[line.invoice_id] = out.get(line.invoice_id, 0) + amount
        return out


def order(lines: Iterable[OpenLine], invoice_id: int | None = None) -> list[OpenLine]:
    """The order lines are paid in: the named invoice, then earliest due, then invoice, line."""
    return sorted(
        lines, key=lambda x: (x.invoice_id != invoice_id, x.due_on, x.invoice_id, x.line_id)
    )


def allocate_payment(
    amount_minor: int,
    lines: Iterable[OpenLine],
    *,
    invoice_open: Mapping[int, int],
    invoice_id: int | None = None,
) -> Allocation:
    """Spread `amount_minor` over `lines` (see the module's rule); `invoice_open` is what each
    invoice still owes. Returns what each line takes and the credit left over."""
    if amount_minor < 0:
        raise ValueError("a payment is never negative")
    owed = {k: max(int(v), 0) for k, v in invoice_open.items()}
    remaining, parts = amount_minor, []
    for line in order(lines, invoice_id):
        if remaining == 0:
            break
        take = min(remaining, line.open_minor, owed.get(line.invoice_id, 0))
        if take <= 0:
            continue
        parts.append((line, take))
        owed[line.invoice_id] -= take
        remaining -= take
    return Allocation(parts, remaining)


def open_total(lines: Iterable[OpenLine], invoice_open: Mapping[int, int]) -> int:
    """What could be paid at most before anything becomes credit."""
    per_invoice: dict[int, int] = {}
    for line in lines:
        per_invoice[line.invoice_id] = per_invoice.get(line.invoice_id, 0) + max(line.open_minor, 0)
    return sum(min(v, max(invoice_open.get(k, 0), 0)) for k, v in per_invoice.items())
