"""Telegram both ways (issue 23): the real python-telegram-bot client against a fake Bot API.

A guardian links their chat from a deep link, gets an absence alert with buttons, presses one
and asks for the balance; a teacher acts on an inbox item; commands answer only about the
chat's own people; replays, forged and expired buttons, and other institutes' chats do nothing.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import select

from app.academics import service as academics
from app.academics.models import Guardian
from app.attendance import service as attendance
from app.attendance.models import ClassSession
from app.bot import linking, updates, webhook
from app.bot.models import TelegramLinkCode, TelegramUpdate
from app.core import clock
from app.core.audit import AuditLog
from app.core.roles import Role
from app.fees import service as fees
from app.identity.models import User
from app.inbox import service as inbox
from app.inbox.models import ActionType, PendingAction
from app.integrations import telegram
from app.notify import buttons, delivery
from tests import factories as f
from tests.fakes.telegram import fake_sender

MONDAY = date(2026, 11, 2)
CLASS_START = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)  # 10:00 in Asia/Kolkata
AFTER_CLASS = CLASS_START + timedelta(minutes=20)
# 11:30 in Asia/Kolkata on the Tuesday: outside the institute's quiet hours.
DAYTIME = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)


@pytest.fixture
def bot():
    sender, transport = fake_sender()
    telegram.use_sender(sender)
    yield sender, transport.api
    telegram.use_sender(None)


@pytest.fixture
def world(db):
    inst = f.institute(db, name="Sunrise Academy", timezone="Asia/Kolkata")
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    teacher_user = f.user(db, inst, Role.TEACHER, name="Tara Teacher")
    teacher = f.actor_for(teacher_user)
    with clock.frozen(CLASS_START - timedelta(days=7)), db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Mathematics")
        batch = academics.create_batch(
            s, actor=admin, name="Math X", subject_id=subject.id, teacher_user_id=teacher_user.id
        )
        for weekday in (0, 1):  # Monday and Tuesday at 10:00
            academics.add_schedule(
                s,
                actor=admin,
                batch_id=batch.id,
                weekday=weekday,
                start_time=time(10, 0),
                duration_minutes=60,
            )
        kids = []
        for n, name in enumerate(("Ravi Kumar", "Meera Kumar", "Arjun Rao")):
            st = academics.create_student(s, actor=admin, enrollment_no=f"SA-{n}", name=name)
            academics.join_batch(s, actor=admin, batch_id=batch.id, student_id=st.id)
            kids.append(st.id)
        # One mother of two children: a guardian record for each child.
        guardians = [
            academics.add_guardian(s, actor=admin, student_id=kid, name="Sunita Kumar").id
            for kid in kids[:2]
        ]
        attendance.generate_for(s, actor=admin, start=MONDAY, end=MONDAY + timedelta(days=1))
    return {
        "inst": inst,
        "admin": admin,
        "teacher": teacher,
        "batch": batch.id,
        "kids": kids,
        "guardians": guardians,
    }


@pytest.fixture
def daytime():
    """Telegram messages wait through the institute's quiet hours (night in India, which is the
    evening in UTC): a test that delivers at "now" runs in the institute's daytime."""
    with clock.frozen(DAYTIME):
        yield


def step(db, sender) -> updates.Processed:
    """The worker's job, once: fetch what Telegram holds, process it, answer."""
    return updates.listen(0, engine=db.engine, sender=sender)


def deliver(db, sender) -> int:
    return delivery.deliver_due(engine=db.engine, sender=sender, sleep=lambda _: None).sent


def code_of(url: str) -> str:
    assert url.startswith("https://t.me/cohort_test_bot?start=")
    return url.rsplit("=", 1)[1]


def link_guardians(db, world, api, sender, chat="7001") -> None:
    for guardian_id in world["guardians"]:
        with db.scope(world["admin"]) as s:
            offer = linking.guardian_link(s, actor=world["admin"], guardian_id=guardian_id)
        api.user_says(chat, f"/start {code_of(offer.url)}")
    step(db, sender)


def link_me(db, actor, api, sender, chat) -> None:
    with db.scope(actor) as s:
        offer = linking.my_link(s, actor=actor)
    api.user_says(chat, f"/start {code_of(offer.url)}")
    step(db, sender)


def test_a_guardian_links_gets_an_absence_alert_presses_and_asks_the_balance(db, world, bot):
    sender, api = bot
    with db.scope(world["admin"]) as s:
        offer = linking.guardian_link(s, actor=world["admin"], guardian_id=world["guardians"][0])
    code = code_of(offer.url)
    with db.scope(system=True) as s:
        stored = s.exec(select(TelegramLinkCode)).one()
        assert code not in stored.code_hash and len(stored.code_hash) == 64  # only its hash

    api.user_says("7001", f"/start {code}")
    assert step(db, sender).outcomes == {"linked": 1}
    assert "Linked to Sunrise Academy as Sunita Kumar" in api.texts_to("7001")[-1]
    assert "Ravi Kumar" in api.texts_to("7001")[-1]
    with db.scope(system=True) as s:
        assert s.get(Guardian, world["guardians"][0]).telegram_chat_id == "7001"
    api.user_says("7002", f"/start {code}")  # the same link again, from another chat
    step(db, sender)
    assert "already used" in api.texts_to("7002")[-1]

    # Ravi is absent on Monday: the alert carries two buttons.
    with clock.frozen(AFTER_CLASS), db.scope(world["teacher"], immediate=True) as s:
        monday = s.exec(select(ClassSession.id).where(ClassSession.date == MONDAY)).one()
        attendance.submit_attendance(
            s,
            actor=world["teacher"],
            session_id=monday,
            marks={world["kids"][0]: "absent"},
            expected_version=0,
        )
    with clock.frozen(AFTER_CLASS):
        assert deliver(db, sender) == 1
        alert = api.last_to("7001")
        assert "Ravi Kumar was absent from Math X" in alert["text"]
        assert set(api.buttons(alert)) == {"Noted", "Will be absent tomorrow"}
        api.user_presses("7001", alert, api.buttons(alert)["Will be absent tomorrow"])
        assert step(db, sender).outcomes == {"acted": 1}
    assert "away on Tuesday 03 November" in api.texts_to("7001")[-1]
    assert api.cleared[-1]["message_id"] == alert["message_id"]  # the buttons are gone
    assert api.answered[-1]["text"] == "Thank you."
    with db.scope(world["teacher"]) as s:
        [notice] = inbox.list_actions(s, actor=world["teacher"], type=ActionType.ABSENCE_NOTICE)
        assert "Sunita Kumar (guardian) says Ravi Kumar will be absent on Tuesday" in notice.reason
        tuesday = s.exec(
            select(ClassSession.id).where(ClassSession.date == MONDAY + timedelta(days=1))
        ).one()
        sheet = attendance.attendance_sheet(s, actor=world["teacher"], session_id=tuesday)
        assert sheet.marks[world["kids"][0]] == "excused"  # the teacher's default
        entry = s.exec(select(AuditLog).where(AuditLog.action == "attendance.absence_notice")).one()
        assert entry.source == "telegram"

    # The balance: a term invoice of ₹7,000.
    with clock.frozen(AFTER_CLASS), db.scope(world["admin"]) as s:
        structure = fees.create_structure(
            s,
            actor=world["admin"],
            name="Term",
            items=[{"name": "Tuition", "amount_minor": 7000_00}],
        )
        fees.invoice_student(
            s, actor=world["admin"], student_id=world["kids"][0], structure_id=structure.id
        )
    with clock.frozen(AFTER_CLASS):
        api.user_says("7001", "/balance")
        step(db, sender)
    assert api.texts_to("7001")[-1] == "Ravi Kumar: ₹7,000.00 to pay."


def test_a_guardian_of_two_children_chooses_and_gets_only_their_own(db, world, bot):
    sender, api = bot
    link_guardians(db, world, api, sender)
    api.user_says("7001", "/attendance")
    step(db, sender)
    choice = api.last_to("7001")
    assert choice["text"] == "About whom?"
    assert set(api.buttons(choice)) == {"Ravi Kumar", "Meera Kumar"}  # never Arjun
    api.user_presses("7001", choice, api.buttons(choice)["Meera Kumar"])
    step(db, sender)
    assert api.texts_to("7001")[-1].startswith("Meera Kumar: attendance since")

    # A button for Arjun, even correctly signed for this chat, answers nothing about him.
    forged = buttons.sign("7001", "c", f"a-{world['kids'][2]}")
    api.user_presses("7001", choice, forged)
    step(db, sender)
    assert api.answered[-1]["text"] == "That is not a student of this chat."
    assert not any("Arjun" in t for t in api.texts_to("7001"))

    api.user_says("7001", "/homework")
    step(db, sender)
    choice = api.last_to("7001")
    api.user_presses("7001", choice, api.buttons(choice)["Ravi Kumar"])
    step(db, sender)
    assert api.texts_to("7001")[-1] == "Ravi Kumar: no homework to hand in."

    api.user_says("7001", "/report")
    step(db, sender)
    choice = api.last_to("7001")
    api.user_presses("7001", choice, api.buttons(choice)["Ravi Kumar"])
    step(db, sender)
    [document] = api.documents
    assert document["content"].startswith(b"%PDF") and document["filename"].endswith(".pdf")
    assert "Ravi Kumar: progress in" in api.last_to("7001")["text"]


def test_a_teacher_acts_on_an_inbox_item_from_telegram(db, world, bot, daytime):
    sender, api = bot
    link_me(db, world["teacher"], api, sender, "8001")
    with db.scope(system=True) as s:
        assert s.get(User, world["teacher"].user_id).telegram_chat_id == "8001"
        actions = [
            inbox.open_action_internal(
                s,
                institute_id=world["inst"].id,
                type=ActionType.ABSENCE_STREAK.value,
                reason=f"Student {n} missed the last 3 classes of Math X.",
                dedupe_key=f"test:{n}",
                student_id=world["kids"][n],
                batch_id=world["batch"],
                owner_user_id=world["teacher"].user_id,
            ).id
            for n in (0, 1)
        ]
    assert deliver(db, sender) == 2
    first, second = [m for m in api.messages if m["chat_id"] == "8001"][-2:]
    assert first["text"] == "To do: Student 0 missed the last 3 classes of Math X."
    assert set(api.buttons(first)) == {"Reviewed", "Notify guardian", "Ignore…"}

    api.user_presses("8001", first, api.buttons(first)["Reviewed"])
    assert step(db, sender).outcomes == {"acted": 1}
    assert api.answered[-1]["text"] == "Marked reviewed."
    api.user_presses("8001", second, api.buttons(second)["Ignore…"])
    step(db, sender)
    prompt = api.last_to("8001")
    assert "Reply to this message with a short note" in prompt["text"]
    api.user_says("8001", "Family wedding, excused by the office", reply_to=prompt)
    step(db, sender)
    assert api.texts_to("8001")[-1] == "Ignored, with your note."
    # Pressing an old button again: the action is already dealt with.
    api.user_presses("8001", first, api.buttons(first)["Reviewed"])
    step(db, sender)
    assert api.answered[-1]["text"] == "This action was already dealt with."
    with db.scope(system=True) as s:
        one, two = (s.get(PendingAction, a) for a in actions)
        assert (one.outcome, one.acted_by) == ("reviewed", world["teacher"].user_id)
        assert (two.outcome, two.note) == ("ignored", "Family wedding, excused by the office")
        sources = set(s.exec(select(AuditLog.source).where(AuditLog.action == "inbox.act")).all())
        assert sources == {"telegram"}


def test_replays_forgeries_expiry_and_other_institutes_do_nothing(db, world, bot, daytime):
    sender, api = bot
    link_me(db, world["teacher"], api, sender, "8001")
    with db.scope(system=True) as s:
        action = inbox.open_action_internal(
            s,
            institute_id=world["inst"].id,
            type=ActionType.MISSED_SESSION.value,
            reason="Math X was not taken on Monday.",
            dedupe_key="test:missed",
            batch_id=world["batch"],
        )
    deliver(db, sender)
    message = api.last_to("8001")
    token = api.buttons(message)["Reviewed"]

    # A forged token, a token of another chat, an altered action: refused, nothing done.
    for chat, data in (
        ("8001", token[:-4] + "AAAA"),
        ("8001", token.replace("ir:", "in:", 1)),
        ("9999", token),
    ):
        api.user_presses(chat, message, data)
    step(db, sender)
    assert [a["text"] for a in api.answered[-3:]] == ["That button is not valid for this chat."] * 3

    # A teacher of another institute, linked and holding a valid token for their own chat.
    other = f.institute(db)
    stranger = f.actor_for(f.user(db, other, Role.TEACHER))
    link_me(db, stranger, api, sender, "8500")
    api.user_presses("8500", message, buttons.sign("8500", "ir", action.id))
    step(db, sender)
    assert api.answered[-1]["text"] == "This chat is not linked to anyone who can act on that."

    # Expired after a week.
    with clock.frozen(clock.now() + timedelta(days=8)):
        api.user_presses("8001", message, token)
        step(db, sender)
    assert api.answered[-1]["text"] == "That button has expired; open Cohort instead."
    with db.scope(system=True) as s:
        assert s.get(PendingAction, action.id).status == "open"

    # The same update delivered twice is processed once.
    pressed = api.user_presses("8001", message, token)
    assert step(db, sender).processed == 1
    api.replay(pressed)
    assert updates.store([pressed], engine=db.engine) == 0
    assert step(db, sender).processed == 0
    with db.scope(system=True) as s:
        assert s.get(PendingAction, action.id).outcome == "reviewed"
        assert s.get(TelegramUpdate, pressed["update_id"]).outcome == "acted"


def test_commands_unknown_chats_stop_and_rate_limits(db, world, bot):
    sender, api = bot
    api.user_says("6000", "hello")
    api.user_says("6000", "hello again")
    step(db, sender)
    assert len(api.texts_to("6000")) == 1  # one polite answer, not one per message
    assert "only chats linked to Cohort" in api.texts_to("6000")[0]

    link_me(db, world["teacher"], api, sender, "8001")
    with clock.frozen(CLASS_START - timedelta(hours=1)):
        api.user_says("8001", "/today")
        step(db, sender)
    assert "10:00 Math X: scheduled, 0/3 marked" in api.texts_to("8001")[-1]
    api.user_says("8001", "/balance")
    step(db, sender)
    assert api.texts_to("8001")[-1] == "Those questions are for students and their guardians."

    student_user = f.user(db, world["inst"], Role.STUDENT, name="Arjun Rao")
    with db.scope(system=True) as s:
        from app.academics.models import Student

        s.get(Student, world["kids"][2]).user_id = student_user.id
    link_me(db, f.actor_for(student_user), api, sender, "8300")
    api.user_says("8300", "/attendance")
    step(db, sender)
    assert api.texts_to("8300")[-1].startswith("Arjun Rao: attendance since")

    api.user_says("8001", "/stop")
    step(db, sender)
    assert "no more messages" in api.texts_to("8001")[-1]
    with db.scope(system=True) as s:
        assert s.get(User, world["teacher"].user_id).telegram_chat_id is None

    link_guardians(db, world, api, sender, chat="7001")
    before = len(api.texts_to("7001"))
    with clock.frozen(clock.now() + timedelta(minutes=2)):  # past the minute of linking
        for _ in range(35):
            api.user_says("7001", "/help")
        result = step(db, sender)
    assert result.outcomes == {"help": 30, "rate_limited": 5}
    assert len(api.texts_to("7001")) == before + 30


def test_the_per_chat_limit_holds_across_chunks_and_counts_from_the_last_minute(
    db, world, bot, monkeypatch
):
    # Updates are handled in chunks, each chat's count read once a chunk: 35 messages in
    # chunks of 8 still let 30 through, and the next minute's messages count afresh.
    sender, api = bot
    monkeypatch.setattr(updates, "CHUNK", 8)
    link_guardians(db, world, api, sender, chat="7001")
    before = len(api.texts_to("7001"))
    later = clock.now() + timedelta(minutes=2)
    with clock.frozen(later):
        for _ in range(35):
            api.user_says("7001", "/help")
        assert step(db, sender).outcomes == {"help": 30, "rate_limited": 5}
    with clock.frozen(later + timedelta(seconds=30)):  # the same minute: still over
        api.user_says("7001", "/help")
        assert step(db, sender).outcomes == {"rate_limited": 1}
    with clock.frozen(later + timedelta(minutes=2)):
        api.user_says("7001", "/help")
        assert step(db, sender).outcomes == {"help": 1}
    assert len(api.texts_to("7001")) == before + 31


def test_link_codes_expire_and_either_side_unlinks(db, world, bot):
    sender, api = bot
    with db.scope(world["admin"]) as s:
        first = linking.guardian_link(s, actor=world["admin"], guardian_id=world["guardians"][0])
        second = linking.guardian_link(s, actor=world["admin"], guardian_id=world["guardians"][0])
    api.user_says("7001", f"/start {code_of(first.url)}")  # voided by the second
    step(db, sender)
    assert "expired" in api.texts_to("7001")[-1]
    with clock.frozen(clock.now() + timedelta(hours=25)):
        api.user_says("7001", f"/start {code_of(second.url)}")
        step(db, sender)
    assert "expired" in api.texts_to("7001")[-1]

    link_guardians(db, world, api, sender, chat="7001")
    with db.scope(world["admin"]) as s:
        assert linking.unlink_guardian(s, actor=world["admin"], guardian_id=world["guardians"][0])
    with db.scope(system=True) as s:
        assert s.get(Guardian, world["guardians"][0]).telegram_chat_id is None
        assert s.get(Guardian, world["guardians"][1]).telegram_chat_id == "7001"

    link_me(db, world["teacher"], api, sender, "8001")
    with db.scope(world["teacher"]) as s:
        assert linking.unlink_me(s, actor=world["teacher"])
    with db.scope(system=True) as s:
        assert s.get(User, world["teacher"].user_id).telegram_chat_id is None


def test_the_monthly_report_carries_the_report_card_pdf(db, world, bot, daytime):
    from app.reports import service as reports

    sender, api = bot
    link_guardians(db, world, api, sender)
    with db.scope(system=True) as s:
        queued = reports.send_month_internal(
            s,
            institute_id=world["inst"].id,
            month=date(2026, 11, 1),
            student_ids=[world["kids"][0]],
        )
    assert queued == 1
    assert deliver(db, sender) == 1
    [document] = api.documents
    assert document["filename"] == "report-card-SA-0-2026-11.pdf"
    assert document["content"].startswith(b"%PDF")
    assert api.last_to("7001")["text"].startswith("Ravi Kumar: progress in November 2026")


def test_the_webhook_route_stores_each_update_once(db, world, bot):
    sender, api = bot
    server = webhook.serve(0, engine=db.engine, host="127.0.0.1")
    url = f"http://127.0.0.1:{server.server_port}{webhook.PATH}"

    def post(body: dict, secret: str | None) -> int:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=5).status
        except urllib.error.HTTPError as exc:
            return exc.code

    update = {
        "update_id": 424242,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 6100, "type": "private"},
            "text": "hello",
        },
    }
    try:
        assert post(update, None) == 403
        assert post(update, "wrong") == 403
        assert post(update, webhook.secret()) == 200
        assert post(update, webhook.secret()) == 200  # Telegram retried: stored once
    finally:
        server.shutdown()
        server.server_close()
    result = updates.listen(0, engine=db.engine, sender=sender, webhook=True)
    assert result.processed == 1
    assert len(api.texts_to("6100")) == 1


def test_the_worker_job_talks_to_a_bot_api_server_over_http(db, world, monkeypatch):
    """The job as the worker runs it: the configured client (TELEGRAM_API_BASE_URL) long-polls
    a local Bot API server, links a guardian and sends the report card as a real upload."""
    from app.bot import jobs
    from app.core.config import reset_settings_cache
    from app.worker.registry import all_jobs
    from tests.fakes.telegram import FakeTelegramServer

    assert all_jobs()["telegram_updates"].run is jobs.listen_for_updates
    with FakeTelegramServer() as server:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "42:HTTP-TEST")
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", server.url)
        reset_settings_cache()
        try:
            with db.scope(world["admin"]) as s:
                offer = linking.guardian_link(
                    s, actor=world["admin"], guardian_id=world["guardians"][0]
                )
            server.webhook = {"url": "left over"}
            server.user_says("7001", f"/start {code_of(offer.url)}")
            server.user_says("7001", "/report")
            counts = jobs.listen_for_updates(engine=db.engine, seconds=1)
        finally:
            reset_settings_cache()
    assert server.webhook is None  # polling drops a webhook left set
    assert counts["processed"] == 2 and counts["send_errors"] == 0
    assert "Linked to Sunrise Academy" in server.texts_to("7001")[0]
    [document] = server.documents
    assert document["content"].startswith(b"%PDF") and document["filename"].endswith(".pdf")


def test_notify_guardian_and_noted_buttons(db, world, bot, daytime):
    """The teacher's "Notify guardian" queues the guardian's message through the inbox; the
    guardian's "Noted" acknowledges the alert (audited from Telegram) and takes the buttons off."""
    sender, api = bot
    link_me(db, world["teacher"], api, sender, "8001")
    link_guardians(db, world, api, sender, chat="7001")
    with db.scope(system=True) as s:
        action = inbox.open_action_internal(
            s,
            institute_id=world["inst"].id,
            type=ActionType.ABSENCE_STREAK.value,
            reason="Ravi Kumar missed the last 3 classes of Math X.",
            dedupe_key="test:notify",
            student_id=world["kids"][0],
            batch_id=world["batch"],
            owner_user_id=world["teacher"].user_id,
        )
    deliver(db, sender)
    todo = api.last_to("8001")
    api.user_presses("8001", todo, api.buttons(todo)["Notify guardian"])
    assert step(db, sender).outcomes == {"acted": 1}
    assert api.answered[-1]["text"] == "The guardian will be told."
    deliver(db, sender)
    assert "Ravi Kumar missed the last 3 classes" in api.texts_to("7001")[-1]

    with clock.frozen(AFTER_CLASS), db.scope(world["teacher"], immediate=True) as s:
        monday = s.exec(select(ClassSession.id).where(ClassSession.date == MONDAY)).one()
        attendance.submit_attendance(
            s,
            actor=world["teacher"],
            session_id=monday,
            marks={world["kids"][1]: "absent"},
            expected_version=0,
        )
    with clock.frozen(AFTER_CLASS):
        deliver(db, sender)
        alert = api.last_to("7001")
        assert "Meera Kumar was absent" in alert["text"]
        api.user_presses("7001", alert, api.buttons(alert)["Noted"])
        step(db, sender)
    assert api.answered[-1]["text"] == "Thank you, noted."
    assert api.cleared[-1]["message_id"] == alert["message_id"]
    with db.scope(system=True) as s:
        noted = s.exec(select(AuditLog).where(AuditLog.action == "attendance.absence_noted")).one()
        assert (noted.source, noted.target_id) == ("telegram", str(world["kids"][1]))
        assert s.get(PendingAction, action.id).outcome == "notified_guardian"


def test_an_update_that_fails_is_recorded_and_the_others_stand(db, world, bot, monkeypatch):
    from app.bot import handlers

    sender, api = bot
    real = handlers.handle

    def flaky(session, update):
        if (update.get("message") or {}).get("text") == "boom":
            raise RuntimeError("a bug in one handler")
        return real(session, update)

    monkeypatch.setattr(handlers, "handle", flaky)
    link_me(db, world["teacher"], api, sender, "8001")
    first = api.user_says("8001", "/help")
    bad = api.user_says("8001", "boom")
    last = api.user_says("8001", "/help")
    assert step(db, sender).outcomes == {"help": 2, "error": 1}
    with db.scope(system=True) as s:
        outcomes = [s.get(TelegramUpdate, u["update_id"]).outcome for u in (first, bad, last)]
    assert outcomes == ["help", "error", "help"]
    assert step(db, sender).processed == 0  # a failed update is not retried forever
