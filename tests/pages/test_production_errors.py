"""Production shows no error details and refuses to run misconfigured, however it is started;
public pages answer malformed input with "unknown"/"invalid", never a traceback (issue 18)."""

import pytest
from streamlit import config as st_config

from app import serve
from app.badges import credentials
from app.core.config import reset_settings_cache
from app.ui import bootstrap
from tests.pages.apptest import app_as

GOOD_SECRET = "k" * 48


@pytest.fixture
def prod(monkeypatch):
    before = st_config.get_option("client.showErrorDetails")
    monkeypatch.setenv("APP_ENV", "prod")
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("APP_BASE_URL", "https://cohort.example.org")  # only the secret is wrong
    reset_settings_cache()
    bootstrap.production_problem.clear()
    yield
    st_config.set_option("client.showErrorDetails", before)
    reset_settings_cache()
    bootstrap.production_problem.clear()


def test_python_m_app_serve_hides_error_details():
    argv = serve.command({})
    assert argv[argv.index("--client.showErrorDetails") + 1] == "none"


def test_streamlit_run_in_production_hides_error_details(db, prod):
    at = app_as(None).run()
    assert not at.exception
    assert st_config.get_option("client.showErrorDetails") == "none"


def test_a_placeholder_cookie_secret_stops_production_however_it_started(db, prod):
    at = app_as(None)
    at.secrets["auth"] = {
        "client_id": "x",
        "client_secret": "y",
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "changeme",
        "server_metadata_url": "http://localhost/.well-known/openid-configuration",
    }
    at.run()
    assert [e.value for e in at.error] == [
        "Cohort is not configured correctly, so it is not serving pages. "
        "The server log says what to fix."
    ]
    assert not at.text_input  # no sign-in form


def test_a_malformed_credential_id_is_unknown_not_an_error(db):
    with db.scope(system=True) as s:
        for malformed in ("a\x00b", "x" * 65, "../../etc", "' OR 1=1 --", "é"):
            assert credentials.verify(s, credential_id=malformed).status == "unknown"


@pytest.mark.parametrize("param", ["credential", "access_request", "attendance", "set_password"])
def test_public_links_with_a_nul_byte_answer_without_a_traceback(db, param):
    at = app_as(None)
    at.query_params[param] = "a\x00b"
    at.run()
    assert not at.exception
