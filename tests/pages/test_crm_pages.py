"""The counselor's Pipeline (landing page) and the CRM analytics page, through the real router."""

from datetime import timedelta

from sqlmodel import select

from app.core import clock
from app.crm import service as crm
from app.crm.models import Inquiry
from app.identity.models import User
from tests.crm.world import NOW, TODAY, build
from tests.pages.apptest import app_as, by_label, errors, frame, open_page, shown, texts


def _email(db, actor) -> str:
    with db.scope(system=True) as s:
        return s.get(User, actor.user_id).email


def test_pipeline_board_due_calls_new_inquiry_and_conversion(db):
    w = build(db)
    c = w.counselor
    with clock.frozen(NOW - timedelta(days=3)), db.scope(c) as s:
        asha = crm.create_inquiry(
            s,
            actor=c,
            student_name="Asha Rao",
            phone="9876543210",
            source="referral",
            referrer_student_id=w.referrer,
            interested_subjects=[w.physics],
            next_follow_up_date=TODAY - timedelta(days=1),
        ).id
        crm.create_inquiry(s, actor=c, student_name="Bala Iyer", email="bala@example.com")
    with clock.frozen(NOW):
        at = app_as(_email(db, c)).run()
        # The pipeline is the counselor's landing page.
        assert at.title[0].value == "Pipeline"
        assert not errors(at), errors(at)
        board = texts(at)
        assert "**New** · 1" in board and "**Follow up scheduled** · 1" in board
        assert "**Asha Rao**" in board
        assert list(frame(at, "Overdue")["Name"]) == ["Asha Rao"]

        # Quick "log a call" from the due list.
        by_label(at.selectbox, "Outcome").select_index(0)  # interested
        at.button(key="FormSubmitter:crm_quick_call-Log call").click().run()
        assert not errors(at), errors(at)
        assert "Call with Asha Rao logged." in [shown(s.value) for s in at.success]
        assert "My follow-ups due today: none" in [shown(e.label) for e in at.expander]

        # A new inquiry; the same phone again is caught as a duplicate.
        by_label(at.text_input, "Name").set_value("Chen Wu")
        by_label(at.text_input, "Phone").set_value("+91 90000 11111")
        at.button(key="FormSubmitter:crm_new-Save inquiry").click().run()
        assert any(shown(s.value).startswith("Inquiry #") for s in at.success), texts(at)
        by_label(at.text_input, "Name").set_value("Chen W")
        by_label(at.text_input, "Phone").set_value("9000011111")
        at.button(key="FormSubmitter:crm_new-Save inquiry").click().run()
        assert any("This looks like inquiry" in e for e in errors(at)), errors(at)

        # Open Asha's card: score with reasons, history, then convert her.
        at.button(key=f"crm_open_{asha}").click().run()
        assert f"#{asha} Asha Rao · Contacted" in [h.value for h in at.subheader]
        keys = [b.key or "" for b in at.button]  # in page order
        first_card = min(i for i, k in enumerate(keys) if k.startswith("crm_open_"))
        assert keys.index("crm_close") < first_card  # it opens above the board, not 2,900 px down
        assert "- Source referral: +25" in [shown(m.value) for m in at.markdown]
        at.segmented_control(key=f"crm_action_{asha}").set_value("Convert to student").run()
        assert not errors(at), errors(at)
        by_label(at.text_input, "Guardian name").set_value("Meera Rao")
        at.button(key=f"FormSubmitter:crm_convert_{asha}-Convert").click().run()
        assert not errors(at), errors(at)
        success = " ".join(shown(s.value) for s in at.success)
        assert "Asha Rao is enrolled as ADM-00002 in Physics A" in success
        assert "The referrer earned" in success
    with db.scope(c) as s:
        assert s.get(Inquiry, asha).status == "enrolled"
        assert len(s.exec(select(Inquiry)).all()) == 3


def test_analytics_page_shows_the_funnel_with_its_tables(db):
    w = build(db)
    c = w.counselor
    with clock.frozen(NOW), db.scope(c) as s:
        ids = [
            crm.create_inquiry(
                s, actor=c, student_name=name, phone=f"98000000{n:02d}", source=source
            ).id
            for n, (name, source) in enumerate(
                [("A", "website"), ("B", "website"), ("C", "referral"), ("D", "walk_in")]
            )
        ]
        crm.log_follow_up(
            s, actor=c, inquiry_id=ids[0], follow_up_type="call", outcome="interested"
        )
        crm.convert(
            s,
            actor=c,
            inquiry_id=ids[0],
            enrollment_no="ADM-00009",
            batch_id=w.batch,
            structure_id=w.structure,
            period="2026-11",
        )
        crm.change_status(s, actor=c, inquiry_id=ids[1], status="lost", lost_reason="Too far away")
    with clock.frozen(NOW + timedelta(days=1)):
        at = app_as(_email(db, w.admin)).run()
        open_page(at, "pages/counselor/crm_analytics.py")
        assert not errors(at), errors(at)
        assert [m.value for m in at.metric] == ["4", "1", "25%", "0"]
        funnel = frame(at, "Stage")
        assert list(funnel["Inquiries"]) == [4, 1, 0, 1]
        sources = frame(at, "Source")
        website = sources[sources["Source"] == "Website"].iloc[0]
        assert (website["Inquiries"], website["Enrolled"], website["Lost"]) == (2, 1, 1)
        assert website["Conversion %"] == 50.0
        counselors = frame(at, "Counselor")
        assert list(counselors["Counselor"]) == ["Carla Counselor"]
        assert list(counselors["Contacts logged"]) == [1]


def test_pipeline_table_view_status_change_and_merging_duplicates(db):
    w = build(db)
    c = w.counselor
    with clock.frozen(NOW - timedelta(days=1)), db.scope(c) as s:
        older = crm.create_inquiry(s, actor=c, student_name="Dev Nair", phone="9000000001").id
    with clock.frozen(NOW), db.scope(w.other_counselor) as s:
        newer = crm.create_inquiry(
            s,
            actor=w.other_counselor,
            student_name="Dev N",
            phone="+91 90000 00001",
            tags="evening",
            allow_duplicate=True,
        ).id
    with clock.frozen(NOW):
        at = app_as(_email(db, c)).run()
        # The table view, everyone's inquiries, best leads first (equal scores: newest first).
        by_label(at.selectbox, "Counselor").select_index(0).run()
        at.segmented_control(key="crm_view").set_value("Table").run()
        assert not errors(at), errors(at)
        assert list(frame(at, "Score")["Name"]) == ["Dev N", "Dev Nair"]
        by_label(at.selectbox, "Open inquiry").select_index(2).run()
        assert f"Possible duplicate of #{newer} Dev N (same phone)." in [
            shown(x.value) for x in at.warning
        ]
        # Lost needs a reason; the page says so and nothing changes.
        at.segmented_control(key=f"crm_action_{older}").set_value("Change status").run()
        by_label(at.selectbox, "New status").select_index(2)  # lost
        at.button(key=f"FormSubmitter:crm_status_{older}-Change status").click().run()
        assert any("Say why the inquiry was lost" in e for e in errors(at)), errors(at)
        # The duplicates tab merges the newer into the older.
        at.toggle(key="crm_dup_look").set_value(True).run()
        assert f"**#{older} Dev Nair** and **#{newer} Dev N** share their phone." in texts(at)
        at.button(key=f"crm_dup_{older}_{newer}").click().run()
        assert f"Merged #{newer} into #{older}." in [shown(x.value) for x in at.success]
    with db.scope(c) as s:
        assert s.get(Inquiry, newer) is None
        kept = s.get(Inquiry, older)
        assert (kept.status, kept.tags) == ("new", ["evening"])


def test_an_admin_turns_on_automatic_assignment_on_the_pipeline(db):
    from app.identity.models import Institute

    w = build(db)
    with db.scope(system=True) as s:
        email = s.get(User, w.admin.user_id).email
    with clock.frozen(NOW):
        at = app_as(email).run()
        open_page(at, "pages/counselor/pipeline.py")
        at.toggle(key="crm_auto_assign").set_value(True).run()
    assert not errors(at), errors(at)
    assert "New inquiries now go to the counselor with the fewest open ones." in [
        shown(m.value) for m in at.success
    ]
    with db.scope(system=True) as s:
        assert s.get(Institute, w.institute.id).auto_assign_inquiries is True
