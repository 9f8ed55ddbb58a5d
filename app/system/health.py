"""Health checks shared by `python -m app.healthcheck` and the System page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta

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
            if not settings.APP_BASE_URL:
                missing.append("APP_BASE_URL")
            elif "localhost" in settings.APP_BASE_URL:
                missing.append("APP_BASE_URL (still localhost)")
        if missing:
            return False, "missing or placeholder: " + ", ".join(missing)
        return True, f"APP_ENV={settings.APP_ENV}"

    checks.append(_guard("settings", settings_ok))
    if settings_error:
        return checks

    from app.core.db import get_engine, session_scope
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

    def rules() -> tuple[bool, str]:
        from sqlmodel import col, func, select

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

    checks.append(_guard("rules", rules))

    def pending_actions() -> tuple[bool, str]:
        from sqlmodel import func, select

        from app.inbox.models import ActionStatus, PendingAction

        with session_scope(system=True, engine=engine) as session:
            count, oldest = session.exec(
                select(func.count(), func.min(PendingAction.created_at)).where(
                    PendingAction.status == ActionStatus.OPEN.value
                )
            ).one()
        if not count:
            return True, "no open actions"
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        days = (clock.now() - oldest).days
        return True, f"{count} open; the oldest opened {days} days ago"

    checks.append(_guard("pending actions", pending_actions))

    def action_tokens() -> tuple[bool, str]:
        from sqlmodel import col, func, select

        from app.attendance.models import AttendanceLink

        with session_scope(system=True, engine=engine) as session:
            live = session.exec(
                select(func.count()).where(
                    col(AttendanceLink.used_at).is_(None), AttendanceLink.expires_at > clock.now()
                )
            ).one()
        return True, f"{live} one-time attendance links open (stored hashed)"

    checks.append(_guard("action tokens", action_tokens))

    settings = get_settings()
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
