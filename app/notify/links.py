"""One-time links in queued messages: the outbox stores a reference, delivery builds the URL.

A message that carries a one-time link (for example the attendance sheet a teacher gets by
Telegram) is queued with `reference(kind, id)` in its text. The working URL, with its secret
token, exists only in the message handed to Telegram: `expand()` asks the link's owner to mint a
fresh token at delivery time. So notifications.text — kept after delivery, shown in the outbox
and copied into backups — never holds a usable link. A message delivered twice (at-least-once)
carries a new token each time; the older one stops working.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

from sqlmodel import Session

from app.integrations.telegram import Document

# kind -> "module:function" minting the URL for one link id at delivery time (None when the
# link can no longer be used). Resolved lazily so notify never imports the domains it serves.
BUILDERS: dict[str, str] = {"attendance": "app.attendance.service:deliver_link"}

# kind -> "module:function" building a file sent with a message at delivery time, from the
# reference stored in notifications.attachment ("kind:ref"); None when it cannot be built.
ATTACHMENTS: dict[str, str] = {"report_card": "app.reports.service:report_card_attachment_internal"}

GONE = "(this link can no longer be used; open Cohort instead)"
_MARK = re.compile(r"\[one-time link ([a-z_]+)#(\d+)\]")


def reference(kind: str, link_id: int) -> str:
    """The text stored in place of a one-time link."""
    if kind not in BUILDERS:
        raise ValueError(f"Unknown link kind {kind!r}")
    return f"[one-time link {kind}#{link_id}]"


def _builder(kind: str) -> Callable[[Session, int], str | None] | None:
    target = BUILDERS.get(kind)
    if target is None:
        return None
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def url_for(session: Session, kind: str, link_id: int) -> str | None:
    """A freshly minted URL for one link (None when it can no longer be used)."""
    builder = _builder(kind)
    return builder(session, link_id) if builder else None


def expand(session: Session, text: str) -> str:
    """The text to send: every reference replaced by a freshly minted URL (system context)."""

    def build(match: re.Match) -> str:
        return url_for(session, match.group(1), int(match.group(2))) or GONE

    return _MARK.sub(build, text)


def attachment_internal(
    session: Session, institute_id: int, reference: str | None
) -> Document | None:
    """The file (telegram.Document) a queued message carries, built now (system context)."""
    if not reference or ":" not in reference:
        return None
    kind, ref = reference.split(":", 1)
    target = ATTACHMENTS.get(kind)
    if target is None:
        return None
    module, name = target.split(":")
    built: Document | None = getattr(importlib.import_module(module), name)(
        session, institute_id, ref
    )
    return built
