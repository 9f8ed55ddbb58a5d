"""The Ops desk end to end on both databases: previews write nothing, Confirm acts once through
the same services and permissions as the pages, ambiguity gets a question, unknown requests get
help or the local model's words (never an action)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.attendance import service as attendance
from app.attendance.models import AttendanceRecord
from app.core import clock
from app.core.audit import AuditLog
from app.core.config import reset_settings_cache
from app.core.errors import Conflict, NotFound
from app.fees import service as fees
from app.fees.models import Invoice, Payment
from app.notify.models import Notification
from app.opsdesk import service as desk
from app.opsdesk.models import DeskMessage
from app.risk.models import StudentRiskProfile
from tests import factories as f
from tests.factories import count
from tests.fakes.ollama import fake_ollama
from tests.opsdesk.world import NOW, bill_october, build


def ask(db, actor, text):
    with clock.frozen(NOW), db.scope(actor) as s:
        return desk.ask(s, actor=actor, text=text)


def confirm(db, actor, message_id):
    with clock.frozen(NOW), db.scope(actor) as s:
        return desk.confirm(s, actor=actor, message_id=message_id)


def test_payment_waits_for_confirm_and_is_recorded_once(db):
    w = build(db)
    bill_october(db, w)
    reply = ask(db, w.admin, "record payment 5000 for ADM-001 by M-Pesa ref QX12")
    assert (reply.kind, reply.status) == ("preview", "pending")
    assert reply.rows[0]["Student"] == "Riya Sharma" and reply.rows[0]["Amount"] == "₹5,000.00"
    assert reply.rows[0]["Method"] == "M-Pesa" and reply.rows[0]["Reference"] == "QX12"
    assert count(db, Payment) == 0  # a preview writes nothing

    typed = ask(db, w.admin, "yes")  # only the Confirm button acts
    assert "press **Confirm**" in typed.text and count(db, Payment) == 0
    done = confirm(db, w.admin, reply.id)
    assert done.kind == "result" and "receipt 1" in done.text, done.text
    with db.scope(system=True) as s:
        [payment] = s.exec(select(Payment)).all()
        assert (payment.student_id, payment.amount_minor, payment.method) == (
            w.riya,
            5000_00,
            "mpesa",
        )

    with pytest.raises(Conflict, match="already done"):
        confirm(db, w.admin, reply.id)
    assert count(db, Payment) == 1
    # Asking again for the same reference: the desk sees it is already recorded.
    again = ask(db, w.admin, "Record payment of ₹5,000 for ADM-001 via mpesa reference QX12")
    assert again.kind == "answer" and "already recorded" in again.text
    assert count(db, Payment) == 1


def test_a_payment_taken_meanwhile_is_not_recorded_twice(db):
    w = build(db)
    bill_october(db, w)
    preview = ask(db, w.admin, "ADM-003 paid Rs. 1,200 cash ref SLIP-7")
    # The same payment is entered at the counter before the desk's preview is confirmed.
    with db.scope(w.admin) as s:
        fees.record_payment(
            s,
            actor=w.admin,
            student_id=w.aman,
            amount_minor=1200_00,
            method="cash",
            reference="SLIP-7",
        )
    done = confirm(db, w.admin, preview.id)
    assert "Nothing was recorded twice" in done.text
    assert count(db, Payment) == 1


def test_teacher_cannot_record_payments(db):
    w = build(db)
    reply = ask(db, w.teacher, "record payment 5000 for ADM-001 by cash ref T-1")
    assert reply.kind == "error"
    assert "permission" in reply.text and "record payments" in reply.text
    assert count(db, Payment) == 0
    assert count(db, AuditLog, action="auth.permission_denied") == 1
    # Even a preview that reached a teacher is refused by the payment service on Confirm.
    with db.scope(system=True) as s:
        forged = DeskMessage(
            institute_id=w.institute.id,
            user_id=w.teacher.user_id,
            author="desk",
            kind="preview",
            text="x",
            status="pending",
            payload={
                "intent": "record_payment",
                "student_id": w.riya,
                "amount_minor": 100,
                "method": "cash",
                "reference": "T-2",
            },
        )
        s.add(forged)
        s.flush()
        forged_id = forged.id
    done = confirm(db, w.teacher, forged_id)
    assert done.kind == "error" and "permission" in done.text
    assert count(db, Payment) == 0
    with db.scope(system=True) as s:
        assert s.get(DeskMessage, forged_id).status == "failed"


def test_ambiguous_and_missing_details_get_a_question(db):
    w = build(db)
    bill_october(db, w)
    question = ask(db, w.admin, "record payment 700 for Riya by cash ref C-1")
    assert question.kind == "question" and "2 students match" in question.text
    assert [r["Student"] for r in question.rows] == ["Riya Sharma", "Riya Verma"]
    preview = ask(db, w.admin, "2")
    assert preview.kind == "preview" and preview.rows[0]["Student"] == "Riya Verma"
    assert preview.rows[0]["Amount"] == "₹700.00"

    need = ask(db, w.admin, "record payment for ADM-003")
    assert need.kind == "question"
    assert "how much" in need.text and "reference" in need.text
    preview = ask(db, w.admin, "₹1,500 by UPI ref UPI-9")
    assert preview.kind == "preview"
    assert preview.payload["amount_minor"] == 1500_00 and preview.payload["method"] == "upi"
    with db.scope(system=True) as s:
        assert s.get(DeskMessage, need.id).status == "answered"
    assert count(db, Payment) == 0


def test_unknown_request_without_a_model_lists_what_the_desk_does(db, monkeypatch):
    monkeypatch.delenv("OLLAMA_BASE_URL", raising=False)
    reset_settings_cache()
    w = build(db)
    reply = ask(db, w.teacher, "what's the weather in Nairobi")
    assert reply.kind == "answer"
    assert "I did not understand" in reply.text
    assert "who is at high risk in Physics XI" in reply.text
    assert "record payment" not in reply.text  # not offered to a teacher


def test_unknown_request_goes_to_the_local_model_and_nothing_is_done(db, monkeypatch):
    w = build(db)
    with fake_ollama() as server:
        monkeypatch.setenv("OLLAMA_BASE_URL", server.url)
        monkeypatch.setenv("OLLAMA_MODEL", "llama3.2")
        reset_settings_cache()
        server.answer = "A polite holiday note could say: classes resume on Monday."
        reply = ask(db, w.admin, "write a polite note to parents about the holiday")
        assert reply.kind == "model" and reply.status is None
        assert reply.text.startswith("A polite holiday note could say")
        assert "cannot act" in reply.text
        [request] = server.requests
        assert request["path"] == "/api/chat" and request["body"]["model"] == "llama3.2"
        assert request["body"]["stream"] is False
        messages = request["body"]["messages"]
        assert messages[0]["role"] == "system" and "cannot do anything" in messages[0]["content"]
        assert messages[-1] == {
            "role": "user",
            "content": "write a polite note to parents about the holiday",
        }
        # A request the rules understand never reaches the model.
        ask(db, w.admin, "who is at high risk in Physics XI")
        assert len(server.requests) == 1

        server.delay, server.answer = 1.0, "too late"
        monkeypatch.setenv("OLLAMA_TIMEOUT_SECONDS", "0.2")
        reset_settings_cache()
        slow = ask(db, w.admin, "tell a joke about fractions please")
        assert slow.kind == "error" and "did not answer within 0.2 seconds" in slow.text

        server.delay, server.status = 0.0, 500
        failing = ask(db, w.admin, "tell a joke about fractions please")
        assert failing.kind == "error" and "refused the request (HTTP 500" in failing.text
    assert count(db, Payment) == 0 and count(db, Invoice) == 0


def test_invoices_for_a_batch_after_confirm_only(db):
    w = build(db)
    reply = ask(db, w.admin, "generate invoices for batch Math X for December")
    assert reply.kind == "preview", reply.text
    assert "December 2026" in reply.text and "₹10,000.00" in reply.text
    assert sorted(r["Student"] for r in reply.rows) == ["Aman Gupta", "Riya Sharma"]
    assert count(db, Invoice) == 0
    done = confirm(db, w.admin, reply.id)
    assert done.text.startswith("Done: created 2 invoices for December 2026")
    with db.scope(system=True) as s:
        assert set(s.exec(select(Invoice.period, Invoice.student_id)).all()) == {
            ("2026-12", w.riya),
            ("2026-12", w.aman),
        }
    again = ask(db, w.admin, "create invoices for Math X for december")
    assert again.kind == "answer" and again.text.startswith("Nothing to do")
    # A monthly structure is not billed per term: the desk asks for a month instead.
    term = ask(db, w.admin, "bill class XI for term 1")
    assert term.kind == "question" and "billed per month, not per term" in term.text
    level = ask(db, w.admin, "next month")
    assert level.kind == "preview" and "for level XI" in level.text, level.text
    # Aman (in both batches) already has his December invoice from the Math X run.
    assert [r["Student"] for r in level.rows] == ["Riya Verma"]
    assert "1 student already has one and is skipped" in level.text
    refused = ask(db, w.counselor, "generate invoices for level XI for next month")
    assert refused.kind == "error" and "permission" in refused.text
    assert count(db, Invoice) == 2


def test_guardians_are_told_about_balances_once_a_day(db):
    w = build(db)
    with db.scope(w.admin) as s:
        fees.invoice_run(
            s, actor=w.admin, structure_id=w.structure, period="2026-11", batch_id=w.math
        )
    preview = ask(db, w.admin, "notify guardians about fee balances")
    assert preview.kind == "preview"
    assert {r["Student"]: r["On Telegram"] for r in preview.rows} == {
        "Riya Sharma": 1,
        "Aman Gupta": 0,
    }
    assert count(db, Notification) == 0
    done = confirm(db, w.admin, preview.id)
    assert "queued 2 messages" in done.text
    with db.scope(system=True) as s:
        sent = {n.recipient: n for n in s.exec(select(Notification))}
    assert "₹5,000.00" in sent["5001"].text and sent["5001"].status == "queued"
    assert sent[""].status == "suppressed"  # no Telegram chat: kept, not delivered
    second = ask(db, w.admin, "remind parents about dues")
    assert "Nothing new to send" in confirm(db, w.admin, second.id).text
    assert count(db, Notification) == 2
    assert ask(db, w.teacher, "notify guardians about fee balances").kind == "error"


def test_high_risk_students_of_a_batch_or_level(db):
    w = build(db)
    with db.scope(system=True) as s:
        for sid, level, score in (
            (w.aman, "HIGH", 31.0),
            (w.riya_v, "MEDIUM", 60.0),
            (w.riya, "HIGH", 42.0),
        ):
            s.add(
                StudentRiskProfile(
                    institute_id=w.institute.id,
                    student_id=sid,
                    level=level,
                    score=score,
                    reasons=[f"reason {sid}"],
                )
            )
    physics = ask(db, w.teacher, "who is at high risk in Physics XI")
    assert physics.kind == "answer" and [r["Student"] for r in physics.rows] == ["Aman Gupta"]
    math = ask(db, w.admin, "who is at high risk in Math X")
    assert [r["Student"] for r in math.rows] == ["Aman Gupta", "Riya Sharma"]
    level = ask(db, w.admin, "list medium risk students of level XI")
    assert [r["Student"] for r in level.rows] == ["Riya Verma"]
    nobody = ask(db, w.admin, "who is at high risk in Chemistry")
    assert nobody.kind == "error" and "No batch or level" in nobody.text


def test_mark_absent_goes_through_the_attendance_sheet(db):
    w = build(db)
    preview = ask(db, w.teacher, "mark ADM-001 absent today")
    assert preview.kind == "preview", preview.text
    assert "not been taken yet" in preview.text and "other 1 student present" in preview.text
    assert count(db, AttendanceRecord) == 0
    confirm(db, w.teacher, preview.id)
    with db.scope(system=True) as s:
        marks = dict(s.exec(select(AttendanceRecord.student_id, AttendanceRecord.status)).all())
    assert marks == {w.riya: "absent", w.aman: "present"}

    # The sheet is submitted: a teacher may not change it any more, an admin may.
    late = ask(db, w.teacher, "mark Aman absent today")
    assert late.kind == "error" and "only an admin" in late.text
    change = ask(db, w.admin, "mark Aman Gupta absent in Math X")
    assert change.kind == "preview" and "from present to **absent**" in change.text
    # Someone saves the sheet between the preview and Confirm: the version check refuses.
    with clock.frozen(NOW), db.scope(w.admin) as s:
        sheet = attendance.attendance_sheet(s, actor=w.admin, session_id=w.math_session)
        attendance.submit_attendance(
            s,
            actor=w.admin,
            session_id=w.math_session,
            marks=dict(sheet.marks),
            expected_version=sheet.version,
        )
    stale = confirm(db, w.admin, change.id)
    assert stale.kind == "error" and "changed since the preview" in stale.text
    fresh = ask(db, w.admin, "mark Aman Gupta absent in Math X")
    confirm(db, w.admin, fresh.id)
    with db.scope(system=True) as s:
        marks = dict(s.exec(select(AttendanceRecord.student_id, AttendanceRecord.status)).all())
    assert marks == {w.riya: "absent", w.aman: "absent"}
    counselor = ask(db, w.counselor, "mark ADM-001 absent today")
    assert counselor.kind == "error" and "permission" in counselor.text


def test_student_summary_and_history_are_per_user(db):
    w = build(db)
    summary = ask(db, w.admin, "summary of Aman Gupta")
    values = {r[""]: r["Value"] for r in summary.rows}
    assert values["Batches"] == "Math X, Physics XI" and values["Fees owed"] == "₹0.00"
    assert values["Guardians"].startswith("Ravi Gupta") and values["Risk"] == "not computed yet"
    teacher_view = ask(db, w.teacher, "how is ADM-003 doing?")
    assert "Fees owed" not in {r[""] for r in teacher_view.rows}

    with db.scope(w.admin) as s:
        mine = desk.history(s, actor=w.admin)
    assert [m.text for m in mine] == ["summary of Aman Gupta", summary.text]
    # Another institute's admin can neither see nor confirm these messages.
    other = f.actor_for(f.user(db, f.institute(db), "admin"))
    preview = ask(db, w.admin, "record payment 10 for ADM-001 cash ref Z-1")
    with db.scope(other) as s:
        assert desk.history(s, actor=other) == []
    with pytest.raises(NotFound):
        confirm(db, other, preview.id)
    assert count(db, Payment) == 0


def test_an_overpayment_is_a_question_before_it_becomes_advance_credit(db):
    w = build(db)
    bill_october(db, w)  # Riya owes ₹5,000
    question = ask(db, w.admin, "record payment 8000 for ADM-001 by cash ref OVER-1")
    assert question.kind == "question", question.text
    assert "₹8,000.00 is more than the open balance" in question.text
    assert "₹3,000.00 would be held as advance credit" in question.text
    # Giving the amount owed instead: a plain preview with no credit.
    smaller = ask(db, w.admin, "5000")
    assert smaller.kind == "preview" and "advance credit" not in smaller.text
    assert smaller.payload["amount_minor"] == 5000_00
    # Asking again and confirming the credit: the preview says so, Confirm records it.
    ask(db, w.admin, "record payment 8000 for ADM-001 by cash ref OVER-2")
    preview = ask(db, w.admin, "record the rest as advance credit")
    assert preview.kind == "preview", preview.text
    assert "₹3,000.00 more than owed is recorded as advance credit" in preview.text
    assert count(db, Payment) == 0
    done = confirm(db, w.admin, preview.id)
    assert "₹3,000.00 is kept as credit" in done.text, done.text
    with db.scope(system=True) as s:
        [payment] = s.exec(select(Payment)).all()
    assert (payment.amount_minor, payment.credit_minor) == (8000_00, 3000_00)


def _grade_4(db):
    """The seed's school: Grade 4 East and Grade 4 West, both of level Grade 4."""
    from app.academics import service as academics

    w = build(db)
    with clock.frozen(NOW), db.scope(w.admin) as s:
        subject = academics.create_subject(s, actor=w.admin, name="Class teaching").id
        ids = {}
        for stream in ("East", "West"):
            batch = academics.create_batch(
                s, actor=w.admin, name=f"Grade 4 {stream}", subject_id=subject, level="Grade 4"
            )
            kid = academics.create_student(
                s, actor=w.admin, enrollment_no=f"G4-{stream[0]}", name=f"Kid {stream}"
            )
            academics.join_batch(s, actor=w.admin, batch_id=batch.id, student_id=kid.id)
            ids[stream] = batch.id
    return w, ids


@pytest.mark.parametrize(
    ("text", "students"),
    [
        ("Generate invoices for class Grade 4 East", ["Kid East"]),  # the seed's own words
        ("generate invoices for batch Grade 4 East for December", ["Kid East"]),
        ("generate invoices for Grade 4 East for December", ["Kid East"]),
        ("generate invoices for the Grade 4 West batch for December", ["Kid West"]),
        ("generate invoices for class Grade 4 for December", ["Kid East", "Kid West"]),
        ("generate invoices for grade 4 for December", ["Kid East", "Kid West"]),
        ("generate invoices for level Grade 4 for December", ["Kid East", "Kid West"]),
    ],
)
def test_the_batch_or_level_named_is_the_one_billed(db, text, students):
    w, _ = _grade_4(db)
    reply = ask(db, w.admin, text)
    if "December" not in text:  # no period named: this month, the one containing today
        assert "November 2026" in reply.text, reply.text
    assert reply.kind == "preview", reply.text
    assert sorted(r["Student"] for r in reply.rows) == students


def test_an_ambiguous_batch_is_a_question_never_a_guess(db):
    w, ids = _grade_4(db)
    question = ask(db, w.admin, "generate invoices for batch Grade 4 for December")
    assert question.kind == "question", question.text
    assert "2 batches match “Grade 4”" in question.text
    assert [r["Batch"] for r in question.rows] == ["Grade 4 East", "Grade 4 West"]
    answer = ask(db, w.admin, "2")
    assert answer.kind == "preview" and [r["Student"] for r in answer.rows] == ["Kid West"]
    missing = ask(db, w.admin, "generate invoices for class Grade 4 North for December")
    assert missing.kind == "error" and "No batch or level is called “Grade 4 North”" in missing.text
