"""A fake Telegram Bot API transport for the real python-telegram-bot client (no network)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram.request import BaseRequest, RequestData

from app.integrations.telegram import TelegramSender


@dataclass
class FakeTelegram(BaseRequest):
    """Records every sendMessage; `respond` may override the answer (status, payload) per call."""

    messages: list[dict] = field(default_factory=list)
    respond: Callable[[str, dict], tuple[int, dict] | None] | None = None
    calls: int = 0

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **_: object
    ):
        self.calls += 1
        endpoint = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        if self.respond is not None:
            override = self.respond(endpoint, params)
            if override is not None:
                status, payload = override
                return status, json.dumps(payload).encode()
        if endpoint == "getMe":
            result = {
                "id": 1,
                "is_bot": True,
                "first_name": "Cohort",
                "username": "cohort_test_bot",
            }
        elif endpoint == "sendMessage":
            self.messages.append({"chat_id": str(params["chat_id"]), "text": params["text"]})
            result = {
                "message_id": len(self.messages),
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "text": params["text"],
            }
        else:
            return 404, json.dumps(
                {"ok": False, "error_code": 404, "description": "Not Found"}
            ).encode()
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def texts_to(self, chat_id: str) -> list[str]:
        return [m["text"] for m in self.messages if m["chat_id"] == str(chat_id)]


def fake_sender() -> tuple[TelegramSender, FakeTelegram]:
    transport = FakeTelegram()
    return TelegramSender("123456:TEST-TOKEN", request=transport), transport
