"""Links work where the app runs (issue 21): APP_BASE_URL when set, else the request's own
address, and production refuses to serve without APP_BASE_URL."""

from __future__ import annotations

import pytest

from app.badges import credentials
from app.core import weburl
from app.core.config import reset_settings_cache


@pytest.fixture
def settings_env(monkeypatch):
    def apply(**env):
        for key in ("APP_BASE_URL", "APP_ENV", "SECRET_KEY"):
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        reset_settings_cache()

    yield apply
    weburl.set_request_base(None)
    reset_settings_cache()


def test_links_follow_the_request_when_no_base_url_is_configured(settings_env):
    settings_env()
    weburl.set_request_base(None)
    assert credentials.verification_url("c1") == "http://localhost:8501/?credential=c1"
    weburl.set_request_base("http://10.0.0.7:8600/teacher/today?session=3")
    assert credentials.verification_url("c1") == "http://10.0.0.7:8600/?credential=c1"
    settings_env(APP_BASE_URL="https://cohort.example.org/")
    assert credentials.verification_url("c1") == "https://cohort.example.org/?credential=c1"
    assert weburl.origin("javascript:alert(1)") is None


def test_production_refuses_to_serve_without_app_base_url(settings_env):
    from app.ui.bootstrap import production_problem

    settings_env(APP_ENV="prod", SECRET_KEY="s" * 40)
    production_problem.clear()
    try:
        assert "APP_BASE_URL must be set" in (production_problem() or "")
        settings_env(APP_ENV="prod", SECRET_KEY="s" * 40, APP_BASE_URL="https://c.example")
        production_problem.clear()
        assert production_problem() is None
    finally:
        production_problem.clear()
