"""The action inbox offers only what applies and speaks the institute's time (issue 21)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.academics import service as academics
from app.core.errors import ValidationError
from app.core.roles import Role
from app.inbox import service as inbox
from tests import factories as f
from tests.pages.apptest import app_as, open_page

INBOX = "pages/teacher/inbox.py"
OPENED = datetime(2026, 11, 3, 4, 0, tzinfo=UTC)  # 09:30 in Asia/Kolkata


def test_notify_guardian_only_where_a_guardian_is_concerned_and_times_are_local(db):
    inst = f.institute(db, timezone="Asia/Kolkata")
    admin_user = f.user(db, inst, Role.ADMIN)
    admin = f.actor_for(admin_user)
    with db.scope(admin) as s:
        student = academics.create_student(s, actor=admin, enrollment_no="S-1", name="Asha Rao")
    with db.scope(institute_id=inst.id) as s:
        for kind, student_id in (
            ("fee_overdue", student.id),
            ("badge_request", student.id),
            ("follow_up_due", None),
        ):
            inbox.open_action_internal(
                s,
                institute_id=inst.id,
                type=kind,
                reason=f"{kind} reason",
                dedupe_key=kind,
                student_id=student_id,
                created_at=OPENED,
            )
    at = open_page(app_as(admin_user.email).run(), INBOX)
    assert not at.exception
    labels = [b.label for b in at.button]
    assert labels.count("Notify guardian") == 1  # the fee card only
    assert labels.count("Reviewed") == 3
    captions = [c.value for c in at.caption]
    assert captions.count("Since 03 Nov, 09:30") == 3 and not any("UTC" in c for c in captions)
    headers = [m.value for m in at.markdown if m.value.startswith("**")]
    assert "**Follow up due**" in headers  # nothing dangling after it
    with db.scope(admin) as s:
        items = {i.type: i for i in inbox.list_actions(s, actor=admin)}
    assert items["fee_overdue"].can_notify_guardian
    assert not items["badge_request"].can_notify_guardian  # the service refuses it too
    with (
        pytest.raises(ValidationError, match="attendance, risk or fees"),
        db.scope(admin) as s,
    ):
        inbox.act(s, actor=admin, action_id=items["badge_request"].id, outcome="notified_guardian")
