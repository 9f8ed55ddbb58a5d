"""Fee alerts: staged guardian reminders before and after the due date, and fee_overdue actions.

Each (invoice, stage) produces at most one message per guardian (the outbox dedupe key), and
each overdue invoice at most one pending action, however often the job runs.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from app.academics.models import Guardian, Student
from app.core import clock
from app.core.money import format_money
from app.fees.models import Invoice
from app.identity.models import Institute
from app.inbox import service as inbox
from app.notify import service as notify


def send_fee_alerts(session: Session, *, institute_id: int) -> dict:
    """For one institute: reminders N days before due and N days after, overdue actions."""
    institute = session.get(Institute, institute_id)
    today = clock.today_in(institute.timezone)
    rules = notify.effective_rules(session, institute_id=institute_id)
    before = today + timedelta(days=rules.fee_reminder_days_before)
    after = today - timedelta(days=rules.fee_reminder_days_after)
    rows = session.exec(
        select(Invoice, Student.name)
        .join(Student, Student.id == Invoice.student_id)
        .where(
            Invoice.institute_id == institute_id,
            col(Invoice.status).in_(["issued", "partially_paid"]),
            (Invoice.due_on == before) | (Invoice.due_on <= after) | (Invoice.due_on < today),
        )
    ).all()
    if not rows:
        return {"reminders": 0, "actions": 0}
    guardians: dict[int, list[Guardian]] = {}
    for g in session.exec(
        select(Guardian).where(
            Guardian.institute_id == institute_id,
            col(Guardian.student_id).in_({i.student_id for i, _ in rows}),
        )
    ):
        guardians.setdefault(g.student_id, []).append(g)
    messages, actions = [], 0
    for invoice, name in rows:
        owed = format_money(invoice.total_minor - invoice.paid_minor, institute.currency)
        if invoice.due_on == before:
            stage, text = (
                "due_soon",
                (
                    f"Reminder: {owed} of fees for {name} ({invoice.period}) is due on "
                    f"{invoice.due_on:%d %b %Y}."
                ),
            )
        elif invoice.due_on <= after:
            stage, text = (
                "overdue",
                (
                    f"{owed} of fees for {name} ({invoice.period}) was due on "
                    f"{invoice.due_on:%d %b %Y} and is still unpaid. Please pay or contact us."
                ),
            )
        else:
            stage, text = None, None
        if stage:
            messages += [
                {
                    "channel": "telegram",
                    "recipient": g.telegram_chat_id,
                    "text": text,
                    "dedupe_key": f"fee:{invoice.id}:{stage}:{g.id}",
                }
                for g in guardians.get(invoice.student_id, [])
            ]
        if invoice.due_on < today:
            inbox.open_action(
                session,
                institute_id=institute_id,
                type="fee_overdue",
                student_id=invoice.student_id,
                reason=f"{name} owes {owed} for {invoice.period}, due {invoice.due_on:%d %b %Y}.",
                dedupe_key=f"fee_overdue:{invoice.id}",
            )
            actions += 1
    queued = notify.enqueue_many(session, institute_id=institute_id, messages=messages)
    return {"reminders": queued, "actions": actions}
