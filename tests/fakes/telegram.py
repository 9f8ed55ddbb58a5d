"""A fake Telegram Bot API for the real python-telegram-bot client (no network).

`FakeBotApi` is the fake itself: it records what the bot sends (messages with their buttons,
documents, answered button presses, buttons taken off) and serves updates a test pushes as a
person would cause them (`user_says`, `user_presses`) through getUpdates, long polling
included. Two ways to reach it: `FakeTelegram`, a transport handed to `Bot(request=...)`, and
`FakeTelegramServer`, a local HTTP server for a separate process (TELEGRAM_API_BASE_URL).
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from telegram.request import BaseRequest, RequestData

from app.integrations.telegram import TelegramSender

Json = dict[str, Any]
Files = dict[str, tuple[str, bytes]]

BOT = {"id": 1, "is_bot": True, "first_name": "Cohort", "username": "cohort_test_bot"}


def _json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeBotApi:
    """The Bot API methods Cohort uses, with a record of every call."""

    def __init__(self, respond: Callable[[str, Json], tuple[int, Json] | None] | None = None):
        self.respond = respond
        self.messages: list[Json] = []
        self.documents: list[Json] = []
        self.answered: list[Json] = []
        self.cleared: list[Json] = []
        self.webhook: Json | None = None
        self.calls = 0
        self._updates: list[Json] = []
        self._confirmed = 0
        self._ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._cond = threading.Condition()

    # ---------------------------------------------------------------- what a person does

    def _push(self, update: Json) -> Json:
        with self._cond:
            update["update_id"] = next(self._ids)
            self._updates.append(update)
            self._cond.notify_all()
        return update

    def _user(self, chat_id: int | str) -> Json:
        return {"id": int(chat_id), "is_bot": False, "first_name": f"User {chat_id}"}

    def user_says(self, chat_id: int | str, text: str, *, reply_to: Json | None = None) -> Json:
        """A person writes to the bot (a reply when `reply_to` is one of the bot's messages)."""
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(chat_id), "type": "private"},
            "from": self._user(chat_id),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if reply_to is not None:
            message["reply_to_message"] = {
                "message_id": reply_to["message_id"],
                "date": int(time.time()),
                "chat": {"id": int(chat_id), "type": "private"},
                "from": BOT,
                "text": reply_to["text"],
            }
        return self._push({"message": message})

    def user_presses(self, chat_id: int | str, message: Json, data: str) -> Json:
        """A person presses a button with callback `data` under one of the bot's messages."""
        return self._push(
            {
                "callback_query": {
                    "id": str(next(self._ids)),
                    "from": self._user(chat_id),
                    "chat_instance": "1",
                    "data": data,
                    "message": {
                        "message_id": message["message_id"],
                        "date": int(time.time()),
                        "chat": {"id": int(chat_id), "type": "private"},
                        "from": BOT,
                        "text": message.get("text", ""),
                    },
                }
            }
        )

    def replay(self, update: Json) -> None:
        """Telegram delivers the same update again (same update_id)."""
        with self._cond:
            self._updates.append(dict(update))
            self._confirmed = min(self._confirmed, update["update_id"])
            self._cond.notify_all()

    # ---------------------------------------------------------------- what the bot did

    def texts_to(self, chat_id: str | int) -> list[str]:
        return [m["text"] for m in self.messages if m["chat_id"] == str(chat_id)]

    def last_to(self, chat_id: str | int) -> Json:
        return [m for m in self.messages if m["chat_id"] == str(chat_id)][-1]

    def chats(self) -> set[str]:
        return {m["chat_id"] for m in self.messages}

    @staticmethod
    def buttons(message: Json) -> dict[str, str]:
        """A sent message's buttons: text -> callback data (or URL)."""
        markup = message.get("reply_markup") or {}
        return {
            b["text"]: b.get("callback_data") or b.get("url")
            for row in markup.get("inline_keyboard", [])
            for b in row
        }

    # ---------------------------------------------------------------- the API

    def answer(self, method: str, params: Json, files: Json | None = None) -> tuple[int, Json]:
        self.calls += 1
        params = {k: _json(v) for k, v in params.items()}
        if self.respond is not None:
            override = self.respond(method, params)
            if override is not None:
                return override
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        return 200, {"ok": True, "result": handler(params, files or {})}

    def _api_getMe(self, params: Json, files: Files) -> Any:  # noqa: N802
        return BOT

    def _sent(self, params: Json, text: str) -> Json:
        chat = {"id": int(params["chat_id"]), "type": "private"}
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "text": text,
        }

    def _api_sendMessage(self, params: Json, files: Files) -> Any:  # noqa: N802
        with self._cond:
            result = self._sent(params, params["text"])
            self.messages.append(
                {
                    "chat_id": str(params["chat_id"]),
                    "text": params["text"],
                    "reply_markup": params.get("reply_markup"),
                    "message_id": result["message_id"],
                }
            )
        return result

    def _api_sendDocument(self, params: Json, files: Files) -> Any:  # noqa: N802
        with self._cond:
            caption = params.get("caption", "")
            result = self._sent(params, caption)
            name, content = files.get("document", ("", b""))
            self.documents.append(
                {"chat_id": str(params["chat_id"]), "filename": name, "content": content}
            )
            self.messages.append(
                {
                    "chat_id": str(params["chat_id"]),
                    "text": caption,
                    "reply_markup": params.get("reply_markup"),
                    "message_id": result["message_id"],
                    "document": name,
                }
            )
        return result

    def _api_answerCallbackQuery(self, params: Json, files: Files) -> Any:  # noqa: N802
        self.answered.append({"id": str(params["callback_query_id"]), "text": params.get("text")})
        return True

    def _api_editMessageReplyMarkup(self, params: Json, files: Files) -> Any:  # noqa: N802
        self.cleared.append(
            {"chat_id": str(params["chat_id"]), "message_id": int(params["message_id"])}
        )
        return True

    def _api_setWebhook(self, params: Json, files: Files) -> Any:  # noqa: N802
        self.webhook = params
        return True

    def _api_deleteWebhook(self, params: Json, files: Files) -> Any:  # noqa: N802
        self.webhook = None
        return True

    def _api_getUpdates(self, params: Json, files: Files) -> Any:  # noqa: N802
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        with self._cond:
            if offset:
                self._confirmed = max(self._confirmed, offset)
            while True:
                ready = [u for u in self._updates if u["update_id"] >= self._confirmed]
                left = deadline - time.monotonic()
                if ready or left <= 0:
                    return ready[: int(params.get("limit") or 100)]
                self._cond.wait(left)


class FakeTelegram(BaseRequest):
    """A transport for `Bot(request=...)`: every call answered by a FakeBotApi."""

    def __init__(self, respond: Callable[[str, Json], tuple[int, Json] | None] | None = None):
        self.api = FakeBotApi(respond)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)

    @property
    def respond(self) -> Callable[[str, Json], tuple[int, Json] | None] | None:
        return self.api.respond

    @respond.setter
    def respond(self, value: Callable[[str, Json], tuple[int, Json] | None] | None) -> None:
        self.api.respond = value

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(  # type: ignore[override]
        self, url: str, method: str, request_data: RequestData | None = None, **_: object
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files = {}
        if request_data is not None and request_data.multipart_data:
            for key, value in request_data.multipart_data.items():
                files[key] = (value[0], value[1])
            params, files = _attached(params, files)
        status, payload = self.api.answer(endpoint, params, files)
        return status, json.dumps(payload).encode()


def fake_sender() -> tuple[TelegramSender, FakeTelegram]:
    transport = FakeTelegram()
    return TelegramSender("123456:TEST-TOKEN", request=transport), transport


class FakeTelegramServer(FakeBotApi):
    """The same fake over HTTP: point a process at it with TELEGRAM_API_BASE_URL=`url` and any
    TELEGRAM_BOT_TOKEN; the real client then posts to `<url>/bot<token>/<method>`."""

    def __init__(self) -> None:
        super().__init__()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                kind = self.headers.get("Content-Type") or ""
                files: Json = {}
                if "json" in kind:
                    params = json.loads(body or b"{}")
                elif "multipart" in kind:
                    params, files = _multipart(kind, body)
                else:
                    params = dict(urllib.parse.parse_qsl(body.decode()))
                status, payload = fake.answer(self.path.rsplit("/", 1)[-1], params, files)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *_: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> FakeTelegramServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _multipart(content_type: str, body: bytes) -> tuple[Json, Json]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    params: Json = {}
    files: Json = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename:
            files[name] = (filename, payload)
        else:
            params[name] = bytes(payload).decode()  # type: ignore[arg-type]
    return _attached(params, files)


def _attached(params: Json, files: Json) -> tuple[Json, Json]:
    """Files under their parameter's name (the client may send "attach://<part>")."""
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
            files[key] = files.pop(value[9:])
    return params, files
