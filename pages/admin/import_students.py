"""Import students: upload a CSV or Excel file, see every problem by row, then confirm."""

import streamlit as st

from app.academics import importer
from app.core.errors import ValidationError
from app.core.roles import Role
from app.core.text import plural
from app.ui import auth
from app.ui.components import act, flash, read, show_flash, table
from app.ui.safe import esc

user, actor = auth.guard(Role.ADMIN, Role.COUNSELOR)
st.title("Import students")
show_flash()
st.caption(
    "Students, their guardians and their batch, one student per row. Start from a template; "
    "nothing is saved until every row is correct and you confirm."
)

c1, c2 = st.columns(2)
c1.download_button(
    "CSV template",
    importer.template_csv(),
    file_name="students_template.csv",
    mime="text/csv",
    icon=":material/download:",
    key="imp_template_csv",
)
c2.download_button(
    "Excel template",
    importer.template_xlsx(),
    file_name="students_template.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    icon=":material/download:",
    key="imp_template_xlsx",
)
with st.expander("What goes in each column", icon=":material/help:"):
    table(
        [{"Column": name, "What to enter": text} for name, text in importer.COLUMN_HELP.items()],
        key="imp_help",
    )

# A new key after each import gives an empty uploader, so the same file is not offered twice.
upload_round = st.session_state.setdefault("imp_round", 0)
upload = st.file_uploader("Student file", type=["csv", "xlsx"], key=f"imp_file_{upload_round}")
if upload is None:
    st.stop()

try:
    rows = importer.read_rows(upload.name, upload.getvalue())
except ValidationError as exc:
    st.error(exc.message)
    st.stop()

preview = read(actor, importer.validate, rows=rows)
if not preview.ok:
    problems = len(preview.errors)
    what = "this problem" if problems == 1 else f"these {problems} problems"
    st.error(f"Fix {esc(what)} and upload the file again. Nothing was imported.")
    table(
        [{"Row": e.row_number, "Column": e.column, "Problem": e.message} for e in preview.errors],
        key="imp_errors",
    )
    st.stop()

count = len(preview.rows)
noun = "student" if count == 1 else "students"
st.success(f"{plural(count, 'student')} {esc('is' if count == 1 else 'are')} ready to import.")
table(
    [
        {
            "Row": r["row_number"],
            "Enrollment": r["enrollment_no"],
            "Name": r["name"],
            "Phone": r["phone"],
            "Status": r["status"],
            "Guardian": r["guardian_name"],
            "Guardian phone": r["guardian_phone"],
            "Batch": r["batch"],
        }
        for r in preview.rows
    ],
    key="imp_preview",
)
if st.button(f"Import {int(count)} {esc(noun)}", type="primary", key="imp_confirm"):
    imported = act(actor, importer.commit_import, immediate=True, rows=rows)
    if imported is not None:
        flash(f"Imported {imported} {'student' if imported == 1 else 'students'}.")
        st.session_state["imp_round"] = upload_round + 1
        st.rerun()
