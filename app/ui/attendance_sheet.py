"""The quick attendance sheet (phone first): everyone preset present, one tap for the others."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import streamlit as st

from app.attendance import service as attendance
from app.attendance.models import ABSENT_MARKS, Mark, SessionStatus
from app.core.errors import DomainError
from app.core.roles import Role
from app.core.tenancy import Actor
from app.ui import live
from app.ui.components import act, flash, read, show_flash
from app.ui.safe import esc

LABELS = {
    "present": "Present",
    "absent": "Absent",
    "late": "Late",
    "excused": "Excused",
    "no_show": "No-show",  # one-to-one sessions only
}
CODES = {v: k for k, v in LABELS.items()}


def _seen_key(session_id: int) -> str:
    return f"sheet_seen_version_{session_id}"


def render_live(actor: Actor, sheet: attendance.Sheet, *, timezone: str) -> None:
    """The sheet, re-read every LIVE_REFRESH_SECONDS without a full rerun. When another device
    submits meanwhile, it says who and when and offers no stale submit (the service would refuse
    it anyway: it checks the version the form was built from)."""
    session_id = sheet.session_id
    st.session_state[_seen_key(session_id)] = sheet.version  # a full run starts from fresh data
    first = [sheet]

    @st.fragment(run_every=live.every())
    def live_sheet() -> None:
        tapped = st.session_state.pop(_tapped_key(session_id), None)
        if first:
            current = first.pop()
        elif tapped is not None:
            # A tap on a mark redraws from the sheet this screen already has: the marks are the
            # screen's own until submit (which checks the version), and the timer re-reads.
            current = tapped
        else:
            try:
                current = read(actor, attendance.attendance_sheet, session_id=session_id)
            except DomainError as exc:
                st.error(exc.message)
                return
        seen = st.session_state.get(_seen_key(session_id), current.version)
        if current.version != seen:
            _changed_elsewhere(actor, current, timezone=timezone)
            return
        render(actor, current, timezone=timezone)

    live_sheet()


def _tapped_key(session_id: int) -> str:
    return f"sheet_tapped_{session_id}"


def _changed_elsewhere(actor: Actor, sheet: attendance.Sheet, *, timezone: str) -> None:
    local = sheet.starts_at.astimezone(ZoneInfo(timezone))
    st.title(sheet.batch)
    st.caption(f"{local:%A %d %B, %H:%M} · {len(sheet.students)} students · {esc(sheet.status)}")
    if sheet.submitted_by and sheet.submitted_at:
        st.info(
            f"Submitted by {esc(sheet.submitted_by)} at "
            f"{sheet.submitted_at.astimezone(ZoneInfo(timezone)):%H:%M}."
        )
    st.warning(
        "This sheet was submitted on another device while it was open here; the marks below are "
        "the saved ones and nothing from this screen was sent."
    )
    if sheet.accepts_marks and st.button("Edit the saved marks", key="edit_saved_marks"):
        for key in list(st.session_state):
            if str(key).startswith(
                (f"mark_{sheet.session_id}_", f"und_{sheet.session_id}_")
            ) or key in (f"topics_{sheet.session_id}", f"notes_{sheet.session_id}"):
                del st.session_state[key]
        st.session_state[_seen_key(sheet.session_id)] = sheet.version
        st.rerun()
    _read_only(sheet)


def render(
    actor: Actor, sheet: attendance.Sheet, *, timezone: str, link_token: str | None = None
) -> bool:
    """Draw the sheet; returns True after a successful submit."""
    local = sheet.starts_at.astimezone(ZoneInfo(timezone))
    st.title(sheet.batch)
    st.caption(f"{local:%A %d %B, %H:%M} · {len(sheet.students)} students · {esc(sheet.status)}")
    show_flash()
    if sheet.submitted_by:
        st.info(
            f"Submitted by {esc(sheet.submitted_by)} at {sheet.submitted_at.astimezone(ZoneInfo(timezone)):%H:%M}."
        )
    editable = sheet.accepts_marks or (
        actor.role == Role.ADMIN and sheet.status == SessionStatus.OPEN
    )
    if not sheet.held:
        st.warning(
            (
                "This class was cancelled: "
                if sheet.status == SessionStatus.CANCELLED
                else "This class was moved: "
            )
            + f"{esc(sheet.cancel_reason or '')}. It takes no attendance."
        )
        return False
    if not sheet.accepts_marks:
        if sheet.status in (SessionStatus.CLOSED, SessionStatus.MISSED):
            st.warning(
                attendance.WINDOW_CLOSED
                + (" An admin can reopen it." if actor.role != Role.ADMIN else "")
            )
            if actor.role == Role.ADMIN and st.button("Reopen this session", key="reopen_session"):
                if act(actor, attendance.reopen_session, session_id=sheet.session_id):
                    st.rerun()
        _read_only(sheet)
        return False
    if not sheet.students:
        st.info("This batch has no students on this date.")
        return False
    if sheet.taken:
        st.caption("Saved marks are shown; change what needs changing and submit again.")
    marks: dict[int, str] = {}
    for student in sheet.students:
        saved = sheet.marks.get(student.id, Mark.PRESENT.value)
        choice = st.segmented_control(
            student.name,
            [LABELS[m] for m in sheet.mark_choices],
            default=LABELS[saved],
            key=f"mark_{sheet.session_id}_{student.id}",
            help=student.enrollment_no,
            on_change=_tapped,
            args=(sheet,),
        )
        marks[student.id] = CODES.get(choice or "Present", "present")
    topic_names = {t.id: f"{t.position}. {t.name}" for t in sheet.topics}
    chosen = st.pills(
        "Topics covered",
        list(topic_names),
        selection_mode="multi",
        default=sheet.covered or sheet.suggested,
        format_func=lambda t: topic_names[t],
        key=f"topics_{sheet.session_id}",
    )
    with st.expander("Understanding (optional, 1–5)"):
        ratings = {}
        for student in sheet.students:
            if marks[student.id] in (Mark.PRESENT.value, Mark.LATE.value):
                value = st.feedback("stars", key=f"und_{sheet.session_id}_{student.id}")
                if value is not None:
                    ratings[student.id] = value + 1
                st.caption(student.name)
    with st.expander("A note about a student (optional)"):
        student_notes: dict[int, str] = {}
        for student in sheet.students:
            if student.id is None:
                continue
            student_notes[student.id] = st.text_input(
                student.name,
                value=sheet.student_notes.get(student.id, ""),
                max_chars=attendance.STUDENT_NOTE_MAX,
                key=f"snote_{sheet.session_id}_{student.id}",
                placeholder="e.g. left early for a doctor's appointment",
            )
    notes = st.text_area("Notes", value=sheet.notes or "", key=f"notes_{sheet.session_id}")
    absent = sum(1 for m in marks.values() if m in ABSENT_MARKS)
    if st.button(
        f"Submit · {int(len(marks) - absent)} present, {int(absent)} absent",
        key="submit_attendance",
        type="primary",
        width="stretch",
        disabled=not editable,
    ):
        submitted = act(
            actor,
            attendance.submit_attendance,
            immediate=True,
            session_id=sheet.session_id,
            marks=marks,
            expected_version=sheet.version,
            topics=list(chosen or []),
            understanding=ratings,
            notes=notes,
            link_token=link_token,
            student_notes=student_notes,
        )
        if submitted:
            st.session_state[_seen_key(sheet.session_id)] = submitted.version
            flash(f"Attendance saved: {len(marks) - absent} present, {absent} absent.")
            st.rerun()
    return False


def _tapped(sheet: attendance.Sheet) -> None:
    st.session_state[_tapped_key(sheet.session_id)] = sheet


def _read_only(sheet: attendance.Sheet) -> None:
    if not sheet.taken:
        st.caption("Attendance was not taken for this session.")
        return
    import pandas as pd

    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Student": s.name,
                    "Mark": LABELS[sheet.marks.get(s.id, "present")],
                    "Note": sheet.student_notes.get(s.id or 0, ""),
                }
                for s in sheet.students
            ]
        ),
        hide_index=True,
        width="stretch",
    )
