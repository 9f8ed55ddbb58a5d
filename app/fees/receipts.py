"""Receipt PDFs (fpdf2): institute, sequential receipt number, student, amount, what it paid."""

from __future__ import annotations

from sqlmodel import Session, select

from app.academics.models import Student
from app.academics.service import my_student_ids
from app.core.errors import NotFound
from app.core.money import format_money
from app.core.ownership import get_owned
from app.core.pdf import FONT, document
from app.core.roles import Role
from app.core.tenancy import Actor
from app.fees.models import Invoice, InvoiceLine, Payment, PaymentAllocation
from app.identity.models import Institute

METHOD_LABELS = {
    "cash": "Cash",
    "bank": "Bank transfer",
    "card": "Card",
    "upi": "UPI",
    "mpesa": "M-Pesa",
    "other": "Other",
}


def receipt_summary(payment: Payment, currency: str, *, plain: bool = False) -> list[str]:
    """What the receipt says after the amount: the balance still owed after this payment and
    any advance credit (the same words on the page and in the PDF; `plain`, as the printed
    receipt has it: the currency code, INR 450.50, instead of the symbol)."""

    def money(minor: int) -> str:
        return format_money(minor, currency, plain=plain)

    lines = []
    if payment.owed_after_minor is not None:
        lines.append(f"Balance still owed after this payment: {money(payment.owed_after_minor)}")
    if payment.credit_minor:
        lines.append(
            f"Held as advance credit: {money(payment.credit_minor)} (used for later invoices)"
        )
    return lines


def receipt_pdf(session: Session, *, actor: Actor, payment_id: int) -> bytes:
    """The receipt of one payment as PDF bytes (admin, or the student it belongs to)."""
    actor.require(Role.ADMIN, Role.STUDENT)
    payment = get_owned(session, Payment, actor, payment_id, "payment")
    student = session.get(Student, payment.student_id)
    if actor.role == Role.STUDENT and student.user_id != actor.user_id:
        raise NotFound("That payment does not exist.")
    institute = session.get(Institute, payment.institute_id)
    currency = institute.currency
    paid_for = session.exec(
        select(Invoice.period, InvoiceLine.description, PaymentAllocation.amount_minor)
        .join(InvoiceLine, InvoiceLine.id == PaymentAllocation.invoice_line_id)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(
            PaymentAllocation.institute_id == payment.institute_id,
            PaymentAllocation.payment_id == payment.id,
        )
        .order_by(PaymentAllocation.id)
    ).all()
    pdf = document(page_format="A5", title=f"Receipt {payment.receipt_no}")
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 10, institute.name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 11)
    pdf.cell(0, 8, f"Receipt No. {payment.receipt_no}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, f"Date: {payment.received_on:%d %b %Y}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.cell(
        0,
        6,
        f"Received from: {student.name} ({student.enrollment_no})",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(
        0,
        6,
        f"Method: {METHOD_LABELS.get(payment.method, payment.method)} - reference {payment.reference}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font(FONT, "B", 13)
    pdf.cell(
        0,
        10,
        f"Amount: {format_money(payment.amount_minor, currency, plain=True)}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font(FONT, "", 10)
    if paid_for:
        pdf.cell(0, 6, "Applied to:", new_x="LMARGIN", new_y="NEXT")
        for period, description, amount in paid_for:
            pdf.cell(
                0,
                5,
                f"  {period} {description}: {format_money(amount, currency, plain=True)}",
                new_x="LMARGIN",
                new_y="NEXT",
            )
    for line in receipt_summary(payment, currency, plain=True):
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")  # wraps on A5
    pdf.ln(6)
    pdf.set_font(FONT, "", 8)
    pdf.cell(0, 5, "Thank you. Please keep this receipt.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def payments_of(
    session: Session, *, actor: Actor, student_id: int | None = None, limit: int = 200
) -> list[Payment]:
    """Payments (admin: any student's; a student: their own)."""
    actor.require(Role.ADMIN, Role.STUDENT)
    query = select(Payment).where(Payment.institute_id == actor.institute_scope())
    if actor.role == Role.STUDENT:
        query = query.where(Payment.student_id.in_(my_student_ids(actor)))
    elif student_id is not None:
        query = query.where(Payment.student_id == student_id)
    return list(session.exec(query.order_by(Payment.id.desc()).limit(limit)))
