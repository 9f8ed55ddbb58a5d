"""An institute's data as a zip of CSVs or an Excel workbook (one sheet per table).

Personal data (names, emails, phones, dates of birth, guardian contacts, chat ids, payment
references, an inquiry's notes) is replaced by "[redacted]" unless the admin explicitly asks for
it; every export is audited with its tables, its row counts and whether personal data was
included. Secrets (password hashes, token hashes, signing keys, feedback's anonymity guard) are
never exported. Rows are streamed from core selects in chunks, never loaded as one list, so the
largest attendance table exports in constant memory.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal

from openpyxl import Workbook
from sqlalchemy import Table, func, select
from sqlmodel import Session

from app.core import audit, sheets
from app.core.errors import ValidationError
from app.core.roles import Role
from app.core.tenancy import Actor
from app.models import metadata

REDACTED = "[redacted]"
CHUNK_ROWS = 5000
# Excel is for tables a person opens; a bigger table (a big institute's attendance) is refused
# with a pointer to CSV, which streams any size (and an Excel sheet stops at 1,048,576 rows).
EXCEL_MAX_TABLE_ROWS = 250_000
Format = Literal["csv", "xlsx"]
# Never exported, personal data or not: credentials, hashes, keys and anonymity guards.
SECRET_COLUMNS = frozenset({"password_hash", "token_hash", "code_hash", "private_key_encrypted"})


@dataclass(frozen=True)
class ExportTable:
    """One exportable table: its personal columns are redacted unless asked for."""

    name: str
    label: str
    personal: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()

    def columns(self) -> list[str]:
        table = metadata.tables[self.name]
        return [
            c.name
            for c in table.columns
            if c.name not in SECRET_COLUMNS and c.name not in self.exclude
        ]


def _t(
    name: str, label: str, personal: Sequence[str] = (), exclude: Sequence[str] = ()
) -> ExportTable:
    return ExportTable(name, label, frozenset(personal), frozenset(exclude))


EXPORT_TABLES: list[ExportTable] = [
    _t("students", "Students", ["name", "phone", "email", "date_of_birth"]),
    _t("guardians", "Guardians", ["name", "phone", "telegram_chat_id"]),
    _t(
        "users",
        "Staff and student accounts",
        ["name", "email", "phone", "telegram_chat_id"],
        ["oidc_issuer", "oidc_subject"],
    ),
    _t("subjects", "Subjects"),
    _t("topics", "Topics"),
    _t("batches", "Batches"),
    _t("batch_schedules", "Batch schedules"),
    _t("batch_memberships", "Batch memberships"),
    _t("enrollments", "Enrollments"),
    _t("class_sessions", "Class sessions"),
    _t("attendance_records", "Attendance"),
    _t("topic_progress", "Topic progress"),
    _t("homework", "Homework"),
    _t("homework_submissions", "Homework submissions"),
    _t("assessments", "Assessments"),
    _t("assessment_results", "Assessment results"),
    _t("accounts", "Ledger accounts"),
    _t("fee_structures", "Fee structures"),
    _t("fee_items", "Fee items"),
    _t("student_discounts", "Discounts"),
    _t("invoices", "Invoices"),
    _t("invoice_lines", "Invoice lines"),
    _t("invoice_instalments", "Invoice instalments"),
    _t("payments", "Payments", ["reference"]),
    _t("payment_allocations", "Payment allocations"),
    _t("journal_entries", "Journal entries"),
    _t("journal_lines", "Journal lines"),
    _t("badges", "Badges"),
    _t("badge_awards", "Badge awards"),
    _t("crm_inquiries", "Inquiries", ["student_name", "phone", "email", "notes"]),
    _t("crm_follow_ups", "Inquiry follow-ups", ["notes"]),
    _t("feedback", "Feedback", exclude=["dedupe_guard"]),
    _t("points_entries", "Rewards and penalties"),
]
_BY_NAME = {t.name: t for t in EXPORT_TABLES}


@dataclass
class ExportSummary:
    """What an export wrote: rows per table, the format and whether personal data is in it."""

    format: Format
    include_personal: bool
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return "cohort-export.zip" if self.format == "csv" else "cohort-export.xlsx"

    @property
    def mime(self) -> str:
        return (
            "application/zip"
            if self.format == "csv"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )


def exportable_tables(*, actor: Actor) -> list[ExportTable]:
    """The tables an institute admin can export, in a sensible reading order."""
    actor.require(Role.ADMIN)
    return [t for t in EXPORT_TABLES if t.name in metadata.tables]


def write_export(
    session: Session,
    *,
    actor: Actor,
    out: BinaryIO,
    format: Format = "csv",
    tables: Sequence[str] | None = None,
    include_personal: bool = False,
) -> ExportSummary:
    """Write the actor's institute's data to `out` (zip of CSVs or .xlsx); personal data is
    redacted unless `include_personal`; the export is audited. Institute admin only."""
    actor.require(Role.ADMIN)
    institute_id = actor.institute_scope()
    if format not in ("csv", "xlsx"):
        raise ValidationError("Choose CSV or Excel.", field="format")
    chosen = _choose(tables)
    summary = ExportSummary(format=format, include_personal=include_personal)
    if format == "csv":
        _write_zip(session, out, chosen, institute_id, include_personal, summary)
    else:
        _write_xlsx(session, out, chosen, institute_id, include_personal, summary)
    audit.record(
        session,
        actor=actor,
        action="data.export_personal" if include_personal else "data.export",
        target_type="institute",
        target_id=institute_id,
        detail={
            "format": format,
            "tables": [t.name for t in chosen],
            "rows": dict(summary.rows),
            "include_personal": include_personal,
        },
    )
    return summary


def _choose(tables: Sequence[str] | None) -> list[ExportTable]:
    if tables is None:
        return [t for t in EXPORT_TABLES if t.name in metadata.tables]
    unknown = [name for name in tables if name not in _BY_NAME]
    if unknown:
        raise ValidationError(f"These tables cannot be exported: {', '.join(unknown)}.")
    if not tables:
        raise ValidationError("Choose at least one table to export.", field="tables")
    return [t for t in EXPORT_TABLES if t.name in set(tables)]


def stream_rows_internal(
    session: Session, spec: ExportTable, institute_id: int, include_personal: bool
) -> Iterator[list[Any]]:
    """The table's rows for one institute in id order, fetched CHUNK_ROWS at a time, with
    personal columns redacted unless asked for."""
    table: Table = metadata.tables[spec.name]
    names = spec.columns()
    query = select(*(table.c[n] for n in names)).where(table.c.institute_id == institute_id)
    if "id" in table.c:
        query = query.order_by(table.c.id)
    redact = [i for i, n in enumerate(names) if n in spec.personal and not include_personal]
    result = session.execute(query, execution_options={"yield_per": CHUNK_ROWS})
    for chunk in result.partitions():
        for row in chunk:
            values = list(row)
            for i in redact:
                if values[i] is not None:
                    values[i] = REDACTED
            yield values


def _number(value: Any) -> Any:
    return "" if value is None else value


def _csv_converters(spec: ExportTable) -> list[Callable[[Any], Any]]:
    """Per column: numbers pass straight through (the common case in big tables); anything else
    is made plain and guarded against formulas."""
    table = metadata.tables[spec.name]
    converters: list[Callable[[Any], Any]] = []
    for name in spec.columns():
        try:
            kind = table.c[name].type.python_type
        except NotImplementedError:
            kind = object
        converters.append(_number if kind in (int, float) else sheets.safe_cell)
    return converters


def _write_zip(
    session: Session,
    out: BinaryIO,
    chosen: list[ExportTable],
    institute_id: int,
    include_personal: bool,
    summary: ExportSummary,
) -> None:
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for spec in chosen:
            with (
                archive.open(f"{spec.name}.csv", "w", force_zip64=True) as raw,
                io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle,
            ):
                writer = sheets.writer(handle)
                writer.writerow(spec.columns())
                convert = _csv_converters(spec)
                count = 0
                for values in stream_rows_internal(session, spec, institute_id, include_personal):
                    writer.writerow([f(v) for f, v in zip(convert, values, strict=True)])
                    count += 1
                summary.rows[spec.name] = count


def _cell(sheet: Any, value: Any) -> Any:
    return sheets.xlsx_cell(sheet, value)


def _count(session: Session, spec: ExportTable, institute_id: int) -> int:
    table: Table = metadata.tables[spec.name]
    query = select(func.count()).select_from(table).where(table.c.institute_id == institute_id)
    return int(session.execute(query).scalar_one())


def _write_xlsx(
    session: Session,
    out: BinaryIO,
    chosen: list[ExportTable],
    institute_id: int,
    include_personal: bool,
    summary: ExportSummary,
) -> None:
    too_big = {
        spec.label: n
        for spec in chosen
        if (n := _count(session, spec, institute_id)) > EXCEL_MAX_TABLE_ROWS
    }
    if too_big:
        listed = ", ".join(f"{label} ({n:,} rows)" for label, n in too_big.items())
        raise ValidationError(
            f"Too big for Excel: {listed}. Export these as CSV, or leave them out of the Excel "
            f"file (up to {EXCEL_MAX_TABLE_ROWS:,} rows per table).",
            field="tables",
        )
    book = Workbook(write_only=True)
    for spec in chosen:
        sheet = book.create_sheet(title=spec.name[:31])
        sheet.append(spec.columns())
        count = 0
        for values in stream_rows_internal(session, spec, institute_id, include_personal):
            sheet.append([_cell(sheet, v) for v in values])
            count += 1
        summary.rows[spec.name] = count
    book.save(out)
