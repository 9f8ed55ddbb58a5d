"""Feedback and points screens: a student gives feedback (named and anonymous) and appeals a
penalty; staff see "Anonymous", resolve feedback, give points and decide the appeal."""

import pytest

from app.feedback import points
from tests.feedback.world import build, frozen_now
from tests.pages.apptest import app_as, by_label, errors, frame, open_page, shown, texts


@pytest.fixture
def w(db):
    with frozen_now():
        yield build(db, students=2)


def test_student_gives_feedback_and_staff_see_anonymous_then_resolve(db, w):
    with frozen_now():
        kid = app_as(w.student_users[0].email).run()
        open_page(kid, "pages/student/feedback.py")
        assert not kid.exception and not errors(kid), errors(kid)
        by_label(kid.radio, "Rating").set_value(1)
        by_label(kid.text_area, "Comment (optional)").input("Boring and confusing, too fast.")
        by_label(kid.checkbox, "Send anonymously").check()
        kid.button(key="FormSubmitter:give_feedback-Send feedback").click().run()
        assert not errors(kid), errors(kid)
        assert any("sent anonymously" in shown(s.value) for s in kid.success)
        assert "Nothing to show yet." in texts(kid)  # anonymous is not listed, even for them

        by_label(kid.radio, "What are you rating?").set_value("faculty").run()
        by_label(kid.radio, "Rating").set_value(5)
        by_label(kid.text_area, "Comment (optional)").input("Great teacher, very clear.")
        kid.button(key="FormSubmitter:give_feedback-Send feedback").click().run()
        assert not errors(kid), errors(kid)
        mine = frame(kid, "Response")
        assert list(mine["About"]) == ["Teacher Tara Teacher"]

        # The same session twice is refused with a clear message.
        by_label(kid.radio, "What are you rating?").set_value("session").run()
        kid.button(key="FormSubmitter:give_feedback-Send feedback").click().run()
        assert "You already rated this session." in errors(kid)

        admin = app_as(w.admin.email).run()
        open_page(admin, "pages/common/feedback.py")
        assert not admin.exception and not errors(admin), errors(admin)
        table = frame(admin, "Sentiment")
        assert sorted(table["Student"]) == ["Anonymous", "Kid 0"]
        assert "Kid 0" not in list(table[table["Sentiment"] == "negative"]["Student"])
        by_label(admin.selectbox, "Sentiment").set_value("negative").run()
        by_label(admin.text_area, "What was done (the student sees this when named)").input(
            "Discussed pace with the teacher."
        )
        admin.button(key="FormSubmitter:fb_resolve-Resolve").click().run()
        assert not errors(admin), errors(admin)
        assert any("resolved" in shown(s.value) for s in admin.success)
        assert list(frame(admin, "Sentiment")["Status"]) == ["resolved"]
        admin.tabs[1].run()
        assert not admin.exception
        assert len(admin.get("plotly_chart")) >= 3


def test_points_grant_appeal_and_reverse(db, w):
    with frozen_now():
        teacher = app_as(w.teacher.email).run()
        open_page(teacher, "pages/teacher/points.py")
        assert not teacher.exception and not errors(teacher), errors(teacher)
        by_label(teacher.multiselect, "Students").set_value([s.id for s in w.students])
        by_label(teacher.radio, "Type").set_value("penalty")
        by_label(teacher.selectbox, "Category").set_value("behavior")
        by_label(teacher.number_input, "Points").set_value(20)
        by_label(teacher.text_input, "Reason (the student reads it)").input("Late homework")
        teacher.button(key="FormSubmitter:grant_points-Give points").click().run()
        assert not errors(teacher), errors(teacher)
        assert any("to 2 students." in shown(s.value) for s in teacher.success)
        assert "Appeals" not in [t.label for t in teacher.tabs]

        kid = app_as(w.student_users[0].email).run()
        open_page(kid, "pages/student/points.py")
        assert not kid.exception and not errors(kid), errors(kid)
        assert kid.metric[0].value == "-20"
        by_label(kid.text_area, "Why should it be reconsidered?").input(
            "I handed it in on time; the portal was down."
        )
        kid.button(key="FormSubmitter:appeal-Send appeal").click().run()
        assert not errors(kid), errors(kid)
        assert "appeal under review" in list(frame(kid, "Appeal")["Appeal"])

        admin = app_as(w.admin.email).run()
        open_page(admin, "pages/teacher/points.py")
        assert not admin.exception and not errors(admin), errors(admin)
        assert admin.expander[-1].label.startswith("Kid 0: −20")
        by_label(admin.text_area, "Note to the student").input("Portal outage confirmed.")
        admin.button(key=f"FormSubmitter:appeal_{_appealed(db, w)}-Decide").click().run()
        assert not errors(admin), errors(admin)
        assert any("reversed" in shown(s.value) for s in admin.success)

        kid.run()
        assert kid.metric[0].value == "0"
        assert "Portal outage confirmed." in list(frame(kid, "Decision note")["Decision note"])


def _appealed(db, w) -> int:
    a = w.admin_actor
    with db.scope(a) as s:
        return points.appeals_queue(s, actor=a)[0].id


def test_an_admin_names_a_students_counselor_who_then_rewards_them(db, w):
    """Issue 22: the counselor's navigation has Rewards & penalties, for their own students."""
    from app.core.roles import Role
    from tests import factories as f

    counselor = f.user(db, w.institute, Role.COUNSELOR, name="Cara Counselor")
    with frozen_now():
        admin = app_as(w.admin.email).run()
        open_page(admin, "pages/admin/students.py")
        admin.selectbox(key="st_pick").set_value(
            next(o for o in admin.selectbox(key="st_pick").options if "Kid 1" in o)
        ).run()
        sid = w.students[1].id
        admin.selectbox(key=f"e_counselor_{sid}").set_value(counselor.id)
        admin.button(key=f"FormSubmitter:edit_student_{sid}-Save details").click().run()
        assert not errors(admin), errors(admin)

        at = app_as(counselor.email).run()
        open_page(at, "pages/teacher/points.py")
        assert not at.exception and not errors(at), errors(at)
        pick = by_label(at.multiselect, "Students")
        assert len(pick.options) == 1 and "Kid 1" in pick.options[0]
        pick.set_value([sid])
        by_label(at.text_input, "Reason (the student reads it)").input("Helped a classmate")
        at.button(key="FormSubmitter:grant_points-Give points").click().run()
        assert not errors(at), errors(at)
        assert any("to 1 student." in shown(s.value) for s in at.success), [
            shown(s.value) for s in at.success
        ]


def test_a_student_rates_the_facilities_and_the_admin_sees_what_it_is_about(db, w):
    with frozen_now():
        kid = app_as(w.student_users[0].email).run()
        open_page(kid, "pages/student/feedback.py")
        kid.radio(key="fb_kind").set_value("facility").run()
        by_label(kid.text_area, "Comment (optional)").input("The Wi-Fi drops every class.")
        kid.button(key="FormSubmitter:give_feedback-Send feedback").click().run()
        assert not errors(kid), errors(kid)
        assert any("Thank you" in shown(s.value) for s in kid.success)
        assert "The facilities" in list(frame(kid, "About")["About"])

        admin = app_as(w.admin.email).run()
        open_page(admin, "pages/common/feedback.py")
        assert not errors(admin), errors(admin)
        assert "The facilities" in texts(admin) or "The facilities" in list(
            frame(admin, "About")["About"]
        )


def test_a_counselor_follows_up_their_students_feedback_on_the_page(db, w):
    from app.academics import service as academics
    from app.core.roles import Role
    from app.feedback import service as fb_service
    from tests import factories as f

    counselor = f.user(db, w.institute, Role.COUNSELOR, name="Cara Counselor")
    with db.scope(w.admin_actor) as s:
        academics.update_student(
            s, actor=w.admin_actor, student_id=w.students[0].id, counselor_user_id=counselor.id
        )
    with frozen_now():
        with db.scope(w.student_actor(0)) as s:
            fb_service.submit_feedback(
                s, actor=w.student_actor(0), feedback_type="institute", rating=2
            )
        at = app_as(counselor.email).run()
        open_page(at, "pages/common/feedback.py")
        assert not at.exception and not errors(at), errors(at)
        assert list(frame(at, "About")["About"]) == ["The institute"]
        assert not [b for b in at.get("download_button")]  # the export is the office's
        at.text_input(key=f"fb_follow_{at.selectbox(key='fb_pick').value.id}").input("Called home")
        at.button(key="fb_review").click().run()
        assert not errors(at), errors(at)
        assert any("marked reviewed" in shown(s.value) for s in at.success)
