"""Student import: every row checked with its spreadsheet row number; all or nothing."""

import csv
import io
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import event
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from app.academics import importer
from app.academics import service as academics
from app.academics.models import Batch, BatchMembership, Guardian, Student
from app.core.audit import AuditLog
from app.core.errors import PermissionDenied, ValidationError
from app.core.roles import Role
from tests import factories as f
from tests.factories import count
from tests.pages.apptest import ROOT, errors, frame, shown


@pytest.fixture
def school(db):
    inst = f.institute(db, name="Alpha Academy")
    admin_user = f.user(db, inst, Role.ADMIN, email="admin@alpha.example")
    admin = f.actor_for(admin_user)
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Mathematics")
        a = academics.create_batch(s, actor=admin, name="Math A", subject_id=subject.id)
        b = academics.create_batch(
            s, actor=admin, name="Math B", subject_id=subject.id, capacity=100
        )
    return {
        "inst": inst,
        "admin_user": admin_user,
        "admin": admin,
        "counselor": f.actor_for(f.user(db, inst, Role.COUNSELOR)),
        "teacher": f.actor_for(f.user(db, inst, Role.TEACHER)),
        "subject": subject.id,
        "batch_a": a.id,
        "batch_b": b.id,
    }


def student_rows(n: int) -> list[dict]:
    """A clean file: n students, each with a guardian, alternating between Math A and Math B."""
    return [
        {
            "enrollment_no": f"E-{i:04d}",
            "name": f"Student {i}",
            "phone": f"+91 98765 {i:05d}",
            "email": f"Student.{i}@Example.com",
            "date_of_birth": "2010-04-23",
            "status": "active" if i % 10 else "On hold",
            "learning_style": "visual",
            "guardian_name": f"Parent {i}",
            "guardian_phone": f"98450{i:05d}",
            "guardian_relationship": "Mother",
            "guardian_telegram_chat_id": str(700000 + i),
            "batch": "Math A" if i % 2 else "math b",  # batch names match in any case
        }
        for i in range(n)
    ]


def as_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=importer.TEMPLATE_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def as_xlsx(rows: list[dict]) -> bytes:
    """The file as people type it in Excel: numbers as numbers, dates as dates."""
    book = Workbook()
    sheet = book.active
    sheet.append(importer.TEMPLATE_COLUMNS)
    for row in rows:
        values = dict(row)
        if values["date_of_birth"] and values["date_of_birth"][4:5] == "-":
            values["date_of_birth"] = date.fromisoformat(values["date_of_birth"])
        if (values["guardian_phone"] or "").isdigit():
            values["guardian_phone"] = int(values["guardian_phone"])
        if (values["guardian_telegram_chat_id"] or "").isdigit():
            values["guardian_telegram_chat_id"] = int(values["guardian_telegram_chat_id"])
        sheet.append([values[name] for name in importer.TEMPLATE_COLUMNS])
    sheet.append([])  # a trailing blank line, as spreadsheets often have
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def check(db, actor, data: bytes, filename: str = "students.csv") -> importer.ImportPreview:
    with db.scope(actor) as s:
        return importer.validate(s, actor=actor, rows=importer.read_rows(filename, data))


def commit(db, actor, data: bytes, filename: str = "students.csv") -> int:
    with db.scope(actor) as s:
        return importer.commit_import(s, actor=actor, rows=importer.read_rows(filename, data))


def problems(preview: importer.ImportPreview) -> set[tuple[int, str]]:
    return {(e.row_number, e.column) for e in preview.errors}


def test_three_bad_rows_among_200_are_reported_by_row_and_nothing_is_written(db, school):
    rows = student_rows(200)
    rows[6]["name"] = "  "  # spreadsheet row 8
    rows[55]["phone"] = "98-76-ab"  # row 57
    rows[141]["batch"] = "Physics Z"  # row 143
    data = as_csv(rows)

    preview = check(db, school["admin"], data)
    assert not preview.ok
    assert problems(preview) == {(8, "name"), (57, "phone"), (143, "batch")}
    assert [e.row_number for e in preview.errors] == [8, 57, 143]
    assert "There is no batch called Physics Z." in preview.errors[2].message

    with pytest.raises(ValidationError, match="The file has 3 problems; nothing was imported."):
        commit(db, school["admin"], data)
    assert count(db, Student) == 0
    assert count(db, Guardian) == 0
    assert count(db, BatchMembership) == 0
    assert count(db, AuditLog, AuditLog.action == "student.import") == 0


def test_clean_file_adds_200_students_with_guardians_and_batches(db, school):
    data = as_csv(student_rows(200))
    preview = check(db, school["admin"], data)
    assert preview.ok and preview.errors == []
    assert [r["row_number"] for r in preview.rows] == list(range(2, 202))

    assert commit(db, school["counselor"], data) == 200

    inst = school["inst"].id
    assert count(db, Student, Student.institute_id == inst) == 200
    assert count(db, Guardian, Guardian.institute_id == inst) == 200
    assert count(db, BatchMembership, BatchMembership.batch_id == school["batch_a"]) == 100
    assert count(db, BatchMembership, BatchMembership.batch_id == school["batch_b"]) == 100
    with db.scope(school["admin"]) as s:
        student = s.exec(select(Student).where(Student.enrollment_no == "E-0010")).one()
        guardian = s.exec(select(Guardian).where(Guardian.student_id == student.id)).one()
        membership = s.exec(
            select(BatchMembership).where(BatchMembership.student_id == student.id)
        ).one()
        audit = s.exec(select(AuditLog).where(AuditLog.action == "student.import")).all()
    assert (student.name, student.phone, student.email) == (
        "Student 10",
        "+919876500010",
        "student.10@example.com",
    )
    assert (student.date_of_birth, student.status) == (date(2010, 4, 23), "on_hold")
    assert (guardian.name, guardian.phone, guardian.relationship, guardian.telegram_chat_id) == (
        "Parent 10",
        "+919845000010",
        "mother",
        "700010",
    )
    assert membership.batch_id == school["batch_b"] and membership.left_on is None
    # Each imported member is enrolled in their batch's subject, as a join enrols (issue 22).
    from app.academics.models import Enrollment

    assert count(db, Enrollment, Enrollment.institute_id == inst, status="active") == 200
    with db.scope(school["admin"]) as s:
        enrolment = s.exec(select(Enrollment).where(Enrollment.student_id == student.id)).one()
        batch_b = s.get(Batch, school["batch_b"])
    assert (enrolment.subject_id, enrolment.teacher_user_id) == (
        batch_b.subject_id,
        batch_b.teacher_user_id,
    )
    assert len(audit) == 1 and audit[0].detail == {
        "count": 200,
        "guardians": 200,
        "memberships": 200,
    }
    # The same file again: every number is now taken and Math B (capacity 100) is full.
    again = check(db, school["admin"], data)
    taken = [e for e in again.errors if e.column == "enrollment_no"]
    full = [e for e in again.errors if e.column == "batch"]
    assert len(taken) == 200 and len(full) == 100 and len(again.errors) == 300


def test_enrollment_number_already_in_the_institute_is_reported(db, school):
    admin = school["admin"]
    with db.scope(admin) as s:
        academics.create_student(s, actor=admin, enrollment_no="E-0005", name="Already Here")
    preview = check(db, admin, as_csv(student_rows(10)))
    assert problems(preview) == {(7, "enrollment_no")}
    assert preview.errors[0].message == (
        "Enrollment number E-0005 is already used by a student of this institute."
    )


def test_every_row_repeating_an_enrollment_number_is_reported(db, school):
    rows = student_rows(100)
    rows[48]["enrollment_no"] = rows[0]["enrollment_no"]
    rows[88]["enrollment_no"] = rows[0]["enrollment_no"]
    preview = check(db, school["admin"], as_csv(rows))
    assert problems(preview) == {(2, "enrollment_no"), (50, "enrollment_no"), (90, "enrollment_no")}
    assert "appears more than once in this file (rows 2, 50, 90)" in preview.errors[0].message


def test_unknown_and_closed_batches_are_reported(db, school):
    admin = school["admin"]
    with db.scope(admin) as s:
        academics.update_batch(s, actor=admin, batch_id=school["batch_a"], active=False)
    rows = student_rows(4)
    rows[0]["batch"] = "Math Z"
    rows[2]["batch"] = ""  # no batch is fine
    preview = check(db, admin, as_csv(rows))
    assert problems(preview) == {(2, "batch"), (3, "batch"), (5, "batch")}
    messages = {e.row_number: e.message for e in preview.errors}
    assert messages[2].startswith("There is no batch called Math Z.")
    assert messages[3] == "Math A is closed; reopen it or choose another batch."


def test_a_batch_that_would_overflow_is_reported_on_the_rows_beyond_its_capacity(db, school):
    admin = school["admin"]
    with db.scope(admin) as s:
        for n in range(2):
            st = academics.create_student(s, actor=admin, enrollment_no=f"OLD-{n}", name="Old")
            academics.join_batch(s, actor=admin, batch_id=school["batch_b"], student_id=st.id)
    rows = student_rows(100)
    for row in rows:
        row["batch"] = "Math B"  # capacity 100, 2 places taken
    preview = check(db, admin, as_csv(rows))
    assert problems(preview) == {(100, "batch"), (101, "batch")}
    assert "room for 98 more students and this file adds 100" in preview.errors[0].message
    assert check(db, admin, as_csv(rows[:98])).ok


def test_excel_reads_and_imports_like_csv(db, school):
    rows = student_rows(50)
    rows[3]["name"] = ""
    rows[20]["date_of_birth"] = "23/04/2010"
    assert importer.read_rows("students.XLSX", as_xlsx(rows)) == importer.read_rows(
        "students.csv", as_csv(rows)
    )
    bad = check(db, school["admin"], as_xlsx(rows), "students.xlsx")
    assert problems(bad) == {(5, "name"), (22, "date_of_birth")}
    assert bad.errors[1].message == (
        "'23/04/2010' is not a date; write it as YYYY-MM-DD, such as 2010-04-23."
    )

    clean = as_xlsx(student_rows(50))
    assert commit(db, school["admin"], clean, "students.xlsx") == 50
    assert count(db, Student) == 50 and count(db, Guardian) == 50
    with db.scope(school["admin"]) as s:
        guardian = s.exec(select(Guardian).order_by(Guardian.id)).first()
    assert guardian.phone == "+919845000000" and guardian.telegram_chat_id == "700000"


def test_same_enrollment_number_in_another_institute_is_not_a_duplicate(db, school):
    other = f.institute(db, name="Beta Academy")
    other_admin = f.actor_for(f.user(db, other, Role.ADMIN))
    with db.scope(other_admin) as s:
        academics.create_student(s, actor=other_admin, enrollment_no="E-0001", name="Elsewhere")
        subject = academics.create_subject(s, actor=other_admin, name="Mathematics")
        academics.create_batch(s, actor=other_admin, name="Beta only", subject_id=subject.id)
    rows = student_rows(5)
    assert check(db, school["admin"], as_csv(rows)).ok
    rows[1]["batch"] = "Beta only"  # another institute's batch is unknown here
    assert problems(check(db, school["admin"], as_csv(rows))) == {(3, "batch")}
    assert commit(db, school["admin"], as_csv(student_rows(5))) == 5
    assert count(db, Student, Student.enrollment_no == "E-0001") == 2


def test_a_teacher_may_not_import(db, school):
    teacher = school["teacher"]
    rows = importer.read_rows("students.csv", as_csv(student_rows(3)))
    with db.scope(teacher) as s, pytest.raises(PermissionDenied):
        importer.validate(s, actor=teacher, rows=rows)
    with db.scope(teacher) as s, pytest.raises(PermissionDenied):
        importer.commit_import(s, actor=teacher, rows=rows)
    assert count(db, Student) == 0


def test_validation_runs_the_same_few_queries_for_10_or_200_rows(db, school):
    def statements(n: int) -> int:
        seen: list[str] = []

        def on_execute(_conn, _cursor, statement, *_args):
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", on_execute)
        try:
            check(db, school["admin"], as_csv(student_rows(n)))
        finally:
            event.remove(db.engine, "before_cursor_execute", on_execute)
        return len(seen)

    assert statements(10) == statements(200)


def test_other_row_problems_each_name_their_column(db, school):
    rows = student_rows(3)
    rows[0].update(email="not-an-email", status="paused", guardian_telegram_chat_id="@dad")
    rows[1].update(guardian_name="", guardian_phone="123")
    rows[2].update(enrollment_no="", date_of_birth="2999-01-01")
    preview = check(db, school["admin"], as_csv(rows))
    assert [(e.row_number, e.column) for e in preview.errors] == [
        (2, "email"),
        (2, "status"),
        (2, "guardian_telegram_chat_id"),
        (3, "guardian_name"),
        (3, "guardian_phone"),
        (4, "enrollment_no"),
        (4, "date_of_birth"),
    ]


def test_blank_rows_are_skipped_but_row_numbers_stay_the_spreadsheets(db, school):
    rows = student_rows(3)
    blank = dict.fromkeys(importer.TEMPLATE_COLUMNS, "")
    rows[2]["name"] = ""
    data = as_csv([rows[0], blank, rows[1], rows[2]])
    preview = check(db, school["admin"], data)
    assert problems(preview) == {(5, "name")}
    assert [r["row_number"] for r in preview.rows] == [2, 4, 5]


def test_unreadable_files_are_refused_with_a_clear_message():
    header = ",".join(importer.TEMPLATE_COLUMNS)
    cases = {
        ("students.xls", b"whatever"): "Upload a .csv or .xlsx file",
        ("students.xlsx", b"not a zip"): "This Excel file cannot be read",
        ("students.csv", "enrollment_no,name\nE-1,Zoë\n".encode("cp1252")): "not UTF-8",
        ("students.csv", b""): "The file is empty",
        ("students.csv", b"enrollment_no,nmae\n"): "Unknown column nmae.",
        ("students.csv", b"E-1,Asha\n"): "The first row must be the header",
        ("students.csv", f"{header},name\n".encode()): "The column name appears twice",
        ("students.csv", b"enrollment_no,phone\n"): "The header lacks the column name;",
    }
    for (filename, data), message in cases.items():
        with pytest.raises(ValidationError, match=message):
            importer.read_rows(filename, data)


def test_templates_have_the_columns_and_no_students():
    assert importer.template_csv().decode("utf-8-sig").strip() == ",".join(
        importer.TEMPLATE_COLUMNS
    )
    for filename, data in (
        ("t.csv", importer.template_csv()),
        ("t.xlsx", importer.template_xlsx()),
    ):
        assert importer.read_rows(filename, data) == []
    # Header names as people retype them still match.
    data = b"Enrollment No,Name,Guardian Phone\nE-1,Asha,98450 12345\n"
    assert importer.read_rows("s.csv", data)[0]["guardian_phone"] == "98450 12345"


def test_empty_file_is_not_ready_to_import(db, school):
    preview = check(db, school["admin"], importer.template_csv())
    assert not preview.ok
    assert preview.errors == [
        importer.RowError(1, "", "The file has no students below the header row.")
    ]


# ------------------------------------------------------------------ the page


def import_page(email: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages/admin/import_students.py"), default_timeout=60)
    at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    return at.run()


def test_page_shows_problems_then_imports_a_clean_file(db, school):
    at = import_page(school["admin_user"].email)
    assert not at.exception, at.exception
    assert at.title[0].value == "Import students"
    assert [b.label for b in at.get("download_button")] == ["CSV template", "Excel template"]

    rows = student_rows(40)
    rows[6]["name"] = ""
    rows[9]["phone"] = "call me"
    at.file_uploader[0].set_value(("students.csv", as_csv(rows), "text/csv"))
    at.run()
    assert not at.exception, at.exception
    assert errors(at) == ["Fix these 2 problems and upload the file again. Nothing was imported."]
    table = frame(at, "Problem")
    assert list(table["Row"]) == [8, 11] and list(table["Column"]) == ["name", "phone"]
    assert not any(b.label.startswith("Import ") for b in at.button)

    at.file_uploader[0].set_value(("students.xlsx", as_xlsx(student_rows(40)), "application/x"))
    at.run()
    assert not errors(at), errors(at)
    assert "40 students are ready to import." in [shown(s.value) for s in at.success]
    assert len(frame(at, "Enrollment")) == 40
    at.button(key="imp_confirm").click().run()
    assert not at.exception, at.exception
    assert not errors(at), errors(at)
    assert "Imported 40 students." in [shown(s.value) for s in at.success]
    assert count(db, Student) == 40 and count(db, BatchMembership) == 40
    assert at.file_uploader[0].value is None  # a fresh uploader: the file is not offered again


def test_page_refuses_a_teacher(db, school):
    teacher = f.user(db, school["inst"], Role.TEACHER, email="tara@alpha.example")
    at = import_page(teacher.email)
    assert "You do not have access to this page." in errors(at)
    assert not at.file_uploader
