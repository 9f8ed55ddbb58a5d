"""Report card PDFs (fpdf2): attendance, homework, assessments and topic progress of one student.

Rendering only; `reportcard.report_card_pdf` gathers the card and checks who may see it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fpdf import FPDF

from app.core.pdf import FONT, document

if TYPE_CHECKING:
    from app.coursework.reportcard import ReportCard


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}".rstrip("0").rstrip(".") + "%"


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font(FONT, "B", 12)
    pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)


def _line(pdf: FPDF, text: str) -> None:
    pdf.cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")


def _table(pdf: FPDF, header: list[str], rows: list[list[str]], widths: tuple[int, ...]) -> None:
    pdf.set_font(FONT, "", 9)
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=6) as table:
        table.row([h for h in header])
        for row in rows:
            table.row([cell for cell in row])
    pdf.set_font(FONT, "", 10)


def render(card: ReportCard) -> bytes:
    """A report card as PDF bytes."""
    pdf = document(page_format="A4", title=f"Report card - {card.student}")
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 10, card.institute, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 13)
    pdf.cell(0, 8, "Report card", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 11)
    _line(pdf, f"{card.student} ({card.enrollment_no})")
    _line(pdf, f"Period: {card.start:%d %b %Y} to {card.end:%d %b %Y}")
    if card.batches:
        _line(pdf, f"Batches: {', '.join(card.batches)}")

    _heading(pdf, "Enrolments")
    if card.enrolments:
        _table(
            pdf,
            ["Subject", "Status", "Completion", "Started", "Completed"],
            [
                [
                    e.subject,
                    e.status.capitalize(),
                    _percent(e.completion_pct),
                    f"{e.started_on:%d %b %Y}",
                    f"{e.completed_on:%d %b %Y}" if e.completed_on else "-",
                ]
                for e in card.enrolments
            ],
            (54, 30, 28, 34, 34),
        )
    else:
        _line(pdf, "Not enrolled in a subject.")

    a, h = card.attendance, card.homework
    for title, summary in (
        (
            "Attendance",
            f"{a.sessions} classes: {a.present} present, {a.late} late, {a.absent} absent, "
            f"{a.excused} excused - attendance {_percent(a.percent)}"
            if a.sessions
            else "No attendance was taken in this period.",
        ),
        (
            "Homework",
            f"{h.set} set: {h.on_time} on time, {h.late} late, {h.missing} missing, "
            f"{h.pending} not yet due - mean mark {_percent(h.mean_percent)}"
            if h.set
            else "No homework was due in this period.",
        ),
    ):
        _heading(pdf, title)
        _line(pdf, summary)

    _heading(pdf, "Assessments")
    if card.assessments:
        _table(
            pdf,
            ["Date", "Kind", "Title", "Marks", "%", "Grade"],
            [
                [
                    f"{x.date:%d %b %Y}",
                    x.kind.capitalize(),
                    x.title,
                    "Absent" if x.absent else f"{_number(x.marks)} / {x.max_marks:g}",
                    _percent(x.percentage),
                    x.grade or "-",
                ]
                for x in card.assessments
            ],
            (24, 22, 62, 26, 18, 16),
        )
        if card.mean_percent is not None:
            _line(pdf, f"Mean: {_percent(card.mean_percent)}")
    else:
        _line(pdf, "No assessments in this period.")

    _heading(pdf, "Topic progress")
    if card.topics:
        _table(
            pdf,
            ["Subject", "Topic", "Status", "Competency (0-5)"],
            [
                [t.subject, t.topic, t.status.replace("_", " "), f"{t.competency:.1f}"]
                for t in card.topics
            ],
            (40, 70, 40, 30),
        )
    else:
        _line(pdf, "No topic progress recorded yet.")
    return bytes(pdf.output())
