"""Institute exports: CSV zip and Excel, personal data redacted unless explicitly asked for (and
then audited as such), only the admin's own institute, streamed in chunks."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

import pytest
from openpyxl import load_workbook

from app.academics.models import Guardian, Student
from app.core import audit
from app.core.errors import PermissionDenied, ValidationError
from app.core.roles import Role
from app.fees.models import Payment
from app.system import export
from tests import factories as f


def _people(db, inst, *, tag: str, students: int = 3, payment: bool = True) -> None:
    with db.scope(system=True) as s:
        for n in range(students):
            student = Student(
                institute_id=inst.id,
                enrollment_no=f"{tag}-{n:03d}",
                name=f"{tag} Student {n}",
                phone=f"+9198000{n:05d}",
                email=f"{tag.lower()}{n}@mail.example",
                date_of_birth=date(2010, 1, 1 + n),
            )
            s.add(student)
            s.flush()
            s.add(
                Guardian(
                    institute_id=inst.id,
                    student_id=student.id,
                    name=f"{tag} Parent {n}",
                    phone=f"+9197000{n:05d}",
                    telegram_chat_id=f"77{n}",
                )
            )
        if not payment:
            return
        s.add(
            Payment(
                institute_id=inst.id,
                student_id=student.id,
                amount_minor=5000,
                method="upi",
                reference=f"{tag.lower()}.parent@okbank",
                received_on=date(2026, 11, 2),
                receipt_no=1,
            )
        )


def _csvs(payload: bytes) -> dict[str, list[dict]]:
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        return {
            name.removesuffix(".csv"): list(csv.DictReader(io.TextIOWrapper(archive.open(name))))
            for name in archive.namelist()
        }


def _export(db, actor, **kw) -> tuple[bytes, export.ExportSummary]:
    out = io.BytesIO()
    with db.scope(actor) as s:
        summary = export.write_export(s, actor=actor, out=out, **kw)
    return out.getvalue(), summary


@pytest.fixture
def two_institutes(db):
    alpha, beta = f.institute(db, name="Alpha"), f.institute(db, name="Beta")
    _people(db, alpha, tag="Alpha")
    _people(db, beta, tag="Beta")
    admin = f.actor_for(f.user(db, alpha, Role.ADMIN, name="Asha Admin"))
    return alpha, beta, admin


def test_csv_export_redacts_personal_data_by_default_and_holds_only_own_institute(
    db, two_institutes
):
    alpha, _beta, admin = two_institutes
    payload, summary = _export(db, admin)
    tables = _csvs(payload)
    assert {"students", "guardians", "attendance_records", "invoices", "payments"} <= set(tables)
    text = payload.decode("latin-1")  # deflated, so look inside the CSVs instead
    students = tables["students"]
    assert [r["enrollment_no"] for r in students] == ["Alpha-000", "Alpha-001", "Alpha-002"]
    for row in students:
        assert row["name"] == row["email"] == row["phone"] == row["date_of_birth"] == "[redacted]"
    for row in tables["guardians"]:
        assert row["name"] == row["phone"] == row["telegram_chat_id"] == "[redacted]"
    assert tables["payments"][0]["reference"] == "[redacted]"
    assert tables["payments"][0]["amount_minor"] == "5000"
    everything = "\n".join(str(r) for rows in tables.values() for r in rows)
    for secret in ("Alpha Student", "alpha0@mail", "+919800", "Alpha Parent", "okbank", "Beta"):
        assert secret not in everything and secret not in text
    assert "password_hash" not in tables["users"][0] and "phone_key" not in tables["users"][0]
    assert summary.rows["students"] == 3 and not summary.include_personal

    with db.scope(admin) as s:
        entry = audit.list_entries(s, actor=admin, action_prefix="data.")[0]
    assert entry.action == "data.export"
    assert entry.detail["include_personal"] is False
    assert "students" in entry.detail["tables"] and entry.detail["format"] == "csv"


def test_personal_data_only_on_explicit_request_which_is_audited(db, two_institutes):
    _alpha, _beta, admin = two_institutes
    payload, summary = _export(db, admin, tables=["students", "guardians"], include_personal=True)
    tables = _csvs(payload)
    assert set(tables) == {"students", "guardians"}
    assert tables["students"][0]["name"] == "Alpha Student 0"
    assert tables["students"][0]["date_of_birth"] == "2010-01-01"
    assert tables["guardians"][1]["phone"] == "+919700000001"
    with db.scope(admin) as s:
        entry = audit.list_entries(s, actor=admin, action_prefix="data.")[0]
    assert entry.action == "data.export_personal"
    assert entry.detail == {
        "format": "csv",
        "tables": ["students", "guardians"],
        "rows": {"students": 3, "guardians": 3},
        "include_personal": True,
    }
    assert entry.actor_name == "Asha Admin"


def test_excel_has_a_sheet_per_table_and_redacts(db, two_institutes):
    _alpha, _beta, admin = two_institutes
    payload, summary = _export(db, admin, format="xlsx", tables=["students", "payments"])
    book = load_workbook(io.BytesIO(payload), read_only=True)
    assert book.sheetnames == ["students", "payments"]
    rows = list(book["students"].iter_rows(values_only=True))
    header, first = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert "enrollment_no" in header and len(rows) == 4
    assert first["name"] == first["email"] == "[redacted]" and first["enrollment_no"] == "Alpha-000"
    assert summary.filename.endswith(".xlsx")


def test_only_an_institute_admin_exports_and_only_known_tables(db, two_institutes):
    alpha, _beta, admin = two_institutes
    teacher = f.actor_for(f.user(db, alpha, Role.TEACHER))
    root = f.actor_for(f.user(db, None, Role.SUPER_ADMIN))
    for who in (teacher, root):
        with pytest.raises(PermissionDenied):
            _export(db, who)
    with pytest.raises(ValidationError, match="cannot be exported: otp_codes"):
        _export(db, admin, tables=["students", "otp_codes"])
    with pytest.raises(ValidationError, match="Choose CSV or Excel"):
        _export(db, admin, format="pdf")


def test_big_tables_stream_in_chunks_and_formulas_stay_text(db, two_institutes, monkeypatch):
    alpha, _beta, admin = two_institutes
    _people(db, alpha, tag="=HYPERLINK", students=7, payment=False)
    monkeypatch.setattr(export, "CHUNK_ROWS", 2)
    with db.scope(admin) as s:
        asked = []
        execute = s.execute

        def spy(statement, *args, **kwargs):
            asked.append(kwargs.get("execution_options"))
            return execute(statement, *args, **kwargs)

        monkeypatch.setattr(s, "execute", spy)
        rows = export.stream_rows_internal(s, export._BY_NAME["students"], alpha.id, False)
        assert asked == []  # lazy: nothing is read until the writer asks for rows
        assert len(list(rows)) == 10 and asked == [{"yield_per": 2}]
    payload, summary = _export(db, admin, tables=["students"], include_personal=True)
    rows = _csvs(payload)["students"]
    assert summary.rows["students"] == len(rows) == 10
    assert rows[-1]["enrollment_no"] == "'=HYPERLINK-006"  # never a live formula
    payload, _ = _export(db, admin, format="xlsx", tables=["students"], include_personal=True)
    sheet = load_workbook(io.BytesIO(payload))["students"]
    assert sheet.cell(row=11, column=4).data_type == "s"


def test_excel_refuses_a_table_too_big_for_a_sheet_and_points_to_csv(
    db, two_institutes, monkeypatch
):
    _alpha, _beta, admin = two_institutes
    monkeypatch.setattr(export, "EXCEL_MAX_TABLE_ROWS", 2)
    with pytest.raises(ValidationError, match=r"Too big for Excel: Students \(3 rows\)\. Export"):
        _export(db, admin, format="xlsx", tables=["students", "payments"])
    _export(db, admin, format="xlsx", tables=["payments"])  # 1 row: fine
    with db.scope(admin) as s:
        assert [e.detail["tables"] for e in audit.list_entries(s, actor=admin)] == [["payments"]]
