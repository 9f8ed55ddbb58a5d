"""My fees (students, read-only): invoices, payments and receipts."""

import streamlit as st

from app.academics import service as academics
from app.core.errors import NotFound
from app.core.money import format_money
from app.core.roles import Role
from app.fees import receipts
from app.fees import service as fees
from app.fees.models import OPEN_INVOICE_STATUSES
from app.fees.receipts import METHOD_LABELS
from app.ui import auth
from app.ui.components import read, table
from app.ui.safe import esc

user, actor = auth.guard(Role.STUDENT)
currency = user.institute_currency
st.title("My fees")
try:
    read(actor, academics.my_student)
except NotFound as exc:
    st.info(exc.message)
    st.stop()
mine = read(actor, fees.my_invoices)
owed = sum(i.total_minor - i.paid_minor for i in mine if i.status in OPEN_INVOICE_STATUSES)
st.metric("Balance to pay", format_money(owed, currency))
table(
    [
        {
            "Period": i.period,
            "Due": i.due_on,
            "Amount": format_money(i.total_minor, currency),
            "Paid": format_money(i.paid_minor, currency),
            "Status": i.status.replace("_", " "),
        }
        for i in mine
    ],
    key="my_invoices",
)
open_invoices = [i for i in mine if i.status in OPEN_INVOICE_STATUSES]
for invoice in open_invoices:
    _, lines, parts = read(actor, fees.invoice_detail, invoice_id=invoice.id)
    with st.expander(f"{esc(invoice.period)}: what it is for and when it is due"):
        for line in lines:
            st.write(f"{esc(line.description)}: {format_money(line.amount_minor, currency)}")
        if len(parts) > 1:
            st.caption(
                " · ".join(
                    f"Part {esc(p.seq)}: {format_money(p.amount_minor, currency)} by {p.due_on:%d %b %Y}"
                    for p in parts
                )
            )
st.subheader("Payments")
for payment in read(actor, receipts.payments_of):
    r1, r2 = st.columns([3, 1])
    r1.write(
        f"Receipt {esc(payment.receipt_no)} · {payment.received_on:%d %b %Y} · "
        f"{format_money(payment.amount_minor, currency)} · {esc(METHOD_LABELS[payment.method])}"
        + "".join(f"  \n{esc(x)}" for x in receipts.receipt_summary(payment, currency))
    )
    r2.download_button(
        "Receipt PDF",
        data=read(actor, receipts.receipt_pdf, payment_id=payment.id),
        file_name=f"receipt-{payment.receipt_no}.pdf",
        mime="application/pdf",
        key=f"my_receipt_{payment.id}",
    )
