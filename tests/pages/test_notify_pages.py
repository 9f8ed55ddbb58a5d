"""Announcements reach people's Messages; admins see health, job runs and the outbox; rules save."""

import pytest

from app.core.roles import Role
from app.notify import service
from app.notify.models import Notification
from tests import factories as f
from tests.pages.apptest import app_as, by_label, errors, frame, open_page, shown


@pytest.fixture
def people(db):
    inst = f.institute(db)
    return {
        "admin": f.user(db, inst, Role.ADMIN, email="admin@x.example"),
        "student": f.user(db, inst, Role.STUDENT, email="stu@x.example", telegram_chat_id="3003"),
        "other": f.user(db, f.institute(db), Role.STUDENT, email="elsewhere@y.example"),
    }


def test_announcement_reaches_students_messages_with_a_bell(db, people):
    from app.academics import service as academics

    admin_actor = f.actor_for(people["admin"])
    with db.scope(admin_actor) as s:
        st = academics.create_student(s, actor=admin_actor, enrollment_no="S1", name="Stu")
        st.user_id = people["student"].id
        academics.add_guardian(
            s, actor=admin_actor, student_id=st.id, name="Mum", telegram_chat_id="3003"
        )
    admin = app_as(people["admin"].email).run()
    open_page(admin, "pages/common/announcements.py")
    by_label(admin.text_input, "Title").input("Exam week")
    by_label(admin.text_area, "Message").input("Exams start on Monday at 9.")
    admin.button(key="FormSubmitter:announce-Announce").click().run()
    assert "Announced: 2 messages queued." in [shown(s.value) for s in admin.success]

    student = app_as(people["student"].email).run()
    open_page(student, "pages/common/messages.py")
    assert student.title[0].value == "Messages"
    assert "Exam week" in " ".join(m.value for m in student.markdown)
    assert any("1 new message" in str(link.label) for link in student.sidebar.get("page_link"))
    student.button(key="mark_all_read").click().run()
    with db.scope(system=True) as s:
        rows = {(r.channel, r.status) for r in s.exec(service.select(Notification))}
    assert rows == {("in_app", "sent"), ("telegram", "queued")}

    elsewhere = app_as(people["other"].email).run()
    assert "Exam week" not in " ".join(m.value for m in elsewhere.markdown)


def test_system_page_shows_checks_runs_and_outbox(db, people):
    from app.worker import runner
    from app.worker.registry import all_jobs

    runner.run_job(all_jobs()["cleanup_expired"], engine=db.engine, trigger="manual")
    with db.scope(system=True) as s:
        service.enqueue_internal(
            s,
            institute_id=people["admin"].institute_id,
            channel="telegram",
            recipient="1",
            text="Fee reminder",
            dedupe_key="k1",
        )
        service.enqueue_internal(
            s,
            institute_id=people["other"].institute_id,
            channel="telegram",
            recipient="2",
            text="Not yours",
            dedupe_key="k2",
        )
    at = app_as(people["admin"].email).run()
    open_page(at, "pages/admin/system.py")
    assert not errors(at)
    checks = frame(at, "Check")
    assert set(checks["Check"]) >= {"database", "migrations", "worker", "outbox"}
    assert checks.set_index("Check").loc["worker", ""] == "✗"  # no worker heartbeat in this test
    assert "cleanup_expired" in set(frame(at, "Job")["Job"])
    outbox = frame(at, "Text")
    assert list(outbox["Text"]) == ["Fee reminder"]


def test_rules_page_saves_and_validates(db, people):
    at = app_as(people["admin"].email).run()
    open_page(at, "pages/admin/rules.py")
    at.number_input(key="r_streak").set_value(5)
    at.button(key="FormSubmitter:rules-Save rules").click().run()
    assert "Rules saved." in [shown(s.value) for s in at.success]
    with db.scope(system=True) as s:
        rules = service.effective_rules_internal(s, institute_id=people["admin"].institute_id)
    assert (
        rules.absence_streak_threshold == 5
        and rules.source("absence_streak_threshold") == "institute"
    )


def test_batch_overrides_and_the_effective_view(db, people):
    from app.academics import service as academics

    admin_actor = f.actor_for(people["admin"])
    with db.scope(admin_actor) as s:
        subject = academics.create_subject(s, actor=admin_actor, name="Chemistry")
        batch = academics.create_batch(s, actor=admin_actor, name="Chem A", subject_id=subject.id)
    at = app_as(people["admin"].email).run()
    open_page(at, "pages/admin/rules.py")
    at.selectbox(key=f"rb_abs_{batch.id}").set_value("No")
    at.number_input(key=f"rb_streak_{batch.id}").set_value(2)
    at.button(key=f"FormSubmitter:batch_rules_{batch.id}-Save overrides").click().run()
    assert not errors(at), errors(at)
    view = frame(at, "From").set_index("Rule")
    assert (
        view.loc["Absence streak threshold", "Value"] == "2"
        and view.loc["Absence streak threshold", "From"] == "this batch"
    )
    assert view.loc["Notify guardian on absence", "Value"] == "False"
    assert view.loc["Quiet hours start", "From"] == "default"
