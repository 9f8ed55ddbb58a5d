"""First start: migrate the database and, in development, seed the demo institute when empty;
then import what the pages need and freeze that heap out of the garbage collector's way."""

from __future__ import annotations

import gc
import importlib
import logging
import pkgutil

import streamlit as st

from app.core.config import get_settings
from app.system import startup
from app.worker import embedded

log = logging.getLogger("cohort")


@st.cache_resource(show_spinner="Preparing the database…")
def prepare_database(url: str, auto_migrate: bool, seed_demo: bool) -> str:
    """Run once per process and database URL."""
    return startup.prepare_database(url, auto_migrate, seed_demo)


NOT_CONFIGURED = (
    "Cohort is not configured correctly, so it is not serving pages. "
    "The server log says what to fix."
)


def production_guard() -> None:
    """First thing on every run, however the server was started (`streamlit run` or
    `python -m app.serve`): in production, show visitors no error details, and refuse to serve
    with a placeholder secret (the same checks app.serve makes before it starts)."""
    import os

    if os.environ.get("APP_ENV", "dev").strip() != "prod":
        return
    st.set_option("client.showErrorDetails", "none")
    problem = production_problem()
    if problem:
        st.error(NOT_CONFIGURED)
        st.stop()


@st.cache_resource(show_spinner=False)
def production_problem() -> str | None:
    """Once per process: what is wrong with the production settings (logged), or None."""
    from app.serve import StartupError, check_cookie_secret

    try:
        settings = get_settings()  # refuses placeholder SECRET_KEY / BADGE_KEY_ENCRYPTION_KEY
        if not settings.APP_BASE_URL:
            raise ValueError(
                "APP_BASE_URL must be set when APP_ENV=prod: the address people open Cohort at "
                "(e.g. https://cohort.example.org); links in messages and badge credentials are "
                "built from it."
            )
        try:
            auth = st.secrets.get("auth")
        except Exception:  # noqa: BLE001 - no secrets file: Google sign-in not configured
            auth = None
        secret = auth.get("cookie_secret") if auth else None
        if secret is not None:
            check_cookie_secret(str(secret), prod=True)
    except (StartupError, ValueError) as exc:
        log.error("Cohort cannot serve pages: %s", exc)
        return str(exc)
    return None


STARTUP_MODULES = ("app.models", "pandas", "app.ui.charts", "app.ui.components")


@st.cache_resource(show_spinner=False)
def freeze_startup_heap() -> int:
    """Once per process: import the app (every domain's service), then `gc.freeze()`.

    With Streamlit's post-run `gc.collect(2)` off (`runner.postScriptGC = false`), what is left of
    collection cost is Python's own generational passes; frozen objects (modules, classes, the
    SQLAlchemy metadata) are never scanned again. Returns how many objects were frozen.
    """
    import app

    for name in STARTUP_MODULES:
        importlib.import_module(name)
    for module in pkgutil.iter_modules(app.__path__):
        if module.ispkg and importlib.util.find_spec(f"app.{module.name}.service"):
            importlib.import_module(f"app.{module.name}.service")
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def ensure_database() -> None:
    from app.core import weburl

    try:
        weburl.set_request_base(st.context.url)  # links point where this request came in
    except Exception:  # noqa: BLE001 - no request (bare mode): the configured or local address
        weburl.set_request_base(None)
    settings = get_settings()
    logging.getLogger("cohort").setLevel(settings.LOG_LEVEL)
    prepare_database(
        settings.database_url,
        settings.auto_migrate,
        settings.is_dev and settings.DEMO_SEED_ON_EMPTY,
    )
    if settings.embedded_worker:
        embedded.start()  # once per process; waits while a separate worker leads
    freeze_startup_heap()
