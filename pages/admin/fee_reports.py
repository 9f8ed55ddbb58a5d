"""Fee reports: trial balance, AR aging, collections, defaulters — each with a CSV download."""

from datetime import timedelta

import pandas as pd
import streamlit as st

from app.core import clock
from app.core.money import format_money
from app.core.roles import Role
from app.fees import ledger, reports
from app.fees.receipts import METHOD_LABELS
from app.ui import auth
from app.ui.components import act, flash, read, show_flash, table_with_csv

user, actor = auth.guard(Role.ADMIN)
currency = user.institute_currency
st.title("Fee reports")
show_flash()


def money(minor: int) -> str:
    return format_money(minor, currency)


# Credit-normal accounts (liabilities, income, equity) are shown with their natural sign:
# fees earned and credit held read as positive amounts.
CREDIT_NORMAL = {"liability", "income", "equity"}


def natural(minor: int, account_type: str) -> int:
    return -minor if account_type in CREDIT_NORMAL else minor


def show(frame: pd.DataFrame, name: str) -> None:
    if frame.empty:
        st.caption("Nothing to show yet.")
        return
    table_with_csv(frame, file_name=name, key=f"report_{name}")


st.subheader("Trial balance")
rows = read(actor, ledger.trial_balance)
show(
    pd.DataFrame(
        [
            {
                "Account": f"{r.code} {r.name}",
                "Type": r.type,
                "Debit": money(r.debit),
                "Credit": money(r.credit),
                "Balance": money(natural(r.balance, r.type)),
                "Normal side": "credit" if r.type in CREDIT_NORMAL else "debit",
            }
            for r in rows
        ]
    ),
    "trial-balance",
)
debits, credits = sum(r.debit for r in rows), sum(r.credit for r in rows)
(st.success if debits == credits else st.error)(
    f"Debits {money(debits)} · credits {money(credits)}"
    + (" — balanced." if debits == credits else " — NOT balanced.")
)

with st.expander("Account ledger"):
    code = (
        st.selectbox(
            "Account",
            [r.code for r in rows],
            format_func=lambda c: next(f"{r.code} {r.name}" for r in rows if r.code == c),
            key="ledger_account",
        )
        if rows
        else None
    )
    if code:
        kind = next(r.type for r in rows if r.code == code)
        show(
            pd.DataFrame(
                [
                    {
                        "Date": r.entry_date,
                        "Entry": r.entry_id,
                        "Memo": r.memo,
                        "Debit": money(r.debit),
                        "Credit": money(r.credit),
                        "Balance": money(natural(r.running, kind)),
                    }
                    for r in read(actor, ledger.account_ledger, code=code)
                ]
            ),
            f"ledger-{code}",
        )

st.subheader("Receivables by age")
aging = read(actor, reports.ar_aging)
show(pd.DataFrame([{"Days past due": k, "Open": money(v)} for k, v in aging.items()]), "ar-aging")

st.subheader("Collections")
c1, c2 = st.columns(2)
today = clock.today_in(user.institute_timezone)  # the institute's day, not the server's
start = c1.date_input("From", value=today - timedelta(days=365), key="col_from")
end = c2.date_input("To", value=today, key="col_to")
show(
    pd.DataFrame(
        [
            {
                "Month": c.period,
                "Method": METHOD_LABELS.get(c.method, c.method),
                "Payments": c.count,
                "Amount": money(c.amount_minor),
            }
            for c in read(actor, reports.collections, start=start, end=end)
        ]
    ),
    "collections",
)

st.subheader("Defaulters")
show(
    pd.DataFrame(
        [
            {
                "Enrollment": d.enrollment_no,
                "Student": d.name,
                "Overdue": money(d.overdue_minor),
                "Oldest due": d.oldest_due,
                "Days overdue": d.days_overdue,
            }
            for d in read(actor, reports.defaulters)
        ]
    ),
    "defaulters",
)

st.subheader("Accounts")
with st.form("add_account"):
    a1, a2, a3 = st.columns([1, 2, 1])
    code = a1.text_input("Code", key="acct_code", placeholder="5100")
    name = a2.text_input("Name", key="acct_name", placeholder="Rent")
    kind = a3.selectbox(
        "Type", ["expense", "income", "asset", "liability", "equity"], key="acct_type"
    )
    if st.form_submit_button("Add account"):
        if act(actor, ledger.add_account, code=code, name=name, type=kind):
            flash(f"Added account {code} {name}.")
            st.rerun()
