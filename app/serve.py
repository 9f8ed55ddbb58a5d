"""Start the web app the same way on Render or any host: `python -m app.serve`.

1. When the `[auth]` settings for "Sign in with Google" come from the environment
   (`AUTH_CLIENT_ID`, `AUTH_CLIENT_SECRET`, `AUTH_COOKIE_SECRET`, `AUTH_REDIRECT_URI`, and
   optionally `AUTH_SERVER_METADATA_URL`), write them to `.streamlit/secrets.toml` (readable by
   the owner only; the file is git-ignored and never committed). Without them an existing file
   is left alone, and without either Google sign-in is simply not offered.
2. In production, refuse a placeholder or short cookie secret, wherever it came from.
3. Migrate the database when AUTO_MIGRATE is on (the default in dev; on Render the Blueprint's
   pre-deploy command runs `alembic upgrade head` instead).
4. Replace this process with `streamlit run streamlit_app.py` on `$PORT` (default 8501),
   headless, listening on every interface, without Streamlit's full GC after every rerun.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from app.core.config import PLACEHOLDER_SECRETS, PROJECT_ROOT, get_settings

SECRETS_PATH = PROJECT_ROOT / ".streamlit" / "secrets.toml"
GOOGLE_METADATA = "https://accounts.google.com/.well-known/openid-configuration"
AUTH_ENV = {
    "client_id": "AUTH_CLIENT_ID",
    "client_secret": "AUTH_CLIENT_SECRET",
    "cookie_secret": "AUTH_COOKIE_SECRET",
    "redirect_uri": "AUTH_REDIRECT_URI",
}
EXAMPLE_COOKIE_SECRET = "replace-with-a-long-random-string"


class StartupError(RuntimeError):
    """A setting that must be fixed before the app can start; the message says how."""


def _quote(value: str) -> str:
    # A TOML basic string; JSON string escaping is a valid subset of it.
    return json.dumps(value, ensure_ascii=False)


def auth_from_env(env: dict[str, str]) -> dict[str, str] | None:
    """The [auth] block from the environment, or None without a client id (a generated cookie
    secret alone, as the Render Blueprint provides, configures nothing)."""
    given = {key: env.get(var, "").strip() for key, var in AUTH_ENV.items()}
    if not given["client_id"]:
        return None
    missing = [AUTH_ENV[key] for key, value in given.items() if not value]
    if missing:
        raise StartupError(
            "Google sign-in is half configured: AUTH_CLIENT_ID is set, so set "
            + ", ".join(missing)
            + " as well (or unset AUTH_CLIENT_ID to offer password and code sign-in only)."
        )
    given["server_metadata_url"] = env.get("AUTH_SERVER_METADATA_URL", "").strip() or (
        GOOGLE_METADATA
    )
    return given


def check_cookie_secret(secret: str, *, prod: bool) -> None:
    """In production the cookie secret must be random and long (it signs the sign-in cookie)."""
    value = secret.strip()
    if prod and (
        value.lower() in PLACEHOLDER_SECRETS or value == EXAMPLE_COOKIE_SECRET or len(value) < 32
    ):
        raise StartupError(
            "The [auth] cookie_secret is a placeholder or shorter than 32 characters. Set "
            "AUTH_COOKIE_SECRET to a random value, e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'."
        )


def write_secrets(auth: dict[str, str], path: Path = SECRETS_PATH) -> Path:
    """Write the [auth] block to secrets.toml, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "# Written at start-up from the environment by app/serve.py; do not commit.\n[auth]\n"
    body += "".join(f"{key} = {_quote(value)}\n" for key, value in auth.items())
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(body)
    os.replace(temporary, path)
    return path


def existing_cookie_secret(path: Path = SECRETS_PATH) -> str | None:
    """The cookie_secret of an existing secrets.toml, if there is one."""
    if not path.exists():
        return None
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise StartupError(f"{path} is not valid TOML: {exc}") from exc
    auth = data.get("auth") or {}
    return auth.get("cookie_secret") if isinstance(auth, dict) else None


def prepare(env: dict[str, str] | None = None, path: Path = SECRETS_PATH) -> str:
    """Steps 1–2; returns what was done with the secrets, for the log."""
    env = dict(os.environ if env is None else env)
    prod = env.get("APP_ENV", "dev").strip() == "prod"
    auth = auth_from_env(env)
    if auth is not None:
        check_cookie_secret(auth["cookie_secret"], prod=prod)
        write_secrets(auth, path)
        return f"Google sign-in configured from the environment ({path.name} written)."
    secret = existing_cookie_secret(path)
    if secret is not None:
        check_cookie_secret(secret, prod=prod)
        return f"Google sign-in configured from {path.name}."
    return "Google sign-in not configured (no AUTH_* variables, no secrets.toml)."


def command(env: dict[str, str] | None = None) -> list[str]:
    """The streamlit command line for this host."""
    env = dict(os.environ if env is None else env)
    port = env.get("PORT", "").strip() or "8501"
    if not port.isdigit():
        raise StartupError(f"PORT must be a number, not {port!r}.")
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(PROJECT_ROOT / "streamlit_app.py"),
        "--server.port",
        port,
        "--server.address",
        "0.0.0.0",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        # Production shows visitors no tracebacks (the app sets it too: app/ui/bootstrap.py).
        "--client.showErrorDetails",
        "none",
        # As in .streamlit/config.toml, whatever the working directory: no gc.collect(2) after
        # every rerun (it dominated CPU under load).
        "--runner.postScriptGC",
        "false",
    ]


def main() -> None:
    try:
        print(prepare(), flush=True)
        settings = get_settings()
        if settings.auto_migrate:
            from app.core.migrate import upgrade_to_head

            upgrade_to_head(settings.database_url)
        argv = command()
    except (StartupError, ValueError) as exc:
        print(f"Cohort cannot start: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from exc
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
