"""Read models made from stored rows: the fields a summary shares with its row are copied by name.

`carry(MaterialRow, m, subject=subject)` stands for `MaterialRow(id=m.id, kind=m.kind, …,
subject=subject)`: every field of the dataclass the row has an attribute of that name for comes
from the row, and the keywords give the rest (or replace a value the row holds under the same name,
as `id=r.id or 0` would). A field the row does not have and no keyword gives keeps its default, or
the constructor says it is missing.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls) if f.init)
    return names


def carry(cls: type[T], row: object, **given: Any) -> T:
    """An instance of the dataclass `cls` from `row`'s attributes of the same names, and `given`."""
    values = {
        name: getattr(row, name)
        for name in _field_names(cls)
        if name not in given and hasattr(row, name)
    }
    return cls(**values, **given)
