"""Charts with their table one click away and a CSV download (plotly graph objects: they build
much faster than plotly express on every rerun)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app.ui.components import table_with_csv
from app.ui.safe import esc

LAYOUT = {
    "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
    "height": 280,
    "legend": {"orientation": "h", "y": -0.2},
}


def chart_block(
    title: str,
    rows: list[dict],
    build: Callable[[pd.DataFrame], go.Figure],  # charts.figure, bars or lines
    *,
    key: str,
    caption: str | None = None,
    empty_when_zero: bool = False,
) -> None:
    """A titled chart; the Table tab shows the rows behind it, with a CSV download.
    `empty_when_zero`: all-zero figures (no money, no scores yet) show the empty line instead
    of a flat chart."""
    st.markdown(f"**{esc(title)}**")
    if caption:
        st.caption(caption)
    frame = pd.DataFrame(rows)
    numbers = frame.select_dtypes("number")
    all_zero = not numbers.empty and not numbers.fillna(0).to_numpy().any()
    if frame.empty or (empty_when_zero and all_zero):
        st.caption("Nothing to show for this range yet.")
        return
    # Only the open tab is drawn: a page of charts does not build every table and CSV on each
    # rerun for tabs nobody opened (opening one reruns the page with it).
    chart, data = st.tabs(["Chart", "Table"], key=f"{key}_view", on_change="rerun")
    if chart.open:
        with chart:
            st.plotly_chart(build(frame), key=f"{key}_chart")
    if data.open:
        with data:
            table_with_csv(frame, file_name=key, key=key)


def figure(*traces: Any, **layout: Any) -> go.Figure:
    """A figure of these traces in the house layout; `layout` adds to it or replaces parts of it
    (given to the constructor: plotly's update_layout costs more than the chart itself)."""
    return go.Figure(list(traces), layout={**LAYOUT, **layout})


Builder = Callable[[pd.DataFrame], go.Figure]


def bars(x: str, *ys: str, names: dict[str, str] | None = None, scale: float = 1.0) -> Builder:
    """A builder: grouped bars of the y columns against x (values divided by scale)."""

    def build(frame: pd.DataFrame) -> go.Figure:
        return figure(
            *(go.Bar(x=frame[x], y=frame[y] / scale, name=(names or {}).get(y, y)) for y in ys)
        )

    return build


def lines(x: str, *ys: str) -> Builder:
    """A builder: one line per y column against x."""

    def build(frame: pd.DataFrame) -> go.Figure:
        return figure(
            *(go.Scatter(x=frame[x], y=frame[y], name=y, mode="lines+markers") for y in ys)
        )

    return build
