"""Health checks shared by `python -m app.healthcheck` and the System page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

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
    """Every check, each failing for its own reason without stopping the others (except bad
    settings: nothing else can be checked without them)."""
    from app.core.config import get_settings
    from app.core.db import get_engine

    settings_error: list[str] = []
    checks = [_guard("settings", partial(_settings_ok, settings_error))]
    if settings_error:
        return checks
    engine = engine or get_engine()
    for name, check in ENGINE_CHECKS:
        checks.append(_guard(name, partial(check, engine)))
    return checks + _telegram_checks(get_settings(), telegram_check)


def _settings_ok(errors: list[str]) -> tuple[bool, str]:
    from app.core.config import get_settings

    try:
        settings = get_settings()
    except Exception as exc:  # pydantic's ValidationError names the setting
        errors.append(str(exc))
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        return False, "; ".join(lines[1:3])[:300] or str(exc)[:300]
    missing = []
    if settings.APP_ENV == "prod":
        if not settings.APP_BASE_URL:
            missing.append("APP_BASE_URL")
        elif "localhost" in settings.APP_BASE_URL:
            missing.append("APP_BASE_URL (still localhost)")
    if missing:
        return False, "missing or placeholder: " + ", ".join(missing)
    return True, f"APP_ENV={settings.APP_ENV}"


def _database(engine: Engine) -> tuple[bool, str]:
    with engine.connect() as conn:
        transaction = conn.begin()
        conn.execute(text("create temporary table if not exists cohort_health_probe (x integer)"))
        conn.execute(text("insert into cohort_health_probe (x) values (1)"))
        transaction.rollback()
    return True, f"{engine.dialect.name} reachable and writable"


def _migrations(engine: Engine) -> tuple[bool, str]:
    from app.core.migrate import current_revision, head_revision

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


def _heartbeat(engine: Engine) -> tuple[bool, str]:
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


def _outbox(engine: Engine) -> tuple[bool, str]:
    from app.notify.delivery import oldest_due_age

    age = oldest_due_age(engine=engine)
    if age is None:
        return True, "nothing waiting"
    minutes = int(age.total_seconds() // 60)
    if age > OUTBOX_MAX_WAIT:
        return False, f"the oldest due message has waited {minutes} min"
    return True, f"oldest due message waiting {minutes} min"


def _rules(engine: Engine) -> tuple[bool, str]:
    from sqlmodel import col, func, select

    from app.core.db import session_scope
    from app.identity.models import Institute
    from app.notify.models import RuleConfig

    with session_scope(system=True, engine=engine) as session:
        institutes = session.exec(select(func.count()).select_from(Institute)).one()
        own = session.exec(
            select(func.count(func.distinct(RuleConfig.institute_id))).where(
                col(RuleConfig.batch_id).is_(None)
            )
        ).one()
    return True, (
        f"{own} of {institutes} institutes set their notification rules; "
        "the others use the defaults"
    )


def _pending_actions(engine: Engine) -> tuple[bool, str]:
    from sqlmodel import func, select

    from app.core.db import session_scope
    from app.inbox.models import ActionStatus, PendingAction

    with session_scope(system=True, engine=engine) as session:
        count, oldest = session.exec(
            select(func.count(), func.min(PendingAction.created_at)).where(
                PendingAction.status == ActionStatus.OPEN.value
            )
        ).one()
    if not count:
        return True, "no open actions"
    days = (clock.now() - clock.aware_utc(oldest)).days
    return True, f"{count} open; the oldest opened {days} days ago"


def _action_tokens(engine: Engine) -> tuple[bool, str]:
    from sqlmodel import col, func, select

    from app.attendance.models import AttendanceLink
    from app.core.db import session_scope

    with session_scope(system=True, engine=engine) as session:
        live = session.exec(
            select(func.count()).where(
                col(AttendanceLink.used_at).is_(None), AttendanceLink.expires_at > clock.now()
            )
        ).one()
    return True, f"{live} one-time attendance links open (stored hashed)"


# The checks that read the database, in the order they are shown.
ENGINE_CHECKS: list[tuple[str, Callable[[Engine], tuple[bool, str]]]] = [
    ("database", _database),
    ("migrations", _migrations),
    ("worker", _heartbeat),
    ("outbox", _outbox),
    ("rules", _rules),
    ("pending actions", _pending_actions),
    ("action tokens", _action_tokens),
]


def _telegram_checks(settings: Any, telegram_check: Callable[[], str] | None) -> list[Check]:
    """Production without a bot token fails; with one (or a test's check), the bot answers."""
    checks = []
    if not settings.is_dev and not settings.TELEGRAM_BOT_TOKEN and telegram_check is None:
        checks.append(
            Check(
                "telegram",
                False,
                "TELEGRAM_BOT_TOKEN is not set: guardians get no messages and sign-in codes "
                "cannot be sent",
            )
        )
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
