"""Live pages: the parts of a page that re-read their data on a timer (st.fragment's run_every),
without a full rerun. The interval is LIVE_REFRESH_SECONDS (30 s; tests use a couple)."""

from __future__ import annotations

from app.core.config import get_settings


def every() -> int:
    """Seconds between two refreshes of a live part of a page."""
    return get_settings().LIVE_REFRESH_SECONDS
