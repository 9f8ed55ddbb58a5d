"""Browser-test harness: a real `streamlit run` on a free port and Debian's headless Chromium,
plus what the journeys need around them: the real worker (`python -m app.worker`) as a
subprocess, a local fake Telegram Bot API server, `[auth]` secrets for a local OIDC provider,
and screenshots (test-artifacts/screenshots; COHORT_SCREENSHOTS=docs/screenshots refreshes the
README's pictures from a run).

Never downloads a browser (`playwright install` is not used): Chromium comes from the system at
/usr/bin/chromium. Without it the browser tests skip locally and fail in CI (COHORT_NO_SKIP=1).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import pytest

from app.serve import free_port  # noqa: F401  (re-exported for the e2e tests)
from tests.conftest import skip_or_fail
from tests.fakes.telegram import FakeTelegramServer  # noqa: F401  (re-exported for the e2e tests)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# Set (e.g. COHORT_SCREENSHOTS=docs/screenshots) to also write the journeys' chosen screenshots
# there; a relative path is anchored at the project root.
SCREENSHOTS_ENV = "COHORT_SCREENSHOTS"
STARTUP_TIMEOUT = 60.0
LOOPBACK = "localhost,127.0.0.1"


def wait_until(what: str, check: Callable[[], object], seconds: float = 120) -> None:
    """Poll `check` until it is true; fail the test saying what did not happen in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def need_haproxy() -> None:
    if not shutil.which("haproxy") and not Path("/usr/sbin/haproxy").exists():
        skip_or_fail("HAProxy is not installed (apt-get install haproxy)")


class StreamlitServer:
    """`streamlit run streamlit_app.py` as a subprocess, in its own process group.

    Use as a context manager: entering starts the server and waits for `/_stcore/health` to say
    `ok`; leaving terminates the whole process group. Without `secrets_file` the server reads an
    empty secrets file, so a developer's `.streamlit/secrets.toml` cannot change what a test sees.
    """

    def __init__(
        self,
        database_url: str,
        extra_env: dict[str, str] | None = None,
        secrets_file: str | os.PathLike[str] | None = None,
        *,
        port: int | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        self.database_url = database_url
        self.extra_env = dict(extra_env or {})
        self.secrets_file = Path(secrets_file) if secrets_file is not None else None
        self.startup_timeout = startup_timeout
        self.port = port or 0
        self.process: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._log_path: Path | None = None

    @property
    def url(self) -> str:
        # localhost, not 127.0.0.1: an [auth] redirect_uri must match the origin the browser opens.
        return f"http://localhost:{self.port}"

    def log(self) -> str:
        """Everything the server printed so far (stdout and stderr, interleaved)."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        return self._log_path.read_text(errors="replace")

    def start(self) -> StreamlitServer:
        self._tmp = tempfile.TemporaryDirectory(prefix="cohort-e2e-")
        tmp = Path(self._tmp.name)
        self._log_path = tmp / "streamlit.log"
        secrets = self.secrets_file
        if secrets is None:
            secrets = tmp / "secrets.toml"
            secrets.write_text("")
        self.port = self.port or free_port()
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "APP_ENV": "dev",
            "DEMO_SEED_ON_EMPTY": "false",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "streamlit_app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(self.port),
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
            "--secrets.files",
            str(secrets),
        ]
        with self._log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        health = f"{self.url}/_stcore/health"
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise RuntimeError(
                    f"streamlit exited with code {code} before it was healthy.\n"
                    f"--- server output ---\n{self.log()}"
                )
            try:
                with urllib.request.urlopen(health, timeout=2) as response:
                    body = response.read().decode(errors="replace").strip()
                if body == "ok":
                    return
                last_error = f"health answered {body!r}"
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
                last_error = repr(exc)
            time.sleep(0.2)
        raise RuntimeError(
            f"streamlit did not answer ok at {health} within {self.startup_timeout:.0f} s "
            f"(last: {last_error}).\n--- server output ---\n{self.log()}"
        )

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_process_group(process)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self._log_path = None

    def __enter__(self) -> StreamlitServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def stop_process_group(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM the process's group, SIGKILL it if it lingers."""
    if process is None or process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue


class WorkerProcess:
    """The real scheduler worker, `python -m app.worker`, against a test database.

    `extra_env` carries its settings (e.g. TELEGRAM_BOT_TOKEN, TELEGRAM_API_BASE_URL and a short
    WORKER_OUTBOX_INTERVAL_SECONDS). Entering waits until it leads ("now runs the jobs"), or,
    with `leads=False` (another worker holds the lock), until it says it is waiting.
    """

    def __init__(
        self, database_url: str, log_path: Path, extra_env: dict[str, str], *, leads: bool = True
    ) -> None:
        self.started_text = "now runs the jobs" if leads else "waiting to take over"
        self.database_url = database_url
        self.log_path = log_path
        self.extra_env = dict(extra_env)
        self.process: subprocess.Popen[bytes] | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> WorkerProcess:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "APP_ENV": "dev",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": LOOPBACK,
            "no_proxy": LOOPBACK,
            **self.extra_env,
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.worker"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while self.started_text not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                text = self.log()
                self.__exit__(None, None, None)
                raise RuntimeError(f"the worker did not start.\n--- worker output ---\n{text}")
            time.sleep(0.1)
        return self

    def __exit__(self, *_: object) -> None:
        process, self.process = self.process, None
        stop_process_group(process)


def auth_secrets(path: Path, *, app_port: int, provider_url: str) -> Path:
    """An `[auth]` secrets file so st.login signs in through the OIDC provider at provider_url."""
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        'client_id = "cohort-test"\n'
        'client_secret = "cohort-test-secret"\n'
        f'server_metadata_url = "{provider_url}/.well-known/openid-configuration"\n'
    )
    return path


def set_oidc_claims(provider_url: str, sub: str, claims: dict) -> None:
    """Tell oidc-provider-mock which claims (email, ...) the user `sub` signs in with."""
    request = urllib.request.Request(
        f"{provider_url}/users/{sub}",
        data=json.dumps(claims).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).read()


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, through Playwright's sync API (no browser download)."""
    if not CHROMIUM.exists():
        from tests.conftest import skip_or_fail

        skip_or_fail(
            f"no Chromium at {CHROMIUM} (apt-get install -y chromium); never `playwright install`"
        )
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot to test-artifacts/screenshots/<name>.png (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def docs_screenshot(page: Page, name: str) -> Path:
    """A tour picture: a viewport (not full-page) screenshot, kept like any other; with
    COHORT_SCREENSHOTS set it is also copied there (docs/screenshots/<name>.png, committed)."""
    path = screenshot(page, name, full_page=False)
    target = os.environ.get(SCREENSHOTS_ENV)
    if target:
        folder = Path(target) if Path(target).is_absolute() else ROOT / target
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, folder / path.name)
    return path
