"""Several instances of the web service behind a load balancer that keeps no browser anywhere,
as Render's `numInstances` does (issue 17): every instance runs `python -m app.serve` with
`WEB_PEERS`, finds the others by DNS, and carries each request to the process that holds the
browser's session, so uploads and downloads work whichever instance a request reaches, and a
user whose instance stops carries on, signed in, on another one.

Here the instances are two `app.serve` on 127.0.0.2 and 127.0.0.3 (the same process port on
each, as on Render's private network), a fake DNS answers the discovery name with both, and an
HAProxy in front plays Render's balancer at its least helpful: websockets to one instance, every
other request (uploads, downloads) to the other."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from app.academics.models import Student
from app.core.roles import Role
from app.serve import HAPROXY_DEFAULTS, free_port, healthy
from tests import factories as f
from tests.e2e.conftest import sign_in_with_password
from tests.e2e.harness import ROOT, need_haproxy, stop_process_group, wait_until
from tests.e2e.test_journeys import import_file
from tests.fakes.dns import FakeDNS

pytestmark = [
    pytest.mark.heavy(seconds=25),
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.parametrize("db", ["postgres"], indirect=True),
]

DISCOVERY = "cohort-web-discovery"
PASSWORD = "correct horse battery staple"
RERUN_MS = 20_000

# Render's balancer, as unhelpful as it may be: the websocket goes to instance A, every other
# request to instance B; each takes the other's traffic when it is down.
BALANCER = (
    HAPROXY_DEFAULTS
    + """
frontend render
    option forwardfor
    bind 127.0.0.1:{port}
    acl websocket hdr(upgrade) -i websocket
    use_backend sockets if websocket
    default_backend requests

backend sockets
    option httpchk GET /_stcore/health
    server a 127.0.0.1:{a} check inter 1s fall 2 rise 1
    server b 127.0.0.1:{b} check inter 1s fall 2 rise 1 backup

backend requests
    option httpchk GET /_stcore/health
    server b 127.0.0.1:{b} check inter 1s fall 2 rise 1
    server a 127.0.0.1:{a} check inter 1s fall 2 rise 1 backup
"""
)


class Instance:
    """One instance of the web service: `python -m app.serve` with one web process on
    `address:peer_port`, HAProxy on `port`, and the other instances found by DNS."""

    def __init__(self, database_url: str, address: str, peer_port: int, dns: str, log: Path):
        self.port = free_port()
        self.log_path = log
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PORT": str(self.port),
            "WEB_PROCESSES": "1",
            "WEB_PEERS": DISCOVERY,
            "WEB_PEER_PORT": str(peer_port),
            "WEB_PEER_ADDRESS": address,
            "WEB_PEERS_NAMESERVER": dns,
            "TRUSTED_PROXY_HOPS": "1",  # the balancer in front, as Render's
            "APP_ENV": "dev",
            "AUTO_MIGRATE": "false",
            "DEMO_SEED_ON_EMPTY": "false",
            "EMBEDDED_WORKER": "0",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Instance:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.serve"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def stop(self) -> int:
        """SIGTERM, as a host stops an instance: the instance stops its proxy and processes."""
        assert self.process is not None
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
        return self.process.wait(60)

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.stop()
            except subprocess.TimeoutExpired:
                stop_process_group(self.process)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.fixture
def balancer() -> Iterator[Callable[[int, int], str]]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(a: int, b: int) -> str:
        port = free_port()
        config = Path(tempfile.mkdtemp()) / "balancer.cfg"
        config.write_text(BALANCER.format(port=port, a=a, b=b))
        processes.append(
            subprocess.Popen(
                ["haproxy", "-db", "-f", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        return f"http://127.0.0.1:{port}"

    yield start
    for process in processes:
        stop_process_group(process)


def students_csv(batch: str, numbers: range) -> bytes:
    return import_file(
        [
            {
                "enrollment_no": f"INS-{n:03d}",
                "name": f"Pupil {n}",
                "phone": f"+91 98450 {n:05d}",
                "guardian_name": f"Parent {n}",
                "guardian_phone": f"+91 98451 {n:05d}",
                "batch": batch,
            }
            for n in numbers
        ]
    )


def import_students(page: Page, batch: str, numbers: range) -> None:
    """Upload a student file on Import students and confirm: the upload and the confirmation
    must both reach the process that holds this browser's session."""
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name="Import students", exact=True).click()
    expect(page.get_by_role("heading", name="Import students")).to_be_visible(timeout=RERUN_MS)
    count = len(numbers)
    page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(
        files=[{"name": "students.csv", "mimeType": "text/csv", "buffer": students_csv(batch, numbers)}]
    )  # fmt: skip
    expect(page.get_by_text(f"{count} students are ready to import.")).to_be_visible(
        timeout=RERUN_MS
    )
    page.get_by_role("button", name=f"Import {count} students").click()
    expect(page.get_by_text(f"Imported {count} students.")).to_be_visible(timeout=RERUN_MS)


def test_instances_behind_a_balancer_without_affinity_carry_uploads_downloads_and_users(
    db, page: Page, tmp_path, balancer
):
    need_haproxy()
    institute = f.institute(db)
    admin = f.user(db, institute, Role.ADMIN, password=PASSWORD)
    batch = f.batch(db, institute, name="Morning Maths")
    db.engine.dispose()
    peer_port = free_port()
    with (
        FakeDNS({DISCOVERY: []}) as dns,
        Instance(db.url, "127.0.0.2", peer_port, dns.address, tmp_path / "a.log") as a,
        Instance(db.url, "127.0.0.3", peer_port, dns.address, tmp_path / "b.log") as b,
    ):
        # Discovery names no instance yet (a host may name an instance only once it is
        # healthy): each instance's health check answers for its own processes all the same.
        for instance in (a, b):
            wait_until(
                "an instance's proxy",
                lambda i=instance: healthy(f"http://127.0.0.1:{i.port}") or i.process.poll() is not None,
            )  # fmt: skip
            assert instance.process.poll() is None, instance.log()
        assert _status(f"http://127.0.0.1:{a.port}/") == 503  # no process known yet
        # Discovery names both: each instance's proxy now reaches both instances' processes.
        dns.records[DISCOVERY] = ["127.0.0.2", "127.0.0.3"]
        for instance in (a, b):
            wait_until(
                "discovery", lambda i=instance: _status(f"http://127.0.0.1:{i.port}/") == 200
            )
        url = balancer(a.port, b.port)
        wait_until("the balancer", lambda: healthy(url))

        # An admin signs in with a password; the websocket arrives through instance A.
        sign_in_with_password(page, url, admin.email, PASSWORD, RERUN_MS)

        # The upload and the generated download arrive through instance B, and reach the process
        # holding the session wherever it is.
        import_students(page, batch.name, range(1, 4))
        with page.expect_download() as download:
            page.get_by_role("button", name="CSV template").click()
        assert b"enrollment_no" in Path(download.value.path()).read_bytes()

        # Instance A stops (a deploy, a scale-down): DNS stops naming it, the websocket comes
        # back through B, and the admin is still signed in and can upload again.
        dns.records[DISCOVERY] = ["127.0.0.3"]
        assert a.stop() == 0, a.log()
        # The page on screen is the old one until the app has reconnected: go to another page
        # (a rerun through the new connection) before trusting what it shows.
        overview = page.get_by_test_id("stSidebarNav").get_by_role("link", name="Overview")
        heading = page.get_by_role("heading", name="Overview", exact=True)
        for _attempt in range(3):  # a click made while disconnected may be lost
            overview.click()
            try:
                expect(heading).to_be_visible(timeout=10_000)
                break
            except AssertionError:
                continue
        expect(heading).to_be_visible(timeout=RERUN_MS)
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        expect(page.get_by_role("textbox", name="Password", exact=True)).to_have_count(0)
        import_students(page, batch.name, range(4, 6))

    with db.scope(system=True) as s:
        enrolled = s.exec(
            select(Student.enrollment_no).where(Student.institute_id == institute.id)
        ).all()
    assert sorted(enrolled) == [f"INS-{n:03d}" for n in range(1, 6)]
