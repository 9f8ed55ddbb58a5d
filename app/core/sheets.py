"""The one way Cohort writes CSV and Excel cells (every download and export goes through here)
and reads an import file against its template (students, inquiries).

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
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from app.core.errors import ValidationError

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


# ------------------------------------------------------------------ import templates and reading


@dataclass(frozen=True)
class Template:
    """An import file's shape: its columns (in order), what each takes, which the header must
    have, and which are text whatever they look like (phones keep their leading 0)."""

    title: str  # the sheet a person fills in, e.g. "Students"
    columns: tuple[str, ...]
    help: dict[str, str]
    required: tuple[str, ...] = ()
    text_columns: tuple[str, ...] = ()
    missing_hint: str = ""  # said after the missing columns, e.g. "every student needs one"

    def csv(self) -> bytes:
        return template_csv(self)

    def xlsx(self) -> bytes:
        return template_xlsx(self)

    def read(self, filename: str, data: bytes) -> list[dict[str, Any]]:
        """The file's data rows keyed by template column (`read_rows`)."""
        return read_rows(self, filename, data)


@dataclass(frozen=True)
class RowError:
    """One problem in one cell: the spreadsheet's row number, the column and what is wrong."""

    row_number: int
    column: str
    message: str


@dataclass
class ImportPreview:
    """What an import would do: the cleaned rows and every problem found."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


def template_csv(template: Template) -> bytes:
    """The empty CSV template (UTF-8 with a byte-order mark, so Excel opens it as UTF-8)."""
    out = io.StringIO()
    writer(out, lineterminator="\r\n").writerow(template.columns)
    return out.getvalue().encode("utf-8-sig")


def template_xlsx(template: Template) -> bytes:
    """The empty Excel template: the sheet to fill in (header bold and frozen, text columns
    formatted as text so Excel keeps leading zeros and long numbers as typed) and a sheet
    explaining each column."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = template.title
    sheet.append(list(template.columns))
    for index, name in enumerate(template.columns, start=1):
        letter = get_column_letter(index)
        sheet[f"{letter}1"].font = Font(bold=True)
        sheet.column_dimensions[letter].width = max(14, len(name) + 2)
        if name in template.text_columns:
            sheet.column_dimensions[letter].number_format = "@"
    sheet.freeze_panes = "A2"
    help_sheet = book.create_sheet("Columns")
    help_sheet.append(["column", "what to enter"])
    for name in template.columns:
        help_sheet.append([name, template.help[name]])
    help_sheet.column_dimensions["A"].width = 28
    help_sheet.column_dimensions["B"].width = 70
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_rows(template: Template, filename: str, data: bytes) -> list[dict[str, Any]]:
    """The file's data rows as dicts keyed by template column, in spreadsheet order.

    Blank rows in the middle are kept (as all-None rows) so positions still map to row numbers;
    trailing blank rows are dropped. Raises ValidationError, with what to do, when the file
    cannot be read or its header is wrong."""
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix == "csv":
        header, body = _read_csv(data)
    elif suffix == "xlsx":
        header, body = _read_xlsx(data)
    else:
        raise ValidationError(
            "Upload a .csv or .xlsx file; download a template to see the columns.", field="file"
        )
    columns = _check_header(template, header)
    rows = []
    for values in body:
        row: dict[str, Any] = dict.fromkeys(template.columns)
        for index, key in columns.items():
            if index < len(values):
                row[key] = cell_text(values[index])
        rows.append(row)
    while rows and not any(rows[-1].values()):
        rows.pop()
    return rows


def numbered_rows(
    template: Template, rows: list[dict[str, Any]], *, most: int, noun: str
) -> list[tuple[int, dict[str, Any]]]:
    """The rows with any template cell filled, each with its spreadsheet row number (the
    header is row 1); refuses a file of more than `most` (`noun`: what a row is, plural)."""
    numbered = [
        (int(raw.get("row_number") or index + 2), raw)
        for index, raw in enumerate(rows)
        if any(cell_text(raw.get(name)) for name in template.columns)
    ]
    if len(numbered) > most:
        raise ValidationError(
            f"The file has {len(numbered):,} {noun}; import at most {most:,} at a time.",
            field="file",
        )
    return numbered


def problems_error(count: int) -> ValidationError:
    """The refusal of an import whose file still has `count` problems."""
    return ValidationError(
        f"The file has {count} problem{'' if count == 1 else 's'}; nothing was imported. "
        "Fix them and upload the file again."
    )


def cell_text(value: Any) -> str | None:
    """A cell as trimmed text (None when blank); Excel numbers and dates as people typed them."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool):
        value = str(value).lower()
    text = str(value).strip()
    return text or None


def _read_csv(data: bytes) -> tuple[list[Any], list[list[Any]]]:
    try:
        text = data.decode("utf-8-sig")  # reads plain UTF-8 too
    except UnicodeDecodeError as exc:
        raise ValidationError(
            "This CSV file is not UTF-8 text. In Excel use Save As → 'CSV UTF-8', "
            "or upload the .xlsx file instead.",
            field="file",
        ) from exc
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ValidationError(f"This CSV file cannot be read: {exc}.", field="file") from exc
    if not lines:
        raise ValidationError("The file is empty; start from the template.", field="file")
    return lines[0], lines[1:]


def _read_xlsx(data: bytes) -> tuple[list[Any], list[list[Any]]]:
    from openpyxl import load_workbook

    unreadable = (
        "This Excel file cannot be read. Save it again as .xlsx (Excel workbook) and upload it."
    )
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise ValidationError(unreadable, field="file") from exc
    try:
        lines = [list(values) for values in book.worksheets[0].iter_rows(values_only=True)]
    except Exception as exc:  # noqa: BLE001
        raise ValidationError(unreadable, field="file") from exc
    finally:
        book.close()
    if not lines:
        raise ValidationError(
            "The first sheet of the workbook is empty; start from the template.", field="file"
        )
    return lines[0], lines[1:]


def _check_header(template: Template, header: list[Any]) -> dict[int, str]:
    """Column positions mapped to template names; unknown, repeated or missing columns refused."""
    columns: dict[int, str] = {}
    unknown: list[str] = []
    for index, raw in enumerate(header):
        name = cell_text(raw)
        if name is None:
            continue
        key = name.lower().replace(" ", "_").replace("-", "_")
        if key not in template.columns:
            unknown.append(name)
        elif key in columns.values():
            raise ValidationError(f"The column {key} appears twice in the header.", field="file")
        else:
            columns[index] = key
    listed = ", ".join(template.columns)
    if not columns:
        raise ValidationError(
            "The first row must be the header with the template's column names "
            f"({listed}). Start from the template.",
            field="file",
        )
    if unknown:
        raise ValidationError(
            f"Unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}. "
            f"Use the template's columns: {listed}.",
            field="file",
        )
    missing = [name for name in template.required if name not in columns.values()]
    if missing:
        hint = f"; {template.missing_hint}" if template.missing_hint else ""
        raise ValidationError(
            f"The header lacks the column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}{hint}. Start from the template.",
            field="file",
        )
    return columns
