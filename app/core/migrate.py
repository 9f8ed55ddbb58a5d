"""Run Alembic from code: first start, tests, scripts and the health check."""

from __future__ import annotations

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from alembic import command
from app.core.config import PROJECT_ROOT, normalize_database_url
from app.core.db import engine_for


def alembic_config(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    cfg.attributes["url"] = normalize_database_url(url)
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade_to_head(url: str) -> None:
    """Bring the database at `url` to the newest migration (creating a SQLite file if needed)."""
    command.upgrade(alembic_config(url), "head")


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(url: str) -> str | None:
    with engine_for(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_at_head(url: str) -> bool:
    return current_revision(url) == head_revision()
