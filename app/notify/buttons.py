"""Buttons on queued Telegram messages, and the signed tokens they carry.

A message is queued with `buttons=[[act("Reviewed", "ir", 12), link("Take attendance",
"attendance", 7)], ...]`: the outbox stores only this description. At delivery the button
becomes real: an `act` button carries a token signed for the one chat it is sent to, the action
and its reference, valid for TOKEN_DAYS; a `link` button gets a freshly minted one-time URL (as
links in the text do, app/notify/links.py). Whoever receives a press (app.bot) checks the token
with `verify` before doing anything: a forged, altered, expired or forwarded button does nothing.

Telegram allows 64 bytes of callback data: `<action>:<ref>:<expiry>:<signature>`, the signature
being 96 bits of HMAC-SHA256 under a key derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from app.core import clock
from app.core.config import get_settings
from app.integrations.telegram import Button, Buttons
from app.notify import links

TOKEN_DAYS = 7
_ACTION = re.compile(r"^[a-z]{1,4}$")
_REF = re.compile(r"^[0-9a-z-]{1,24}$")


def act(text: str, action: str, ref: object) -> dict[str, Any]:
    """A button that asks the bot to do `action` on `ref` (checked again when pressed)."""
    if not _ACTION.match(action) or not _REF.match(str(ref)):
        raise ValueError(f"bad button action {action!r} / ref {ref!r}")
    return {"text": text, "act": action, "ref": str(ref)}


def link(text: str, kind: str, link_id: int) -> dict[str, Any]:
    """A button opening a one-time link minted at delivery (like links.reference in text)."""
    links.reference(kind, link_id)  # refuses an unknown kind now, not at delivery
    return {"text": text, "link": kind, "id": link_id}


def _key() -> bytes:
    return hmac.new(
        get_settings().SECRET_KEY.encode(), b"cohort telegram buttons", hashlib.sha256
    ).digest()


def _signature(chat_id: str, action: str, ref: str, expiry: str) -> str:
    mac = hmac.new(_key(), f"{chat_id}|{action}|{ref}|{expiry}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:12]).decode().rstrip("=")


def sign(chat_id: str, action: str, ref: str, *, days: int = TOKEN_DAYS) -> str:
    """The callback data of a button for `chat_id` only."""
    expiry = _base36(int((clock.now() + timedelta(days=days)).timestamp()))
    return f"{action}:{ref}:{expiry}:{_signature(str(chat_id), action, ref, expiry)}"


@dataclass(frozen=True)
class Pressed:
    action: str
    ref: str


class BadToken(Exception):
    """The button's token is forged, altered, meant for another chat, or expired."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def verify(chat_id: str, data: str) -> Pressed:
    """The action a pressed button asks for, once its token is proven for this chat."""
    parts = (data or "").split(":")
    if len(parts) != 4:
        raise BadToken("That button is not one of ours.")
    action, ref, expiry, signature = parts
    expected = _signature(str(chat_id), action, ref, expiry)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise BadToken("That button is not valid for this chat.")
    try:
        expires = int(expiry, 36)
    except ValueError as exc:
        raise BadToken("That button is not one of ours.") from exc
    if clock.now().timestamp() >= expires:
        raise BadToken("That button has expired; open Cohort instead.", expired=True)
    return Pressed(action=action, ref=ref)


def build(
    session: Session, chat_id: str, spec: list[list[dict[str, Any]]] | None
) -> Buttons | None:
    """The real buttons of a queued message for its chat (system context, at delivery)."""
    if not spec:
        return None
    rows: Buttons = []
    for row in spec:
        built: list[Button] = []
        for b in row:
            if "act" in b:
                built.append(Button(b["text"], data=sign(chat_id, b["act"], b["ref"])))
            elif "link" in b:
                url = links.url_for(session, b["link"], int(b["id"]))
                if url:  # a link that can no longer be used is left out
                    built.append(Button(b["text"], url=url))
        if built:
            rows.append(built)
    return rows or None


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"
