"""My tests (students, read-only): results of tests and assessments with percentage, grade and
the teacher's feedback; tests still to sit."""

import streamlit as st

from app.core.errors import NotFound
from app.core.roles import Role
from app.coursework import service as coursework
from app.ui import auth
from app.ui.components import read
from app.ui.safe import esc, markup

user, actor = auth.guard(Role.STUDENT)
st.title("My tests")
try:
    results = read(actor, coursework.my_results)
except NotFound as exc:
    st.info(exc.message)
    st.stop()

upcoming = sorted((r for r in results if r.upcoming), key=lambda r: r.date)
sat = [r for r in results if not r.upcoming]
scored = [r.percentage for r in sat if r.percentage is not None]
c1, c2 = st.columns(2)
c1.metric("Average", f"{round(sum(scored) / len(scored), 1):g}%" if scored else "–")
c2.metric("Tests taken", sum(1 for r in sat if not r.absent))
if upcoming:
    st.subheader("Coming up")
    for r in upcoming:
        st.markdown(
            f"**{esc(r.title)}** ({esc(r.kind)}) · {r.date:%a %d %b} · {esc(r.subject or r.batch)} · "
            f"out of {r.max_marks:g}"
        )
st.subheader("Results")
if not sat:
    st.caption("No results yet.")
for r in sat:
    if r.absent:
        score = ":gray[absent]"
    else:
        score = f"{r.marks:g}/{r.max_marks:g}" + (
            f" · {r.percentage:g}%" if r.percentage is not None else ""
        )
        score += f" · grade **{esc(r.grade)}**" if r.grade else ""
    st.markdown(
        f"**{esc(r.title)}** ({esc(r.kind)}) · {r.date:%d %b %Y} · {esc(r.subject or r.batch)}  \n{markup(score)}"
    )
    if r.feedback:
        st.caption(f"Teacher: {esc(r.feedback)}")
