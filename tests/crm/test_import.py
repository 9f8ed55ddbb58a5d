"""Inquiry import: a preview with per-row errors and flagged duplicates, then all or nothing."""

import io
from datetime import timedelta

import pytest
from openpyxl import Workbook
from sqlmodel import select

from app.core import clock
from app.core.errors import ValidationError
from app.crm import importer
from app.crm import service as crm
from app.crm.models import FollowUp, Inquiry
from tests.crm.world import NOW, TODAY, build

HEADER = "student_name,phone,email,interested_subjects,source,priority,tags,next_follow_up_date\n"


def _csv(*lines: str) -> bytes:
    return (HEADER + "\n".join(lines) + "\n").encode()


def test_preview_lists_problems_by_row_and_writes_nothing(db):
    w = build(db)
    data = _csv(
        "Asha,+91 98765 43210,,Physics,website,high,weekend,",
        ",9876500000,,,,,,",  # no name
        "Bala,12ab,,,,,,",  # bad phone
        "Chen,,chen@example.com,Biology,billboard,urgent,,2026-11-19",
        "Dev,98765-43210,,,,,,",  # same person as row 2
    )
    rows = importer.read_rows("leads.csv", data)
    with clock.frozen(NOW), db.scope(w.counselor) as s:
        preview = importer.validate(s, actor=w.counselor, rows=rows)
    problems = [(e.row_number, e.column) for e in preview.errors]
    assert problems == [
        (3, "student_name"),
        (4, "phone"),
        (5, "interested_subjects"),
        (5, "next_follow_up_date"),
        (5, "priority"),
        (5, "source"),
        (6, "phone"),
    ]
    assert "Same phone as row 2 of this file." in [e.message for e in preview.errors]
    assert "No subject called Biology" in " ".join(e.message for e in preview.errors)
    with (
        clock.frozen(NOW),
        db.scope(w.counselor) as s,
        pytest.raises(ValidationError, match="7 problems; nothing was imported"),
    ):
        importer.commit_import(s, actor=w.counselor, rows=rows)
    with db.scope(w.counselor) as s:
        assert s.exec(select(Inquiry)).all() == []


def test_clean_file_imports_with_duplicates_flagged_and_skipped(db):
    w = build(db)
    with clock.frozen(NOW), db.scope(w.counselor) as s:
        existing = crm.create_inquiry(
            s, actor=w.counselor, student_name="Asha", email="asha@example.com"
        ).id
    soon = (TODAY + timedelta(days=2)).isoformat()
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(["Asha Rao", None, "ASHA@example.com", None, None, None, None, None])
    sheet.append(["Bala", 919876500001, None, "physics; Chemistry", "walk-in", "low", "a, B", soon])
    sheet.append(["Chen", "9876500002", None, None, "referral", None, None, None])
    out = io.BytesIO()
    book.save(out)
    rows = importer.read_rows("leads.xlsx", out.getvalue())
    with clock.frozen(NOW), db.scope(w.counselor) as s:
        preview = importer.validate(s, actor=w.counselor, rows=rows)
        assert preview.ok, preview.errors
        assert [(r["student_name"], r["duplicate_of"]) for r in preview.duplicates] == [
            ("Asha Rao", existing)
        ]
        assert importer.commit_import(s, actor=w.counselor, rows=rows) == 2
    with db.scope(w.counselor) as s:
        bala = s.exec(select(Inquiry).where(Inquiry.student_name == "Bala")).one()
        assert bala.phone == "+919876500001"  # Excel dropped the +; E.164 has it back
        assert (bala.source, bala.priority, bala.tags) == ("walk_in", "low", ["a", "b"])
        assert bala.interested_subjects == sorted([w.physics, w.chemistry])
        assert (bala.status, bala.counselor_user_id) == ("follow_up_scheduled", w.counselor.user_id)
        assert bala.lead_score == 20 + 0 + 20 + 15 + 0  # scored on import
        planned = s.exec(select(FollowUp).where(FollowUp.inquiry_id == bala.id)).one()
        assert (planned.status, planned.follow_up_date.isoformat()) == ("pending", soon)
        assert len(s.exec(select(Inquiry)).all()) == 3
    # Importing the same file again adds nothing: every row is now on record.
    with clock.frozen(NOW), db.scope(w.counselor) as s:
        assert importer.commit_import(s, actor=w.counselor, rows=rows) == 0


def test_unreadable_files_are_refused_with_a_message():
    with pytest.raises(ValidationError, match="Upload a .csv or .xlsx"):
        importer.read_rows("leads.pdf", b"%PDF")
    with pytest.raises(ValidationError, match="Unknown column shoe_size"):
        importer.read_rows("leads.csv", b"student_name,shoe_size\nAsha,7\n")


def test_the_excel_template_keeps_a_phones_leading_zero():
    """The template's phone column is text, so 09876543210 typed in Excel stays as typed; a
    file filled in from it reads back with the 0."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(importer.template_xlsx()))
    sheet = book["Inquiries"]
    header = [c.value for c in sheet[1]]
    assert header == importer.TEMPLATE_COLUMNS
    phone = sheet.cell(row=1, column=header.index("phone") + 1).column_letter
    assert sheet.column_dimensions[phone].number_format == "@"
    assert [r[0] for r in book["Columns"].iter_rows(min_row=2, values_only=True)] == header
    sheet.append(["Asha Rao", "09876543210"])
    sheet.cell(row=2, column=header.index("phone") + 1).number_format = "@"
    out = io.BytesIO()
    book.save(out)
    [row] = importer.read_rows("leads.xlsx", out.getvalue())
    assert (row["student_name"], row["phone"]) == ("Asha Rao", "09876543210")
