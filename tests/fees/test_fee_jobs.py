"""Fee reminders are staged and sent once; overdue invoices open one action; monthly fees run once."""

from datetime import UTC, date, datetime

from sqlmodel import func, select

from app.academics import service as academics
from app.core import clock
from app.fees import jobs
from app.fees import service as fees
from app.inbox.models import PendingAction
from app.notify.models import Notification
from tests.fees.test_ledger import setup_institute


def _count(db, model, *where):
    with db.scope(system=True) as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def test_staged_reminders_and_overdue_actions_once(db):
    inst, admin, ids, structure = setup_institute(db, students=2)
    with db.scope(admin) as s:
        academics.add_guardian(
            s, actor=admin, student_id=ids[0], name="Mum", telegram_chat_id="111"
        )
        fees.invoice_run(
            s,
            actor=admin,
            structure_id=structure,
            period="2026-T1",
            student_ids=ids,
            issued_on=date(2026, 3, 1),
        )  # due 15 March
    with clock.frozen(datetime(2026, 3, 12, 6, 0, tzinfo=UTC)):  # three days before (default)
        for _ in range(2):
            jobs.fee_alerts(engine=db.engine)
    texts = [n.text for n in _notifications(db)]
    assert len(texts) == 1 and texts[0].startswith(
        "Reminder: ₹700.00 of fees for Payer 0 (2026-T1) is due on 15 Mar 2026"
    )
    with clock.frozen(datetime(2026, 3, 22, 6, 0, tzinfo=UTC)):  # seven days after (default)
        for _ in range(2):
            jobs.fee_alerts(engine=db.engine)
    assert len(_notifications(db)) == 2 and "still unpaid" in _notifications(db)[-1].text
    assert (
        _count(db, PendingAction, PendingAction.type == "fee_overdue") == 2
    )  # one per overdue invoice


def _notifications(db):
    with db.scope(system=True) as s:
        return list(s.exec(select(Notification).order_by(Notification.id)))


def test_monthly_fees_for_active_batch_members_once_a_month(db):
    inst, admin, ids, _ = setup_institute(db, students=3)
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Coding")
        batch = academics.create_batch(s, actor=admin, name="Coding A", subject_id=subject.id)
        for sid in ids[:2]:
            academics.join_batch(s, actor=admin, batch_id=batch.id, student_id=sid)
        fees.create_structure(
            s,
            actor=admin,
            name="Monthly coaching",
            period_kind="month",
            items=[{"name": "Coaching", "amount_minor": 1500_00}],
        )
    with clock.frozen(datetime(2026, 11, 5, 6, 0, tzinfo=UTC)):
        assert jobs.monthly_fees(engine=db.engine)["created"] == 2
        assert jobs.monthly_fees(engine=db.engine)["created"] == 0
    from app.fees.models import Invoice

    assert _count(db, Invoice, Invoice.period == "2026-11") == 2
