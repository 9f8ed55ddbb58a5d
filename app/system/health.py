"""Health checks shared by `python -m app.healthcheck` and the System page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, text

from app.core import clock

HEARTBEAT_MAX_AGE = timedelta(minutes=3)
OUTBOX_MAX_WAIT = timedelta(minutes=15)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'✓ PASS' if self.ok else '✗ FAIL'} {self.name}: {self.detail}"


def _guard(name: str, fn: Callable[[], tuple[bool, str]]) -> Check:
    try:
        ok, detail = fn()
    except Exception as exc:  # noqa: BLE001 - a check that crashes has failed, with its reason
        ok, detail = (
            False,
            f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}",
        )
    return Check(name, ok, detail)


def run_checks(
    *, engine: Engine | None = None, telegram_check: Callable[[], str] | None = None
) -> list[Check]:
    """Every check, each failing for its own reason without stopping the others."""
    from app.core.config import get_settings

    checks: list[Check] = []
    settings_error: list[str] = []

    def settings_ok() -> tuple[bool, str]:
        try:
            settings = get_settings()
        except Exception as exc:  # pydantic's ValidationError names the setting
            settings_error.append(str(exc))
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            return False, "; ".join(lines[1:3])[:300] or str(exc)[:300]
        missing = []
        if settings.APP_ENV == "prod":
            if "localhost" in settings.APP_BASE_URL:
                missing.append("APP_BASE_URL (still localhost)")
        if missing:
            return False, "missing or placeholder: " + ", ".join(missing)
        return True, f"APP_ENV={settings.APP_ENV}"

    checks.append(_guard("settings", settings_ok))
    if settings_error:
        return checks

    from app.core.db import get_engine
    from app.core.migrate import current_revision, head_revision

    engine = engine or get_engine()

    def database() -> tuple[bool, str]:
        with engine.connect() as conn:
            transaction = conn.begin()
            conn.execute(
                text("create temporary table if not exists cohort_health_probe (x integer)")
            )
            conn.execute(text("insert into cohort_health_probe (x) values (1)"))
            transaction.rollback()
        return True, f"{engine.dialect.name} reachable and writable"

    checks.append(_guard("database", database))

    def migrations() -> tuple[bool, str]:
        current, head = (
            current_revision(str(engine.url.render_as_string(hide_password=False))),
            head_revision(),
        )
        if current == head:
            return True, f"at head ({head})"
        return (
            False,
            f"database at {current or 'nothing'}, code expects {head}: run `alembic upgrade head`",
        )

    checks.append(_guard("migrations", migrations))

    def heartbeat() -> tuple[bool, str]:
        from app.worker.runner import leader

        beat, holder = leader(engine=engine)
        if beat is None:
            return False, "no worker has ever run: start `python -m app.worker`"
        age = clock.now() - beat
        if age > HEARTBEAT_MAX_AGE:
            return (
                False,
                f"last heartbeat {int(age.total_seconds() // 60)} min ago: is the worker running?",
            )
        kind, _, where = (holder or "").partition(" ")
        who = {
            "web": f"the scheduler inside the web process ({where})",
            "worker": f"the worker process ({where})",
        }.get(kind, holder or "a worker")
        return True, f"jobs run by {who}; last heartbeat {int(age.total_seconds())} s ago"

    checks.append(_guard("worker", heartbeat))

    def outbox() -> tuple[bool, str]:
        from app.notify.delivery import oldest_due_age

        age = oldest_due_age(engine=engine)
        if age is None:
            return True, "nothing waiting"
        minutes = int(age.total_seconds() // 60)
        if age > OUTBOX_MAX_WAIT:
            return False, f"the oldest due message has waited {minutes} min"
        return True, f"oldest due message waiting {minutes} min"

    checks.append(_guard("outbox", outbox))

    settings = get_settings()
    if settings.TELEGRAM_BOT_TOKEN or telegram_check is not None:

        def telegram_reachable() -> tuple[bool, str]:
            if telegram_check is not None:
                return True, f"bot @{telegram_check()}"
            from app.integrations.telegram import TelegramSender

            sender = TelegramSender(
                settings.TELEGRAM_BOT_TOKEN, base_url=settings.TELEGRAM_API_BASE_URL
            )
            return True, f"bot @{sender.check()}"

        checks.append(_guard("telegram", telegram_reachable))
    return checks
