"""One CSV/XLSX writer for every download and export: no cell a spreadsheet would run as a
formula reaches an admin's file (issue 18)."""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from app.core import sheets

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd",
    "@SUM(1)",
    "\tx",
    "\rx",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_looking_text_is_neutralised(value):
    assert sheets.safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["-864000", "+91 98765 43210", "Asha", 12, -5, None, "a=b"])
def test_numbers_phones_and_plain_text_stay_as_they_are(value):
    assert sheets.safe_cell(value) == ("" if value is None else value)


def test_frames_and_rows_go_through_the_guard():
    frame = pd.DataFrame({"Student": [HOSTILE[0]], "Owed": [-864000]})
    rows = list(csv.reader(io.StringIO(sheets.frame_csv(frame).decode())))
    assert rows == [["Student", "Owed"], ["'" + HOSTILE[0], "-864000"]]


def test_nothing_writes_csv_or_excel_around_the_shared_writer():
    """csv.writer, DictWriter, DataFrame.to_csv/to_excel only in app/core/sheets.py."""
    offenders = []
    for path in [*ROOT.joinpath("app").rglob("*.py"), *ROOT.joinpath("pages").rglob("*.py")]:
        if path.name == "sheets.py" and path.parent.name == "core":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in (
                "writer",
                "DictWriter",
                "to_csv",
                "to_excel",
            ):
                base = ast.unparse(node.value)
                if node.attr in ("to_csv", "to_excel") or base == "csv":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_audit_log_export_neutralises_a_hostile_cell(db):
    from app.core import audit
    from app.core.roles import Role
    from tests import factories as f

    inst = f.institute(db)
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    with db.scope(admin) as s:
        audit.record(s, actor=admin, action="test.hostile", detail={"reason": HOSTILE[0]})
        audit.record(s, actor=admin, action="test.hostile", target_type=HOSTILE[1])
    with db.scope(admin) as s:
        cells = _cells(audit.export_entries_csv(s, actor=admin))
    assert not [c for c in cells if c[:1] in sheets.FORMULA_START and c != "-"]
    assert "'" + HOSTILE[1] in cells


def test_badge_awards_csv_neutralises_a_hostile_name(db):
    from app.academics.models import Student
    from app.badges import service
    from tests.badges.world import build, catalog

    w = catalog(db, build(db, students=1))
    with db.scope(system=True) as s:
        s.get(Student, w.students[0].id).name = HOSTILE[0]
    a = w.admin_actor
    with db.scope(a) as s:
        service.award(s, actor=a, student_id=w.students[0].id, badge_id=w.b["M1"])
    with db.scope(a) as s:
        rows = list(
            csv.DictReader(
                io.StringIO(service.export_awards_csv(s, actor=a, include_personal=True))
            )
        )
    assert rows[0]["name"] == "'" + HOSTILE[0]
