"""Fee alerts: staged guardian reminders before and after the due date, and fee_overdue actions.

Invoices paid in instalments are chased part by part. Each (invoice, instalment, stage)
produces at most one message per guardian (the outbox dedupe key), and
each overdue invoice at most one pending action, however often the job runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.academics.models import Guardian, Student, StudentStatus
from app.core import audit, clock
from app.core.money import format_money
from app.core.roles import Role
from app.core.tenancy import Actor
from app.fees.common import current_members_query
from app.fees.models import OPEN_INVOICE_VALUES, Invoice, InvoiceInstalment
from app.fees.reports import open_part
from app.identity.models import Institute
from app.inbox import service as inbox
from app.notify import service as notify


def send_fee_alerts_internal(session: Session, *, institute_id: int) -> dict:
    """For one institute: reminders N days before due and N days after, overdue actions."""
    institute = session.get(Institute, institute_id)
    today = clock.today_in(institute.timezone)
    rules = notify.effective_rules_internal(session, institute_id=institute_id)
    before = today + timedelta(days=rules.fee_reminder_days_before)
    after = today - timedelta(days=rules.fee_reminder_days_after)
    rows = session.exec(
        select(Invoice, InvoiceInstalment, open_part(), Student.name)
        .join(Invoice, Invoice.id == InvoiceInstalment.invoice_id)
        .join(Student, Student.id == Invoice.student_id)
        .where(
            InvoiceInstalment.institute_id == institute_id,
            Invoice.institute_id == institute_id,
            col(Invoice.status).in_(OPEN_INVOICE_VALUES),
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
        inbox.open_action_internal(
            session,
            institute_id=institute_id,
            type="fee_overdue",
            student_id=invoice.student_id,
            reason=f"{name} owes {owed} for {invoice.period}, due {part.due_on:%d %b %Y}.",
            dedupe_key=f"fee_overdue:{invoice.id}",
        )
    queued = notify.enqueue_many_internal(session, institute_id=institute_id, messages=messages)
    return {"reminders": queued, "actions": len(overdue_invoices)}


# ------------------------------------------------------------------ balance notices on request


@dataclass(frozen=True)
class BalanceNotice:
    """One student with an open balance and what their guardians are told."""

    student_id: int
    enrollment_no: str
    name: str
    owed_minor: int
    guardians: int  # guardians on record
    reachable: int  # of them, with a Telegram chat linked
    text: str


def balance_notices(
    session: Session, *, actor: Actor, batch_id: int | None = None, level: str | None = None
) -> list[BalanceNotice]:
    """Every active student (of a batch or level, or all) who owes on open invoices, with the
    message their guardians would receive; writes nothing. Admins and counselors."""
    actor.require(Role.ADMIN, Role.COUNSELOR)
    institute_id = actor.institute_scope()
    institute = session.get(Institute, institute_id)
    today = clock.today_in(institute.timezone)
    owed = func.sum(Invoice.total_minor - Invoice.paid_minor)
    query = (
        select(Student.id, Student.enrollment_no, Student.name, owed)
        .join(Invoice, Invoice.student_id == Student.id)
        .where(
            Student.institute_id == institute_id,
            Invoice.institute_id == institute_id,
            Student.status == StudentStatus.ACTIVE.value,
            col(Invoice.status).in_(OPEN_INVOICE_VALUES),
        )
        .group_by(Student.id, Student.enrollment_no, Student.name)
        .having(owed > 0)
        .order_by(owed.desc(), Student.name)
    )
    if batch_id is not None or level:
        members = current_members_query(institute_id, batch_id=batch_id, level=level)
        query = query.where(col(Student.id).in_(members))
    rows = session.exec(query).all()
    counts: dict[int, list[int]] = {}
    if rows:
        for student_id, chat in session.exec(
            select(Guardian.student_id, Guardian.telegram_chat_id).where(
                Guardian.institute_id == institute_id,
                col(Guardian.student_id).in_([r[0] for r in rows]),
            )
        ):
            pair = counts.setdefault(student_id, [0, 0])
            pair[0] += 1
            pair[1] += 1 if chat else 0
    return [
        BalanceNotice(
            sid,
            enrollment_no,
            name,
            int(amount),
            *counts.get(sid, [0, 0]),
            text=(
                f"{institute.name}: {format_money(int(amount), institute.currency)} of fees for "
                f"{name} is outstanding as of {today:%d %b %Y}. Please pay or contact us."
            ),
        )
        for sid, enrollment_no, name, amount in rows
    ]


def notify_balances(
    session: Session, *, actor: Actor, batch_id: int | None = None, level: str | None = None
) -> int:
    """Message each guardian of every student who owes (of a batch or level, or all) about the
    balance; at most once per guardian and student a day, however often it is asked. Returns how
    many messages were queued."""
    notices = balance_notices(session, actor=actor, batch_id=batch_id, level=level)
    institute_id = actor.institute_scope()
    if not notices:
        return 0
    today = clock.today_in(session.get(Institute, institute_id).timezone)
    by_student = {n.student_id: n for n in notices}
    messages = [
        {
            "channel": "telegram",
            "recipient": g.telegram_chat_id,
            "text": by_student[g.student_id].text,
            "dedupe_key": f"fee_balance:{g.student_id}:{today.isoformat()}:{g.id}",
        }
        for g in session.exec(
            select(Guardian)
            .where(
                Guardian.institute_id == institute_id,
                col(Guardian.student_id).in_(list(by_student)),
            )
            .order_by(Guardian.id)
        )
    ]
    queued = notify.enqueue_many_internal(session, institute_id=institute_id, messages=messages)
    audit.record(
        session,
        actor=actor,
        action="fees.balance_notices",
        detail={
            "students": len(notices),
            "queued": queued,
            "batch_id": batch_id,
            "level": level,
        },
    )
    return queued
