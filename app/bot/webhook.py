"""The webhook route: Telegram posts updates here when TELEGRAM_WEBHOOK_URL is set.

A small HTTP server in the worker process (any worker, leader or not) on TELEGRAM_WEBHOOK_PORT
accepts `POST /telegram` carrying Telegram's secret-token header, stores the update (each
update_id once) and answers 200 at once; the leader's job processes it. Telegram is told the URL
and the secret at start (`setWebhook`). The secret is derived from SECRET_KEY and compared in
constant time; anything else gets 403 or 404 and is not stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import Engine

from app.bot import updates
from app.core.config import get_settings
from app.integrations import telegram

log = logging.getLogger("cohort.bot")
PATH = "/telegram"
MAX_BODY = 1_000_000


def secret() -> str:
    """The secret Telegram sends in X-Telegram-Bot-Api-Secret-Token (letters and digits)."""
    return hmac.new(
        get_settings().SECRET_KEY.encode(), b"cohort telegram webhook", hashlib.sha256
    ).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    engine: Engine | None = None

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        if self.path.split("?", 1)[0] != PATH:
            return self._reply(404)
        given = self.headers.get("X-Telegram-Bot-Api-Secret-Token") or ""
        if not hmac.compare_digest(given.encode(), secret().encode()):
            return self._reply(403)
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            return self._reply(400)
        try:
            update = json.loads(self.rfile.read(length))
        except ValueError:
            return self._reply(400)
        if not isinstance(update, dict) or "update_id" not in update:
            return self._reply(400)
        updates.store([update], engine=self.engine)
        self._reply(200)

    def do_GET(self) -> None:  # noqa: N802
        self._reply(404)

    def _reply(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return None


def serve(port: int, *, engine: Engine | None = None, host: str = "0.0.0.0") -> ThreadingHTTPServer:  # noqa: S104
    """Start the route on a daemon thread; returns the server (tests stop it)."""
    handler = type("Handler", (_Handler,), {"engine": engine})
    server = ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, name="telegram-webhook", daemon=True).start()
    return server


def start_if_configured() -> ThreadingHTTPServer | None:
    """With TELEGRAM_WEBHOOK_URL set: register the URL with Telegram and serve the route."""
    settings = get_settings()
    if not settings.TELEGRAM_WEBHOOK_URL:
        return None
    sender = telegram.get_sender()
    if not isinstance(sender, telegram.TelegramSender):
        log.warning("TELEGRAM_WEBHOOK_URL is set but TELEGRAM_BOT_TOKEN is not: no webhook.")
        return None
    server = serve(settings.TELEGRAM_WEBHOOK_PORT)
    try:
        sender.set_webhook(settings.TELEGRAM_WEBHOOK_URL, secret())
    except telegram.SendFailed as exc:
        log.error("Telegram refused the webhook %s: %s", settings.TELEGRAM_WEBHOOK_URL, exc)
    log.info("Telegram webhook route on port %s", settings.TELEGRAM_WEBHOOK_PORT)
    return server
