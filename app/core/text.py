"""Small wording helpers shared by services and pages."""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """ "1 invoice", "2 invoices", "0 invoices"; give the plural when adding "s" is wrong
    ("1 batch", "3 batches": plural(3, "batch", "batches"))."""
    word = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{count:,} {word}"
