"""Test databases: every database test runs on SQLite and on PostgreSQL, built by the migrations.

Each test starts from a clean migrated database: SQLite by copying a migrated template file,
PostgreSQL by truncating every table. Tests commit for real (pages, concurrency and the worker
need committed data), which a rolled-back outer transaction could not show.

PostgreSQL: TEST_DATABASE_URL (an admin URL, default postgres@127.0.0.1:5432) creates a
non-superuser role `cohort_app` and a scratch database it owns; the app connects as that role so
row-level security applies. Without a server those tests skip — unless COHORT_NO_SKIP=1 (CI),
which turns every skip into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, text

os.environ.setdefault("APP_ENV", "dev")
os.environ["DEMO_SEED_ON_EMPTY"] = "false"
os.environ["EMBEDDED_WORKER"] = "0"  # tests start schedulers themselves, where they mean to
os.environ.pop("ADMIN_EMAILS", None)

from app.core.config import normalize_database_url, reset_settings_cache  # noqa: E402
from app.core.db import engine_for, session_scope  # noqa: E402
from app.core.migrate import upgrade_to_head  # noqa: E402
from app.core.tenancy import Actor  # noqa: E402

NO_SKIP = os.environ.get("COHORT_NO_SKIP") == "1"
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
APP_ROLE = "cohort_app"


def skip_or_fail(reason: str) -> None:
    if NO_SKIP:
        pytest.fail(f"not allowed to skip in CI: {reason}")
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if NO_SKIP and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped, which COHORT_NO_SKIP=1 forbids: {reason}"


def _admin_engine() -> Engine | None:
    try:
        engine = create_engine(
            normalize_database_url(ADMIN_URL),
            isolation_level="AUTOCOMMIT",
            connect_args={"connect_timeout": 3},
        )
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return engine
    except Exception:  # noqa: BLE001 - any failure means "no server here"
        return None


def _cleaner(database: str) -> Engine | None:
    """The admin role on a test database, for resetting it between tests: only a superuser (it
    must see past row-level security and skip triggers); None otherwise (TRUNCATE instead)."""
    from sqlalchemy.engine import make_url

    url = make_url(normalize_database_url(ADMIN_URL)).set(database=database)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        superuser = conn.execute(text("select rolsuper from pg_roles where rolname = current_user"))
        if superuser.scalar():
            return engine
    engine.dispose()
    return None


def _app_url(admin_url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(normalize_database_url(admin_url))
    return url.set(username=APP_ROLE, password=None, database=database).render_as_string(
        hide_password=False
    )


@dataclass
class Db:
    """A clean, migrated database for one test."""

    kind: str
    url: str

    @property
    def engine(self) -> Engine:
        return engine_for(self.url)

    @contextmanager
    def scope(
        self,
        actor: Actor | None = None,
        *,
        system: bool = False,
        institute_id: int | None = None,
        immediate: bool = False,
    ) -> Iterator:
        with session_scope(
            actor, system=system, institute_id=institute_id, engine=self.engine, immediate=immediate
        ) as session:
            yield session


class _Backend:
    def __init__(self, kind: str, tmp_root: Path) -> None:
        self.kind = kind
        self.tmp_root = tmp_root
        self.ready = False
        self.url = ""
        self.template: Path | None = None
        self.admin: Engine | None = None
        self.database = f"cohort_test_{os.getpid()}"
        self.cleaner: Engine | None = None

    def prepare(self) -> None:
        if self.ready:
            return
        if self.kind == "sqlite":
            self.template = self.tmp_root / "template.db"
            upgrade_to_head(f"sqlite:///{self.template}")
            engine_for(f"sqlite:///{self.template}").dispose()
            self.url = f"sqlite:///{self.tmp_root / 'test.db'}"
        else:
            self.admin = _admin_engine()
            if self.admin is None:
                skip_or_fail(f"no PostgreSQL server answers at {ADMIN_URL} (set TEST_DATABASE_URL)")
            with self.admin.connect() as conn:
                conn.execute(
                    text(
                        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN "
                        f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$"
                    )
                )
                conn.execute(text(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)"))
                conn.execute(text(f"CREATE DATABASE {self.database} OWNER {APP_ROLE}"))
            self.url = _app_url(ADMIN_URL, self.database)
            upgrade_to_head(self.url)
            with engine_for(self.url).connect() as conn:
                self.tables = [
                    row[0]
                    for row in conn.execute(
                        text(
                            "select tablename from pg_tables where schemaname = 'public' and tablename <> 'alembic_version'"
                        )
                    )
                ]
            self.cleaner = _cleaner(self.database)
        self.ready = True

    def reset(self) -> None:
        if self.kind == "sqlite":
            engine_for(self.url).dispose()
            target = Path(self.url.removeprefix("sqlite:///"))
            for suffix in ("-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(self.template, target)
        elif self.cleaner is not None:
            # Only what the last test wrote: DELETE is ~10x faster than TRUNCATE of every table
            # (which makes new files for each). As a superuser: it sees past row-level
            # security, and replica mode skips the foreign keys and append-only triggers.
            probe = " UNION ALL ".join(
                f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM {t})" for t in self.tables
            )
            with self.cleaner.connect() as conn:
                written = [row[0] for row in conn.execute(text(probe))]
                used = conn.execute(
                    text(
                        "select quote_ident(schemaname) || '.' || quote_ident(sequencename) "
                        "from pg_sequences where last_value is not null"
                    )
                ).all()
                conn.execute(text("SET session_replication_role = replica"))
                for table in written:
                    conn.execute(text(f"DELETE FROM {table}"))
                conn.execute(text("SET session_replication_role = DEFAULT"))
                for (sequence,) in used:
                    conn.execute(
                        text("SELECT setval(CAST(:s AS regclass), 1, false)"), {"s": sequence}
                    )
        else:
            with engine_for(self.url).begin() as conn:
                conn.execute(text(f"TRUNCATE {', '.join(self.tables)} RESTART IDENTITY CASCADE"))

    def drop(self) -> None:
        if self.cleaner is not None:
            self.cleaner.dispose()
        if self.kind == "postgres" and self.admin is not None and self.ready:
            engine_for(self.url).dispose()
            with self.admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)"))


@pytest.fixture(scope="session")
def _backends(tmp_path_factory) -> Iterator[dict[str, _Backend]]:
    root = tmp_path_factory.mktemp("db")
    backends = {"sqlite": _Backend("sqlite", root), "postgres": _Backend("postgres", root)}
    yield backends
    for backend in backends.values():
        backend.drop()


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def db(request, _backends, monkeypatch) -> Iterator[Db]:
    """A clean migrated database on each backend; the app's settings point at it."""
    backend = _backends[request.param]
    backend.prepare()
    backend.reset()
    monkeypatch.setenv("DATABASE_URL", backend.url)
    reset_settings_cache()
    yield Db(kind=backend.kind, url=backend.url)
    reset_settings_cache()


# Statements that are not the work being counted: BEGIN and the tenant set at each transaction's start,
# savepoints, SQLite's pragmas.
_NOT_A_QUERY = re.compile(
    r"^\s*(select set_config|savepoint|release savepoint|rollback to|pragma|begin)", re.IGNORECASE
)


@pytest.fixture
def max_queries(db):
    """`with max_queries(2): …` fails if the block sends the database more than two queries
    (the tenant setting and savepoints not counted); it yields the list of statements sent."""

    @contextmanager
    def at_most(limit: int) -> Iterator[list[str]]:
        sent: list[str] = []

        def record(_conn, _cursor, statement, *_args) -> None:
            if not _NOT_A_QUERY.match(statement):
                sent.append(" ".join(statement.split()))

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield sent
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert len(sent) <= limit, f"{len(sent)} queries, at most {limit} expected:\n" + (
            "\n".join(q[:200] for q in sent)
        )

    return at_most


@pytest.fixture
def pg(_backends) -> _Backend:
    """The PostgreSQL backend itself (for tests that only make sense there)."""
    backend = _backends["postgres"]
    backend.prepare()
    backend.reset()
    return backend


@pytest.fixture
def telegram_fake():
    """The real python-telegram-bot client over a fake transport, installed as the app's sender."""
    from app.integrations import telegram
    from tests.fakes.telegram import fake_sender

    sender, transport = fake_sender()
    telegram.use_sender(sender)
    yield transport
    telegram.use_sender(None)


@pytest.fixture(autouse=True)
def _clock_is_real_between_tests():
    """No test may leave the process-wide clock frozen for the next one."""
    from app.core import clock

    yield
    clock.set_frozen(None)


def _expected_seconds(item: pytest.Item) -> float:
    """Roughly how long a test takes: a heavy test's `seconds` (15 if not given), 15 for a
    browser test, and 0 for the rest (well under a second)."""
    heavy = item.get_closest_marker("heavy")
    if heavy is not None:
        return float(heavy.kwargs.get("seconds", 15))
    return 15.0 if item.get_closest_marker("browser") else 0.0


def pytest_collection_modifyitems(config, items):
    """Share the long tests (browser tests, those marked heavy) out evenly between the test
    processes, at the front of each one's share. xdist's work stealing (`--dist worksteal`)
    hands each process a contiguous, equal share of this list, and a process that runs out takes
    the tail of another's: dealt like this, every process starts on its part of the long tests
    and the run ends on short ones, instead of one process running every long test in a row
    while the other waits. Deterministic, so every process collects the same order."""
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    long = sorted(
        (i for i in items if _expected_seconds(i) > 0), key=lambda i: -_expected_seconds(i)
    )
    short = [i for i in items if _expected_seconds(i) == 0]
    shares: list[list[pytest.Item]] = [[] for _ in range(workers)]
    load = [0.0] * workers
    for item in long:  # longest first, each to the share with the least so far
        k = load.index(min(load))
        shares[k].append(item)
        load[k] += _expected_seconds(item)
    remaining, start = len(items), 0
    for k, share in enumerate(shares):  # the sizes xdist gives: len // processes left
        size = remaining // (workers - k)
        remaining -= size
        take = max(0, size - len(share))
        share.extend(short[start : start + take])
        start += take
    shares[-1].extend(short[start:])
    items[:] = [item for share in shares for item in share]
