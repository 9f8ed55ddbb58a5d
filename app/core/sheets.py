"""The one way Cohort writes CSV and Excel cells: every download and export goes through here.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by
spreadsheet programs (CSV/formula injection: `=HYPERLINK(...)` in a student's name, say). Such
text is written with a leading apostrophe, which spreadsheets show as text; a plain signed number
(`-864000`, a phone in E.164 such as `+91 98765 43210`) stays as it is. In Excel files, text is
always stored as a string cell, never as a formula.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"^[+-][\d .()-]*$")


def plain(value: Any) -> Any:
    """A database or Python value as a spreadsheet cell value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def safe_cell(value: Any) -> Any:
    """`value` made plain, with formula-looking text neutralised."""
    value = plain(value)
    if isinstance(value, str) and value[:1] in FORMULA_START and not _SIGNED_NUMBER.match(value):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer whose every cell goes through safe_cell."""

    def __init__(self, out: Any, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: Any, **options: Any) -> SafeWriter:
    return SafeWriter(out, **options)


def csv_text(header: Sequence[str], rows: Iterable[Iterable[Any]], **options: Any) -> str:
    out = io.StringIO()
    w = writer(out, **options)
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue()


def frame_csv(frame: Any) -> bytes:
    """A pandas DataFrame as CSV bytes (UTF-8), every cell guarded."""
    rows = frame.itertuples(index=False, name=None)
    return csv_text([str(c) for c in frame.columns], rows).encode()


def xlsx_value(value: Any) -> Any:
    """An Excel cell value: text is stored as text (openpyxl's `data_type = "s"` is set by
    xlsx_cell for text that would otherwise be read as a formula)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = plain(value)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def xlsx_cell(sheet: Any, value: Any) -> Any:
    """A write-only sheet's cell: formula-looking text becomes a string cell, never a formula."""
    from openpyxl.cell import WriteOnlyCell

    value = xlsx_value(value)
    if isinstance(value, str) and value[:1] in FORMULA_START:
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value
