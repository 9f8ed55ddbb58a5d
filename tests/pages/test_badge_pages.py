"""Badge screens: the teacher's request queue, the student's wall, public verification."""

from sqlmodel import select

from app.badges import service
from app.badges.models import BadgeAward
from tests.badges.world import build, catalog
from tests.pages.apptest import app_as, by_label, errors, open_page, shown, texts


def test_request_approve_wall_and_public_verification(db):
    w = catalog(db, build(db, students=2))
    pupil = w.student_users[0]

    at = app_as(pupil.email).run()
    open_page(at, "pages/student/badges.py")
    assert not at.exception and not errors(at), errors(at)
    assert "**Statistics** (skill): 0 of 2" in texts(at)
    at.selectbox[0].set_value("🏅 Median")
    at.text_area[0].input("My median worksheet")
    at.button(key="FormSubmitter:badge_request-Request").click().run()
    assert not errors(at), errors(at)
    assert any("Requested" in shown(s.value) for s in at.success)

    other = w.student_actor(1)
    with db.scope(other) as s:
        service.request_badge(s, actor=other, badge_id=w.b["M1"], evidence_text="x")

    teacher = app_as(w.teacher.email).run()
    open_page(teacher, "pages/teacher/badge_requests.py")
    assert not teacher.exception and not errors(teacher), errors(teacher)
    assert len(teacher.expander) == 2
    req = next(e for e in teacher.expander if e.label == "Pupil 0: Median")
    req.button[0].click().run()  # Approve
    assert not errors(teacher), errors(teacher)
    assert any("Approved: Pupil 0 now has Median." in shown(s.value) for s in teacher.success)

    at.run()
    open_page(at, "pages/student/badges.py")
    assert "**Median** (mini)" in texts(at)
    assert [b.label for b in at.get("download_button")][:2] == [
        "Credential (.jwt)",
        "Credential (.json)",
    ]

    with db.scope(institute_id=w.institute.id) as s:
        credential_id = s.exec(
            select(BadgeAward.credential_id).where(BadgeAward.badge_id == w.b["M2"])
        ).one()
    public = app_as(None)
    public.query_params["credential"] = credential_id
    public.run()
    assert not public.exception, public.exception
    assert any("Valid: Median" in shown(s.value) for s in public.success)
    assert '"kty": "OKP"' in "".join(c.value for c in public.code)

    with db.scope(w.admin_actor) as s:
        award = s.exec(select(BadgeAward).where(BadgeAward.credential_id == credential_id)).one()
        service.revoke(s, actor=w.admin_actor, award_id=award.id, reason="Mistake")
    public.run()
    assert any("Revoked: Median" in e.value for e in public.error)

    unknown = app_as(None)
    unknown.query_params["credential"] = "not-a-real-id"
    unknown.run()
    assert any("Unknown" in shown(x.value) for x in unknown.warning)


def test_admin_catalog_adds_a_badge(db):
    w = catalog(db, build(db, students=1))
    at = app_as(w.admin.email).run()
    open_page(at, "pages/admin/badges.py")
    assert not at.exception and not errors(at), errors(at)
    by_label(at.selectbox, "Kind").set_value("program").run()
    by_label(at.text_input, "Name").input("Coding")
    at.button(key="bc_add").click().run()
    assert not errors(at), errors(at)
    assert any("Added Coding." in shown(s.value) for s in at.success)


def test_admin_edits_the_look_and_rule_awards_by_hand_and_revokes(db):
    w = catalog(db, build(db, students=1))
    at = app_as(w.admin.email).run()
    open_page(at, "pages/admin/badges.py")
    # The catalog's program has a capstone: no warning. Edit a mini's look and give it a rule.
    assert not [x for x in at.warning if "no active capstone" in shown(x.value)]
    at.selectbox(key="be_badge").set_value(w.b["M2"]).run()
    k = f"be_{w.b['M2']}"
    at.text_input(key=f"{k}_emoji").input("📊")
    at.selectbox(key=f"{k}_rule").set_value("Attendance ≥ Y% in a batch").run()
    at.number_input(key=f"{k}_threshold_p").set_value(90.0)
    at.button(key="be_save").click().run()
    assert not errors(at), errors(at)
    with db.scope(w.admin_actor) as s:
        m2 = service.badge_internal(s, w.institute.id, w.b["M2"])
        assert (m2.emoji, m2.rule_kind, m2.rule_threshold, m2.rule_batch_id) == (
            "📊",
            "attendance_percent",
            90.0,
            w.batch_id,
        )
    # Award Mean by hand to the pupil found by name, then revoke it with a reason.
    at.text_input(key="ba_search").input("Pupil").run()
    at.selectbox(key="ba_badge").set_value(w.b["M1"]).run()
    at.button(key="ba_award").click().run()
    assert not errors(at), errors(at)
    assert any("Awarded Mean to Pupil 0" in shown(x.value) for x in at.success)
    at.button(key="ba_revoke_go").click().run()
    assert any("Say why" in e for e in errors(at))
    at.text_input(key="ba_why").input("Awarded to the wrong pupil")
    at.button(key="ba_revoke_go").click().run()
    assert not errors(at), errors(at)
    with db.scope(w.admin_actor) as s:
        award = s.exec(select(BadgeAward)).one()
    assert award.revoke_reason == "Awarded to the wrong pupil"


def test_catalog_warns_about_a_program_without_a_capstone(db):
    w = build(db, students=1)
    with db.scope(w.admin_actor) as s:
        service.create_badge(s, actor=w.admin_actor, kind="program", name="Robotics")
    at = app_as(w.admin.email).run()
    open_page(at, "pages/admin/badges.py")
    assert any("Robotics has no active capstone" in shown(x.value) for x in at.warning)
