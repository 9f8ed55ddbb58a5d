"""One Settings object for the web app, the worker and the scripts (environment variables and `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "sqlite:///data/cohort.db"
PLACEHOLDER_SECRETS = {
    "",
    "change-me",
    "changeme",
    "change-me-in-production",
    "secret",
    "dev-secret",
}
DEV_SECRET_KEY = "dev-secret"
DEFAULT_MATERIAL_TYPES = (
    "pdf", "pptx", "ppt", "docx", "png", "jpg", "jpeg", "gif", "webp", "ipynb", "txt", "md",
)  # fmt: skip


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=(".env", PROJECT_ROOT / ".env"), env_file_encoding="utf-8", extra="ignore"
    )

    APP_ENV: Literal["dev", "prod"] = "dev"
    # Dev sign-in ("sign in as anyone"): only with APP_ENV=dev. Unset means on in development, so
    # `streamlit run` on a fresh clone is usable; DEV_SIGN_IN=0 turns it off. Never in production.
    DEV_SIGN_IN: bool | None = None
    # Allow dev sign-in even when the server listens beyond loopback (server.address).
    DEV_SIGN_IN_BEYOND_LOOPBACK: bool = False
    DATABASE_URL: str = DEFAULT_DATABASE_URL
    SECRET_KEY: str = DEV_SECRET_KEY
    ADMIN_EMAILS: Annotated[list[str], NoDecode] = Field(default_factory=list)
    SUPER_ADMIN_EMAILS: Annotated[list[str], NoDecode] = Field(default_factory=list)
    DEMO_SEED_ON_EMPTY: bool = True
    DEFAULT_TIMEZONE: str = "Asia/Kolkata"
    DEFAULT_CURRENCY: str = "INR"
    AUTO_MIGRATE: bool | None = None  # default: on in dev, off in prod (the deploy migrates)
    EMBEDDED_WORKER: bool | None = None  # unset: on in development, off in production
    DB_POOL_SIZE: int = 5
    LOG_LEVEL: str = "INFO"
    APP_BASE_URL: str | None = None  # unset: the request's own address (app.core.weburl)

    # Sign-in and sessions
    AUTH_ADMIN_PHONE: str | None = None
    AUTH_OTP_EXPIRY_MINUTES: int = 10
    AUTH_OTP_MAX_ATTEMPTS: int = 5
    AUTH_OTP_MAX_REQUESTS: int = 3
    AUTH_OTP_REQUEST_WINDOW_MINUTES: int = 15
    # Codes one client address may ask for, whatever the numbers, per request window.
    AUTH_OTP_MAX_REQUESTS_PER_ADDRESS: int = 10
    AUTH_OTP_FALLBACK_CHAT_ID: str | None = None
    AUTH_SESSION_EXPIRY_HOURS: int = 12
    AUTH_SESSION_IDLE_MINUTES: int = 30
    AUTH_LOCKOUT_THRESHOLD: int = 5
    AUTH_LOCKOUT_WINDOW_MINUTES: int = 15
    AUTH_LOCKOUT_MAX_MINUTES: int = 15
    AUTH_PASSWORD_LINK_HOURS: int = 72

    # Reverse proxies of our own in front of the app (Render: 1). The client address is taken
    # that many hops from the right of X-Forwarded-For; 0 ignores the header.
    TRUSTED_PROXY_HOPS: int = Field(default=0, ge=0, le=5)

    # Access requests (public form): attempts allowed per client address per minute
    ACCESS_REQUESTS_PER_MINUTE: int = Field(default=5, ge=1)
    PUBLIC_INQUIRIES_PER_MINUTE: int = Field(default=5, ge=1)  # per client address
    # Live pages (Today, the attendance sheet, the inbox, System) re-read their data this often
    LIVE_REFRESH_SECONDS: int = Field(default=30, ge=1, le=3600)
    # Whole-page runs one web process works on at once; the rest wait their turn (a tap on a
    # sheet and other fragment reruns never wait). See app/ui/admission.py.
    PAGE_RUNS_AT_ONCE: int = Field(default=3, ge=1, le=64)

    # Attendance
    ATTENDANCE_AUTO_CLOSE_GRACE_MINUTES: int = 10
    ATTENDANCE_OPEN_BEFORE_MINUTES: int = 15
    ATTENDANCE_LINK_HOURS: int = 12

    # Daily teacher brief: queued once per teacher per day after this time (HH:MM, institute time)
    DAILY_TEACHER_BRIEF_TIME: str = Field(default="07:30", pattern=r"^([01]?\d|2[0-3]):[0-5]\d$")

    # Telegram
    TELEGRAM_BOT_TOKEN: str | None = None
    TELEGRAM_API_BASE_URL: str | None = None  # a local Bot API server; default: Telegram's
    # The bot's @username for deep links (t.me/<bot>?start=...); unset: asked from Telegram.
    TELEGRAM_BOT_USERNAME: str | None = None
    # Updates come by long polling unless this public HTTPS URL is set: then Telegram posts them
    # to the worker's small web route (listening on TELEGRAM_WEBHOOK_PORT, path /telegram).
    TELEGRAM_WEBHOOK_URL: str | None = None
    TELEGRAM_WEBHOOK_PORT: int = 8081
    # How long one run of the updates job listens (long polling), in seconds.
    TELEGRAM_POLL_SECONDS: int = 25

    # Worker: how often the outbox is drained. Unset: every minute. A few seconds is for tests
    # and demos (the browser journeys set 2), where a queued message should leave promptly.
    WORKER_OUTBOX_INTERVAL_SECONDS: int | None = Field(default=None, ge=1, le=3600)

    # Ops desk: an optional local model (Ollama) answers what the desk's rules do not understand;
    # it only ever writes text, never acts. Unset: the desk lists what it can do instead.
    OLLAMA_BASE_URL: str | None = None  # e.g. http://localhost:11434
    OLLAMA_MODEL: str = "llama3.2"
    OLLAMA_TIMEOUT_SECONDS: float = 20.0

    # Badges: encrypts each institute's credential-signing private key (Fernet). Unset, a key is
    # derived from SECRET_KEY (already refused as a placeholder in prod); set it explicitly
    # before ever rotating SECRET_KEY, or the stored signing keys can no longer be decrypted.
    BADGE_KEY_ENCRYPTION_KEY: str | None = None

    # Backups: the daily job (and "Backup now") writes here and keeps the newest BACKUP_KEEP.
    # A relative path is anchored at the project root. The restore drill on PostgreSQL needs a
    # URL allowed to CREATE/DROP DATABASE for its scratch copy (or pass --admin-url).
    BACKUP_DIR: str = "data/backups"
    BACKUP_KEEP: int = Field(default=7, ge=1)
    RESTORE_DRILL_ADMIN_URL: str | None = None

    # Learning materials: files live under MATERIALS_DIR/<institute id>/<random key> (a relative
    # path is anchored at the project root), or in an S3-compatible bucket when
    # MATERIALS_S3_BUCKET is set (MATERIALS_S3_ENDPOINT_URL for MinIO; region and credentials
    # from the usual AWS_* variables). Allowed types are file extensions, comma-separated.
    MATERIALS_DIR: str = "data/files"
    MATERIALS_MAX_MB: int = Field(default=25, ge=1, le=2048)
    MATERIALS_ALLOWED_TYPES: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_MATERIAL_TYPES)
    )
    MATERIALS_S3_BUCKET: str | None = None
    MATERIALS_S3_ENDPOINT_URL: str | None = None

    @field_validator("ADMIN_EMAILS", "SUPER_ADMIN_EMAILS", mode="before")
    @classmethod
    def _split_emails(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("MATERIALS_ALLOWED_TYPES", mode="before")
    @classmethod
    def _split_types(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return [str(part).strip().lower().lstrip(".") for part in value if str(part).strip()]
        return value

    @model_validator(mode="after")
    def _refuse_placeholders_in_prod(self) -> Settings:
        if self.APP_ENV == "prod":
            key = self.SECRET_KEY.strip()
            if key.lower() in PLACEHOLDER_SECRETS or len(key) < 32:
                raise ValueError(
                    "SECRET_KEY must be set to a random value of at least 32 characters "
                    "when APP_ENV=prod (for example: python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))')."
                )
            badge_key = self.BADGE_KEY_ENCRYPTION_KEY
            if badge_key is not None and (
                badge_key.strip().lower() in PLACEHOLDER_SECRETS or len(badge_key.strip()) < 32
            ):
                raise ValueError(
                    "BADGE_KEY_ENCRYPTION_KEY must be a random value of at least 32 characters "
                    "when APP_ENV=prod, or left unset to derive it from SECRET_KEY."
                )
        return self

    @property
    def is_dev(self) -> bool:
        return self.APP_ENV == "dev"

    @property
    def dev_sign_in(self) -> bool:
        """APP_ENV=dev and DEV_SIGN_IN (unset counts as on in development)."""
        return self.is_dev and self.DEV_SIGN_IN is not False

    @property
    def embedded_worker(self) -> bool:
        """Run the scheduler inside the web process too (EMBEDDED_WORKER; unset: in dev)."""
        return self.is_dev if self.EMBEDDED_WORKER is None else self.EMBEDDED_WORKER

    @property
    def auto_migrate(self) -> bool:
        return self.is_dev if self.AUTO_MIGRATE is None else self.AUTO_MIGRATE

    @property
    def database_url(self) -> str:
        """The URL SQLAlchemy should use: driver made explicit, relative SQLite paths anchored."""
        return normalize_database_url(self.DATABASE_URL)


def normalize_database_url(url: str) -> str:
    """Rewrite a host's `postgres://`/`postgresql://` URL for psycopg 3; anchor relative SQLite files."""
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url[len("sqlite:///") :]
        if relative and not relative.startswith(":memory:"):
            url = "sqlite:///" + str((PROJECT_ROOT / relative).resolve())
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()
