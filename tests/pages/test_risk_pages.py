"""The Risk page, the high-risk panel on Today, and the settings preview."""

from app.core import clock
from app.core.roles import Role
from app.risk import engine
from tests import factories as f
from tests.pages.apptest import app_as, by_label, errors, frame, open_page, shown
from tests.risk.test_engine import NOW, build


def test_risk_page_lists_explains_previews_and_recomputes(db):
    inst, admin, ids = build(db)
    with clock.frozen(NOW), db.scope(institute_id=inst.id) as s:
        engine.recompute_institute_internal(s, institute_id=inst.id)
    with db.scope(system=True) as s:
        from app.identity.models import User

        admin_email = s.get(User, admin.user_id).email

    at = app_as(admin_email).run()
    open_page(at, "pages/common/risk.py")
    assert not errors(at), errors(at)
    assert [m.value for m in at.metric][:3] == ["2", "6", "4"]
    students = frame(at, "Student")
    assert list(students["Student"][:2]) == ["Kofi", "Esi"]
    by_label(at.selectbox, "Level").select("HIGH").run()
    assert list(frame(at, "Student")["Student"]) == ["Kofi", "Esi"]
    # The detail explains the score in plain words, critical flags first.
    assert any("Critical: attendance 40% is below 80%." in shown(m.value) for m in at.markdown)

    by_label(at.number_input, "MEDIUM from score").set_value(60.0)
    at.button(key="FormSubmitter:risk_settings-Preview").click().run()
    assert any(
        "1 of 12 students would change level: HIGH 2 → 3" in shown(i.value) for i in at.info
    ), [shown(i.value) for i in at.info]
    by_label(at.number_input, "LOW from score").set_value(40.0)
    at.button(key="FormSubmitter:risk_settings-Preview").click().run()
    assert any("must be below the MEDIUM/LOW line" in e for e in errors(at))

    at.button(key="risk_recompute").click().run()
    assert any(shown(s.value).startswith("Recomputed 12 students") for s in at.success)


def test_teacher_today_shows_their_high_risk_students(db):
    inst, admin, ids = build(db)
    teacher = f.user(db, inst, Role.TEACHER, email="t@risk.example")
    with db.scope(admin) as s:
        from app.academics import service as academics

        physics = academics.create_subject(s, actor=admin, name="Physics")
        batch = academics.create_batch(
            s, actor=admin, name="Physics B", subject_id=physics.id, teacher_user_id=teacher.id
        )
        academics.join_batch(s, actor=admin, batch_id=batch.id, student_id=ids["Esi"])
    with clock.frozen(NOW), db.scope(institute_id=inst.id) as s:
        engine.recompute_institute_internal(s, institute_id=inst.id)
    at = app_as("t@risk.example").run()
    open_page(at, "pages/teacher/today.py")
    assert not errors(at), errors(at)
    texts = [m.value for m in at.markdown]
    assert any(t.startswith("**Esi**") for t in texts)
    assert not any(t.startswith("**Kofi**") for t in texts)  # not in their batch
