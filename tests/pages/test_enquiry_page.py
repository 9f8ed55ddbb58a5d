"""The public enquiry form (issue 22): no sign-in, rate-limited, a honeypot, straight into the
institute's Pipeline as a new lead from the website."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.academics.models import Subject
from app.core.audit import AuditLog
from app.core.db import session_scope
from app.core.roles import Role
from app.crm import public
from app.crm.models import Inquiry
from app.identity.models import Institute
from tests import factories as f
from tests.pages.apptest import app_as, by_label, errors, open_page, texts


@pytest.fixture
def alpha(db):
    inst = f.institute(db, name="Alpha Academy")
    f.institute(db, name="Beta Institute")
    physics = f.subject(db, inst, name="Physics")
    counselor = f.user(db, inst, Role.COUNSELOR)
    with db.scope(system=True) as s:
        s.get(Institute, inst.id).auto_assign_inquiries = True
    return inst, physics.id, counselor


def enquire(*, name="Riya <b>Shah</b>", phone="098765 43210", website=""):
    at = app_as(None).run()
    open_page(at, "pages/public/enquire.py")
    with session_scope(system=True) as s:
        alpha_id = s.exec(select(Institute.id).where(Institute.name == "Alpha Academy")).one()
        physics = s.exec(select(Subject.id).where(Subject.name == "Physics")).one()
    by_label(at.selectbox, "Institute").set_value(alpha_id).run()
    by_label(at.text_input, "Student's name").input(name)
    by_label(at.text_input, "Phone").input(phone)
    by_label(at.multiselect, "Interested in").select(physics)
    by_label(at.text_area, "Anything we should know (optional)").input("Evenings, please.")
    by_label(at.text_input, "Website").input(website)
    at.button(key="FormSubmitter:enquire-Send enquiry").click()
    return at.run()


def inquiries(db):
    with db.scope(system=True) as s:
        return s.exec(select(Inquiry)).all()


def test_a_visitor_enquires_and_the_lead_is_in_the_pipeline(db, alpha):
    inst, physics, counselor = alpha
    at = enquire()
    assert not errors(at), errors(at)
    assert public.THANKS in texts(at)
    (lead,) = inquiries(db)
    assert (lead.institute_id, lead.student_name, lead.phone, lead.source, lead.status) == (
        inst.id,
        "Riya <b>Shah</b>",
        "+919876543210",
        "website",
        "new",
    )
    assert lead.interested_subjects == [physics] and lead.notes == "Evenings, please."
    assert lead.counselor_user_id == counselor.id  # the institute assigns automatically
    with db.scope(system=True) as s:
        assert s.exec(select(AuditLog.action).where(AuditLog.target_type == "inquiry")).all() == [
            "crm.public_inquiry"
        ]


def test_the_honeypot_keeps_nothing_and_a_bad_phone_is_explained(db, alpha):
    at = enquire(website="http://spam.example")
    assert public.THANKS in texts(at) and inquiries(db) == []
    at = enquire(phone="12ab")
    assert any("is not a phone number we can use" in e for e in errors(at)), errors(at)
    assert inquiries(db) == []


def test_more_than_the_limit_per_minute_is_refused(db, alpha, monkeypatch):
    monkeypatch.setenv("PUBLIC_INQUIRIES_PER_MINUTE", "2")
    from app.core.config import reset_settings_cache

    reset_settings_cache()
    results = []
    for n in range(3):  # one transaction a submit, as the page does
        with db.scope(system=True) as s:
            results.append(
                public.submit_public_inquiry(
                    s,
                    institute_id=alpha[0].id,
                    student_name=f"Lead {n}",
                    phone=f"+91 98111 {11100 + n}",
                    email=None,
                    subject_ids=[],
                    message=None,
                    honeypot=None,
                    client="203.0.113.9",
                )
            )
    assert [r.ok for r in results] == [True, True, False]
    assert results[2].error == public.TOO_MANY
    assert len(inquiries(db)) == 2


def test_the_sign_in_page_links_to_the_enquiry_form(db, alpha):
    at = app_as(None).run()
    assert any(
        link.label == "Interested in a course? Send an enquiry" for link in at.get("page_link")
    )
