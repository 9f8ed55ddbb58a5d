"""The outbox: one row per event, delivered once through the real Telegram client, honest failures."""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlmodel import func, select

from app.core import clock
from app.core.roles import Role
from app.integrations import telegram
from app.notify import delivery, service
from app.notify.models import BlockedChat, Notification
from tests import factories as f
from tests.fakes.telegram import FakeTelegram

NOON_IST = datetime(2026, 11, 2, 6, 30, tzinfo=UTC)  # 12:00 in Asia/Kolkata


@pytest.fixture
def inst(db):
    return f.institute(db, timezone="Asia/Kolkata")


def queue(db, inst, key="event:1", chat="1001", text="Hello"):
    with db.scope(institute_id=inst.id) as s:
        return service.enqueue_internal(
            s, institute_id=inst.id, channel="telegram", recipient=chat, text=text, dedupe_key=key
        )


def drain(db, transport):
    sender = telegram.TelegramSender("1:T", request=transport)
    return delivery.deliver_due(engine=db.engine, sender=sender, sleep=lambda s: None)


def rows(db):
    with db.scope(system=True) as s:
        return list(s.exec(select(Notification).order_by(Notification.id)))


def test_same_event_twice_is_one_row_and_one_send(db, inst):
    transport = FakeTelegram()
    with clock.frozen(NOON_IST):
        queue(db, inst)
        queue(db, inst)
        first = drain(db, transport)
        again = drain(db, transport)
    assert [(r.status, r.attempts) for r in rows(db)] == [("sent", 1)]
    assert len(transport.messages) == 1 and first.sent == 1 and again.sent == 0


def test_forbidden_marks_blocked_and_never_retries(db, inst):
    transport = FakeTelegram(
        respond=lambda endpoint, params: (
            403,
            {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            },
        )
    )
    with clock.frozen(NOON_IST):
        queue(db, inst)
        result = drain(db, transport)
        clock.advance(timedelta(hours=2))
        drain(db, transport)
        later = queue(db, inst, key="event:2")
    [first, second] = rows(db)
    assert result.blocked == 1 and transport.calls == 1
    assert first.status == "blocked" and "blocked" in first.last_error
    assert second.status == later.status == "suppressed"
    with db.scope(system=True) as s:
        assert s.exec(select(func.count()).select_from(BlockedChat)).one() == 1


def test_retry_after_waits_then_sends(db, inst):
    answers = iter(
        [
            (
                429,
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests",
                    "parameters": {"retry_after": 7},
                },
            )
        ]
    )
    transport = FakeTelegram(respond=lambda endpoint, params: next(answers, None))
    with clock.frozen(NOON_IST):
        queue(db, inst)
        assert drain(db, transport).retried == 1
        [row] = rows(db)
        assert row.status == "queued" and row.next_attempt_at.replace(
            tzinfo=UTC
        ) == NOON_IST + timedelta(seconds=7)
        clock.advance(timedelta(seconds=6))
        assert drain(db, transport).claimed == 0
        clock.advance(timedelta(seconds=2))
        assert drain(db, transport).sent == 1
    assert len(transport.messages) == 1


def test_network_errors_back_off_then_fail(db, inst):
    def down(endpoint, params):
        from telegram.error import NetworkError

        raise NetworkError("connection refused")

    transport = FakeTelegram(respond=down)
    waits = []
    with clock.frozen(NOON_IST):
        queue(db, inst)
        for _ in range(delivery.MAX_ATTEMPTS):
            drain(db, transport)
            [row] = rows(db)
            if row.status == "failed":
                break
            waits.append(row.next_attempt_at.replace(tzinfo=UTC) - clock.now())
            clock.advance(waits[-1])
    [row] = rows(db)
    assert row.status == "failed" and row.attempts == delivery.MAX_ATTEMPTS
    assert waits == [delivery.backoff(n) for n in range(1, delivery.MAX_ATTEMPTS)]
    assert waits[1] == 2 * waits[0]


def test_killed_between_send_and_record_loses_nothing(db, inst):
    """The at-least-once window: a crash after Telegram accepted leaves the row queued under a
    lease; when the lease ends it is sent again, so the message is never lost."""
    transport = FakeTelegram()

    class Crash(Exception):
        pass

    with clock.frozen(NOON_IST):
        queue(db, inst)
        original = delivery._record_sent

        def crash(*args, **kwargs):
            raise Crash

        delivery._record_sent = crash
        try:
            with pytest.raises(Crash):
                drain(db, transport)
        finally:
            delivery._record_sent = original
        [row] = rows(db)
        assert row.status == "queued" and len(transport.messages) == 1
        assert drain(db, transport).claimed == 0  # leased: no double send right away
        clock.advance(delivery.LEASE + timedelta(seconds=1))
        assert drain(db, transport).sent == 1
    assert rows(db)[0].status == "sent" and len(transport.messages) == 2


def test_quiet_hours_hold_a_22h_message_until_07h(db, inst):
    transport = FakeTelegram()
    ten_pm_ist = datetime(2026, 11, 2, 16, 30, tzinfo=UTC)
    with clock.frozen(ten_pm_ist):
        queue(db, inst)
        result = drain(db, transport)
        assert result.deferred_quiet == 1 and transport.messages == []
        [row] = rows(db)
        seven_am_ist = datetime(2026, 11, 3, 1, 30, tzinfo=UTC)
        assert row.next_attempt_at.replace(tzinfo=UTC) == seven_am_ist
        clock.advance(seven_am_ist - ten_pm_ist - timedelta(minutes=1))  # 06:59
        assert drain(db, transport).claimed == 0
        clock.advance(timedelta(minutes=1))  # 07:00
        assert drain(db, transport).sent == 1


def test_institute_quiet_hours_and_batch_overrides(db, inst):
    from app.academics import service as academics

    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Maths")
        batch_id = academics.create_batch(s, actor=admin, name="M1", subject_id=subject.id).id
        service.save_rules(
            s,
            actor=admin,
            quiet_hours_start=time(22, 0),
            quiet_hours_end=time(6, 0),
            absence_streak_threshold=4,
        )
        service.save_rules(
            s,
            actor=admin,
            batch_id=batch_id,
            absence_streak_threshold=2,
            notify_guardian_on_absence=False,
        )
    with db.scope(admin) as s:
        institute = service.effective_rules_internal(s, institute_id=inst.id)
        batch = service.effective_rules_internal(s, institute_id=inst.id, batch_id=batch_id)
        other = service.effective_rules_internal(s, institute_id=inst.id, batch_id=batch_id + 1)
    assert (institute.quiet_hours_start, institute.absence_streak_threshold) == (time(22, 0), 4)
    assert (batch.absence_streak_threshold, batch.notify_guardian_on_absence) == (2, False)
    assert (
        batch.source("absence_streak_threshold") == "batch"
        and batch.source("quiet_hours_start") == "institute"
    )
    assert (
        batch.source("fee_reminder_days_before") == "default"
        and batch.fee_reminder_days_before == 3
    )
    assert other.absence_streak_threshold == 4
    from app.core.errors import ValidationError

    with pytest.raises(ValidationError, match="both ends"), db.scope(admin) as s:
        service.save_rules(s, actor=admin, quiet_hours_start=time(22, 0))


def test_announcements_reach_the_app_and_guardians(db, inst):
    from app.academics import service as academics

    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    teacher_user = f.user(db, inst, Role.TEACHER)
    a_user = f.user(db, inst, Role.STUDENT)
    b_user = f.user(db, inst, Role.STUDENT)
    a, b = f.actor_for(a_user), f.actor_for(b_user)
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Art")
        batch = academics.create_batch(
            s, actor=admin, name="Art A", subject_id=subject.id, teacher_user_id=teacher_user.id
        )
        for user, chat in ((a_user, "2001"), (b_user, None)):
            st = academics.create_student(
                s, actor=admin, enrollment_no=f"E{user.id}", name=user.name
            )
            st.user_id = user.id
            academics.add_guardian(
                s, actor=admin, student_id=st.id, name="Parent", telegram_chat_id=chat
            )
            if chat:
                academics.join_batch(s, actor=admin, batch_id=batch.id, student_id=st.id)
    with db.scope(admin) as s:
        everyone = service.announce(s, actor=admin, title="Holiday", body="No classes on Friday.")
    assert everyone.recipients == 4  # in-app: teacher and two students; Telegram: one guardian
    with db.scope(a) as s:
        assert [m.subject for m in service.my_messages(s, actor=a)] == ["Holiday"]
        assert service.unread_count(s, actor=a) == 1
        service.mark_read(s, actor=a)
    with db.scope(a) as s:
        assert service.unread_count(s, actor=a) == 0
    with db.scope(b) as s:
        assert service.unread_count(s, actor=b) == 1
    teacher = f.actor_for(teacher_user)
    with db.scope(teacher) as s:
        only_batch = service.announce(
            s, actor=teacher, title="Bring paints", body="Tomorrow.", batch_id=batch.id
        )
    assert only_batch.recipients == 2  # student a in the app, their guardian by Telegram
    with db.scope(b) as s:
        assert [m.subject for m in service.my_messages(s, actor=b)] == ["Holiday"]
    from app.core.errors import ValidationError

    with (
        pytest.raises(ValidationError, match="Teachers announce to one of their batches"),
        db.scope(teacher) as s,
    ):
        service.announce(s, actor=teacher, title="All", body="Everyone")
    statuses = {(r.channel, r.recipient, r.status) for r in rows(db)}
    assert ("telegram", "2001", "queued") in statuses and (
        "in_app",
        str(b.user_id),
        "sent",
    ) in statuses
    with db.scope(admin) as s:  # announcing is idempotent per announcement and recipient
        assert (
            service.enqueue_many_internal(
                s,
                institute_id=inst.id,
                messages=[
                    {
                        "channel": "in_app",
                        "recipient": str(b.user_id),
                        "recipient_user_id": b.user_id,
                        "text": "x",
                        "dedupe_key": f"announcement:{everyone.id}:in_app:{b.user_id}",
                    }
                ],
            )
            == 0
        )


def test_retry_by_admin_and_isolation(db, inst):
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    other_inst = f.institute(db)
    other_admin = f.actor_for(f.user(db, other_inst, Role.ADMIN))
    transport = FakeTelegram(
        respond=lambda endpoint, params: (
            403,
            {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            },
        )
    )
    with clock.frozen(NOON_IST):
        row = queue(db, inst)
        drain(db, transport)
    with db.scope(other_admin) as s:
        assert service.list_outbox(s, actor=other_admin) == []
        from app.core.errors import NotFound

        with pytest.raises(NotFound):
            service.retry(s, actor=other_admin, notification_id=row.id)
    with clock.frozen(NOON_IST + timedelta(minutes=1)):
        with db.scope(admin) as s:
            assert [r.status for r in service.list_outbox(s, actor=admin)] == ["blocked"]
            service.retry(s, actor=admin, notification_id=row.id)
        assert drain(db, FakeTelegram()).sent == 1
