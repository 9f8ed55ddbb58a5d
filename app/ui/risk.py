"""Shared risk widgets: the high-risk list on Today and Overview."""

from __future__ import annotations

import streamlit as st

from app.core.tenancy import Actor
from app.risk import service as risk
from app.ui.components import read
from app.ui.safe import esc

LEVEL_BADGE = {"HIGH": ":red[HIGH]", "MEDIUM": ":orange[MEDIUM]", "LOW": ":green[LOW]"}


def high_risk_panel(actor: Actor, *, limit: int = 8) -> None:
    """Who is at HIGH risk now, with the first reason; a link to the Risk page."""
    rows = read(actor, risk.list_profiles, level="HIGH", limit=limit)
    st.subheader("High-risk students")
    if not rows:
        st.caption("No student is at high risk. Risk is advisory: it points, it does not judge.")
    for r in rows:
        score = f"{r.score:.0f}" if r.score is not None else "—"
        st.markdown(
            f"**{esc(r.name)}** · {esc(r.enrollment_no)} · score {esc(score)}  \n{esc(r.reasons[0])}"
        )
    st.page_link("pages/common/risk.py", label="All students by risk", icon=":material/shield:")
