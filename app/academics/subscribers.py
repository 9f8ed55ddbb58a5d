"""Academics answers questions from below it (app.core.events)."""

from __future__ import annotations

from app.academics import service
from app.core import events


def _student_chat(session, event: events.StudentChatWanted) -> str | None:
    """A student user's family chat: their first guardian with a linked Telegram chat."""
    return service.guardian_chat_of_student_user_internal(
        session, institute_id=event.institute_id, user_id=event.user_id
    )


events.subscribe(events.StudentChatWanted, "guardian_chat", _student_chat)
