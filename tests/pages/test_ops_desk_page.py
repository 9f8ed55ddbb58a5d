"""The Ops desk page: type a request, see the preview, press Confirm, see the result."""

from sqlmodel import select

from app.core import clock
from app.fees.models import Payment
from tests.opsdesk.world import NOW, bill_october, build
from tests.pages.apptest import app_as, by_label, errors, frame, open_page, texts


def test_admin_records_a_payment_from_the_desk(db):
    w = build(db)
    bill_october(db, w)
    with clock.frozen(NOW):
        at = app_as(w.admin_email).run()
        open_page(at, "pages/common/ops_desk.py")
        assert not errors(at), errors(at)
        assert at.title[0].value == "Ops desk"
        assert "Here is what I can do" in texts(at)  # an empty history opens with help

        at.chat_input[0].set_value("record payment ₹5,000 for ADM-001 by UPI ref UPI-77").run()
        assert not errors(at), errors(at)
        assert "I will record a payment of **₹5,000.00** from **Riya Sharma**" in texts(at)
        preview = frame(at, "Reference")
        assert list(preview["Reference"]) == ["UPI-77"] and list(preview["Method"]) == ["UPI"]
        with db.scope(system=True) as s:
            assert s.exec(select(Payment)).all() == []

        by_label(at.button, "Confirm").click().run()
        assert not errors(at), errors(at)
        assert "Done: recorded ₹5,000.00 by UPI, reference UPI-77 — receipt 1" in texts(at)
        assert "Confirmed." in texts(at)
        assert not [b for b in at.button if b.label == "Confirm"]  # nothing left to confirm
    with db.scope(system=True) as s:
        [payment] = s.exec(select(Payment)).all()
    assert (payment.student_id, payment.amount_minor, payment.method) == (w.riya, 5000_00, "upi")


def test_teacher_is_told_plainly_and_can_cancel_a_preview(db):
    w = build(db)
    with clock.frozen(NOW):
        at = app_as(w.teacher_email).run()
        open_page(at, "pages/common/ops_desk.py")
        at.chat_input[0].set_value("record payment 5000 for ADM-001 cash ref 9").run()
        assert any("cannot record payments" in e for e in errors(at)), errors(at)

        at.chat_input[0].set_value("mark Aman absent today").run()
        assert "not been taken yet" in texts(at)
        by_label(at.button, "Cancel").click().run()
        assert "Cancelled; nothing was done." in texts(at)
        assert not [b for b in at.button if b.label == "Confirm"]
