"""Linking Telegram from the web (issue 23): My account for oneself, the guardian card for the
office; the link works in the (fake) Telegram app and either side can unlink."""

from __future__ import annotations

from app.academics import service as academics
from app.academics.models import Guardian
from app.bot import updates
from app.core.roles import Role
from app.identity.models import User
from app.integrations import telegram
from tests import factories as f
from tests.pages.apptest import app_as, errors, open_page, texts


def _start(db, transport, chat: str, url: str) -> None:
    transport.api.user_says(chat, "/start " + url.rsplit("=", 1)[1])
    sender = telegram.get_sender()
    assert isinstance(sender, telegram.TelegramSender)
    updates.listen(0, engine=db.engine, sender=sender)


def test_a_teacher_links_and_unlinks_their_chat_on_my_account(db, telegram_fake):
    inst = f.institute(db)
    teacher = f.user(db, inst, Role.TEACHER, email="tara@x.example")
    at = app_as(teacher.email).run()
    open_page(at, "pages/common/my_account.py")
    assert not errors(at), errors(at)
    assert not [t for t in at.text_input if t.key == "me_chat"]  # no typing chat ids
    at.button(key="tg_link").click().run()
    [url] = [c.value for c in at.code]
    assert url.startswith("https://t.me/cohort_test_bot?start=")
    _start(db, telegram_fake, "4242", url)
    assert "Linked to" in telegram_fake.api.texts_to("4242")[-1]
    at.run()
    assert "Your Telegram chat is linked." in texts(at)
    at.button(key="tg_unlink").click().run()
    assert not errors(at), errors(at)
    with db.scope(system=True) as s:
        assert s.get(User, teacher.id).telegram_chat_id is None


def test_the_office_gives_a_guardian_a_link(db, telegram_fake):
    inst = f.institute(db)
    admin = f.user(db, inst, Role.ADMIN, email="office@x.example")
    actor = f.actor_for(admin)
    with db.scope(actor) as s:
        student = academics.create_student(s, actor=actor, enrollment_no="G-1", name="Ravi")
        guardian = academics.add_guardian(s, actor=actor, student_id=student.id, name="Sunita")
    at = app_as(admin.email).run()
    open_page(at, "pages/admin/students.py")
    assert not errors(at), errors(at)
    at.button(key=f"g_tg_link_{guardian.id}").click().run()
    assert not errors(at), errors(at)
    [url] = [c.value for c in at.code]
    _start(db, telegram_fake, "5151", url)
    assert "You will get messages about Ravi here." in telegram_fake.api.texts_to("5151")[-1]
    at.run()
    at.button(key=f"g_tg_unlink_{guardian.id}").click().run()
    assert not errors(at), errors(at)
    with db.scope(system=True) as s:
        assert s.get(Guardian, guardian.id).telegram_chat_id is None

    # Without a bot token, the office is told what to set up, and nothing is written.
    telegram.use_sender(None)
    at.button(key=f"g_tg_link_{guardian.id}").click().run()
    assert any("TELEGRAM_BOT_TOKEN" in e for e in errors(at))


def test_pages_show_phones_as_the_institute_writes_them(db):
    """Stored in E.164; an Indian institute's office reads 098765 43210, a foreign number stays
    international."""
    inst = f.institute(db)
    admin = f.user(db, inst, Role.ADMIN, email="office2@x.example", phone="+91 98765 43210")
    actor = f.actor_for(admin)
    with db.scope(actor) as s:
        academics.create_student(
            s, actor=actor, enrollment_no="P-1", name="Ravi", phone="+44 7400 123456"
        )
    at = app_as(admin.email).run()
    open_page(at, "pages/common/my_account.py")
    assert "098765 43210" in texts(at)
    open_page(at, "pages/admin/students.py")
    assert not errors(at), errors(at)
    from tests.pages.apptest import frame

    assert list(frame(at, "Enrollment")["Phone"]) == ["+44 7400 123456"]
