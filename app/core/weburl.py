"""The address people open Cohort at, for links the app writes (badge verification, one-time
attendance and password links, access-request status).

`APP_BASE_URL` when it is set (production requires it: a worker sending a message has no
request to look at). Otherwise the origin of the request being served (`set_request_base`,
called by the app on every run from `st.context.url`), so a development server on another port
or host still writes links that open; and only when neither is known, localhost:8501."""

from __future__ import annotations

from contextvars import ContextVar
from urllib.parse import urlsplit

from app.core.config import get_settings

LOCAL_DEFAULT = "http://localhost:8501"
_request_base: ContextVar[str | None] = ContextVar("cohort_request_base", default=None)


def origin(url: str | None) -> str | None:
    """scheme://host[:port] of a URL (path, query and fragment dropped); None if it has none."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def set_request_base(url: str | None) -> None:
    """Remember the origin of the request this thread serves (each Streamlit run has one)."""
    _request_base.set(origin(url))


def base_url() -> str:
    """Where links point: APP_BASE_URL, else the request's origin, else localhost:8501."""
    configured = get_settings().APP_BASE_URL
    return (configured or _request_base.get() or LOCAL_DEFAULT).rstrip("/")
