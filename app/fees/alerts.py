"""Fee alerts: staged guardian reminders before and after the due date, and fee_overdue actions.

Invoices paid in instalments are chased part by part. Each (invoice, instalment, stage)
produces at most one message per guardian (the outbox dedupe key), and
each overdue invoice at most one pending action, however often the job runs.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from app.academics.models import Guardian, Student
from app.core import clock
from app.core.money import format_money
from app.fees.models import Invoice, InvoiceInstalment
from app.fees.reports import open_part
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
        select(Invoice, InvoiceInstalment, open_part(), Student.name)
        .join(Invoice, Invoice.id == InvoiceInstalment.invoice_id)
        .join(Student, Student.id == Invoice.student_id)
        .where(
            InvoiceInstalment.institute_id == institute_id,
            Invoice.institute_id == institute_id,
            col(Invoice.status).in_(["issued", "partially_paid"]),
            (InvoiceInstalment.due_on == before) | (InvoiceInstalment.due_on < today),
            open_part() > 0,
        )
        .order_by(Invoice.id, InvoiceInstalment.seq)
    ).all()
    if not rows:
        return {"reminders": 0, "actions": 0}
    guardians: dict[int, list[Guardian]] = {}
    for g in session.exec(
        select(Guardian).where(
            Guardian.institute_id == institute_id,
            col(Guardian.student_id).in_({i.student_id for i, *_ in rows}),
        )
    ):
        guardians.setdefault(g.student_id, []).append(g)
    messages, overdue_invoices = [], {}
    for invoice, part, open_minor, name in rows:
        owed = format_money(int(open_minor), institute.currency)
        what = f"fees for {name} ({invoice.period}"
        what += (
            f", instalment {part.seq})"
            if part.seq > 1 or part.amount_minor < invoice.total_minor
            else ")"
        )
        if part.due_on == before:
            stage = "due_soon"
            text = f"Reminder: {owed} of {what} is due on {part.due_on:%d %b %Y}."
        elif part.due_on <= after:
            stage = "overdue"
            text = (
                f"{owed} of {what} was due on {part.due_on:%d %b %Y} and is still unpaid. "
                "Please pay or contact us."
            )
        else:
            stage = None
        if stage:
            # The first part keeps the key invoices had before instalments existed.
            key = (
                f"fee:{invoice.id}:{stage}"
                if part.seq == 1
                else f"fee:{invoice.id}:{part.seq}:{stage}"
            )
            messages += [
                {
                    "channel": "telegram",
                    "recipient": g.telegram_chat_id,
                    "text": text,
                    "dedupe_key": f"{key}:{g.id}",
                }
                for g in guardians.get(invoice.student_id, [])
            ]
        if part.due_on < today and invoice.id not in overdue_invoices:
            overdue_invoices[invoice.id] = (invoice, part, owed, name)
    for invoice, part, owed, name in overdue_invoices.values():
        inbox.open_action(
            session,
            institute_id=institute_id,
            type="fee_overdue",
            student_id=invoice.student_id,
            reason=f"{name} owes {owed} for {invoice.period}, due {part.due_on:%d %b %Y}.",
            dedupe_key=f"fee_overdue:{invoice.id}",
        )
    queued = notify.enqueue_many(session, institute_id=institute_id, messages=messages)
    return {"reminders": queued, "actions": len(overdue_invoices)}
