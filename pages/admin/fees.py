"""Fees: the counter (take a payment, print the receipt), invoice runs, invoices, structures."""

import streamlit as st

from app.academics import service as academics
from app.academics.models import StudentStatus
from app.core import clock
from app.core.money import format_money, to_minor
from app.core.roles import Role
from app.core.text import plural
from app.fees import receipts
from app.fees import service as fees
from app.fees.models import InvoiceStatus
from app.fees.receipts import METHOD_LABELS
from app.ui import auth
from app.ui.components import act, flash, read, reset_widgets, show_flash, table
from app.ui.safe import esc

user, actor = auth.guard(Role.ADMIN)
currency = user.institute_currency
st.title("Fees")
show_flash()
counter, run, invoices_tab, structures_tab = st.tabs(
    ["Counter", "Invoice run", "Invoices", "Fee structures"]
)

with counter:
    search = st.text_input("Find a student (name, enrollment number or phone)", key="fee_search")
    found = read(actor, academics.list_students, search=search, limit=20) if search else []
    if search and not found:
        st.caption("No student matches.")
    if found:
        student = st.selectbox(
            "Student",
            found,
            format_func=lambda s: f"{s.name} · {s.enrollment_no}",
            key="fee_student",
        )
        balance = read(actor, fees.student_balance, student_id=student.id)
        c1, c2 = st.columns(2)
        c1.metric("Owes", format_money(balance.owed_minor, currency))
        c2.metric("Credit", format_money(balance.credit_minor, currency))
        discounts = read(actor, fees.list_discounts, student_id=student.id)
        with st.expander(f"Discounts and scholarships ({len(discounts)})"):
            st.caption("They apply to invoices issued from now on; issued invoices keep theirs.")
            for d in discounts:
                d1, d2 = st.columns([4, 1])
                d1.write(
                    fees.describe_discount(d, currency)
                    + (" · all fee structures" if d.structure_id is None else "")
                )
                if d2.button("End", key=f"end_discount_{d.id}") and act(
                    actor, fees.end_discount, discount_id=d.id
                ):
                    flash("Discount ended for future invoices.")
                    st.rerun()
            with st.form("grant_discount"):
                g1, g2, g3 = st.columns(3)
                kind = g1.selectbox("Kind", ["discount", "scholarship"], key="disc_kind")
                size = g2.text_input("Percent or amount", key="disc_size", placeholder="10% or 500")
                scope_structure = g3.selectbox(
                    "Applies to",
                    [None] + read(actor, fees.list_structures),
                    format_func=lambda x: "Every fee structure" if x is None else x.name,
                    key="disc_structure",
                )
                why = st.text_input("Reason", key="disc_reason", placeholder="Sibling discount")
                if st.form_submit_button("Grant"):
                    size = (size or "").strip()
                    try:
                        value = (
                            {"percent": int(size.rstrip("% "))}
                            if size.endswith("%")
                            else {"amount_minor": to_minor(size or "0", currency)}
                        )
                    except Exception:  # noqa: BLE001 - a plain message instead
                        st.error("Write a percent like 10% or an amount like 500.")
                    else:
                        if act(
                            actor,
                            fees.grant_discount,
                            student_id=student.id,
                            kind=kind,
                            reason=why,
                            structure_id=scope_structure.id if scope_structure else None,
                            **value,
                        ):
                            reset_widgets("disc_size", "disc_reason")
                            flash(f"{kind.capitalize()} granted to {student.name}.")
                            st.rerun()
        with st.form("take_payment"):
            p1, p2, p3 = st.columns(3)
            amount = p1.text_input("Amount", key="pay_amount", placeholder="5000")
            method = p2.selectbox(
                "Method", list(METHOD_LABELS), format_func=METHOD_LABELS.get, key="pay_method"
            )
            reference = p3.text_input(
                "Reference", key="pay_reference", placeholder="M-Pesa code or slip number"
            )
            received = st.date_input(
                "Received on", value=clock.today_in(user.institute_timezone), key="pay_date"
            )
            as_credit = st.checkbox(
                "Record the rest as advance credit",
                key="pay_credit",
                help="Tick only when the payer means to pay ahead: any amount above what is "
                "owed is then held as credit for later invoices. Unticked, an amount above the "
                "balance is refused.",
            )
            if st.form_submit_button("Take payment", type="primary"):
                try:
                    minor = to_minor(amount or "0", currency)
                except Exception as exc:  # noqa: BLE001 - shown as it is
                    st.error(getattr(exc, "message", str(exc)))
                else:
                    paid = act(
                        actor,
                        fees.record_payment,
                        immediate=True,
                        student_id=student.id,
                        amount_minor=minor,
                        method=method,
                        reference=reference,
                        received_on=received,
                        allow_credit=as_credit,
                    )
                    if paid:
                        st.session_state["last_payment"] = paid.id
                        reset_widgets("pay_amount", "pay_reference", "pay_credit")
                        flash(
                            f"Received {format_money(paid.amount_minor, currency)} from {student.name}: "
                            f"receipt {paid.receipt_no}. "
                            + " ".join(f"{x}." for x in receipts.receipt_summary(paid, currency))
                        )
                        st.rerun()
        last = st.session_state.get("last_payment")
        for payment in read(actor, receipts.payments_of, student_id=student.id, limit=10):
            r1, r2 = st.columns([3, 1])
            r1.write(
                f"Receipt {esc(payment.receipt_no)} · {payment.received_on:%d %b %Y} · "
                f"{format_money(payment.amount_minor, currency)} · {esc(METHOD_LABELS[payment.method])} {esc(payment.reference)}"
                + "".join(f"  \n{esc(x)}" for x in receipts.receipt_summary(payment, currency))
            )
            r2.download_button(
                "Receipt PDF",
                data=read(actor, receipts.receipt_pdf, payment_id=payment.id),
                file_name=f"receipt-{payment.receipt_no}.pdf",
                mime="application/pdf",
                key=f"receipt_{payment.id}",
                type="primary" if payment.id == last else "secondary",
            )

structures = read(actor, fees.list_structures)
with run:
    if not structures:
        st.info("Create a fee structure first.")
    else:
        structure = st.selectbox(
            "Fee structure", structures, format_func=lambda s: s.name, key="run_structure"
        )
        items = read(actor, fees.structure_items, structure_id=structure.id)
        period = st.text_input(
            "Period",
            value=read(actor, fees.current_period, structure_id=structure.id),
            key=f"run_period_{structure.id}",
            help="This month, or the term containing today for a per-term structure "
            "(YYYY-MM or YYYY-Tn). Terms start on the days set under Fee structures.",
        )
        batches = read(actor, academics.list_batches)
        target = st.selectbox(
            "Who",
            [None] + batches,
            format_func=lambda b: "Every active student" if b is None else b.name,
            key="run_batch",
        )
        optional = [i for i in items if i.optional]
        chosen = (
            st.multiselect(
                "Optional items", optional, format_func=lambda i: i.name, key="run_optional"
            )
            if optional
            else []
        )
        scope = (
            {"batch_id": target.id}
            if target
            else {
                "student_ids": [
                    s.id
                    for s in read(
                        actor,
                        academics.list_students,
                        status=StudentStatus.ACTIVE.value,
                        limit=100_000,
                    )
                ]
            }
        )
        plan = act(
            actor,
            fees.preview_invoice_run,
            structure_id=structure.id,
            period=period,
            optional_item_ids=[i.id for i in chosen],
            **scope,
        )
        if plan is not None:
            st.write(
                f"**{plural(len(plan.students), 'new invoice')}** of "
                f"**{format_money(plan.per_student_minor, currency)}** "
                f"(total {format_money(plan.total_minor, currency)}); "
                f"{plural(plan.already, 'student')} already invoiced for {esc(plan.period or period)}."
            )
            if plan.discount_minor:
                st.caption(
                    f"Discounts and scholarships take {format_money(plan.discount_minor, currency)} off "
                    + (
                        "this invoice."
                        if len(plan.students) == 1
                        else f"{esc(sum(1 for s in plan.students if plan.discount_of(s)))} of these "
                        f"{len(plan.students)} invoices."
                    )
                )
            if len(plan.steps) > 1:
                st.caption(
                    "Payable in parts: "
                    + ", ".join(
                        f"{esc(p)}% after {esc(d)} days" if d else f"{esc(p)}% on issue"
                        for p, d in plan.steps
                    )
                )
            if plan.students and st.button(
                f"Create {plural(len(plan.students), 'invoice')}", key="run_confirm", type="primary"
            ):
                done = act(
                    actor,
                    fees.invoice_run,
                    structure_id=structure.id,
                    period=period,
                    optional_item_ids=[i.id for i in chosen],
                    **scope,
                )
                if done:
                    flash(f"Created {plural(len(done.students), 'invoice')} for {done.period}.")
                    st.rerun()

with invoices_tab:
    status = st.selectbox("Status", ["All", *(s.value for s in InvoiceStatus)], key="inv_status")
    rows = read(actor, fees.list_invoices, status=None if status == "All" else status)
    table(
        [
            {
                "#": i.id,
                "Student": i.student_id,
                "Period": i.period,
                "Due": i.due_on,
                "Total": format_money(i.total_minor, currency),
                "Paid": format_money(i.paid_minor, currency),
                "Status": i.status.replace("_", " "),
            }
            for i in rows
        ],
        key="invoices_table",
    )
    if rows:
        detail = st.selectbox(
            "Invoice details",
            [None] + [i.id for i in rows],
            format_func=lambda x: "Choose an invoice" if x is None else f"#{x}",
            key="inv_detail",
        )
        if detail:
            invoice, lines, parts = read(actor, fees.invoice_detail, invoice_id=detail)
            table(
                [
                    {"Line": x.description, "Amount": format_money(x.amount_minor, currency)}
                    for x in lines
                ],
                key="inv_lines",
            )
            table(
                [
                    {
                        "Part": p.seq,
                        "Due": p.due_on,
                        "Amount": format_money(p.amount_minor, currency),
                    }
                    for p in parts
                ],
                key="inv_parts",
            )
    unpaid = [i for i in rows if i.status == InvoiceStatus.ISSUED and not i.paid_minor]
    if unpaid:
        with st.form("void_invoice"):
            v1, v2 = st.columns([1, 2])
            pick = v1.selectbox("Void invoice", [i.id for i in unpaid], key="void_pick")
            reason = v2.text_input("Reason", key="void_reason")
            if st.form_submit_button("Void") and act(
                actor, fees.void_invoice, invoice_id=pick, reason=reason
            ):
                flash(f"Invoice #{pick} is void; the ledger shows the reversal.")
                st.rerun()

with structures_tab:
    for s in structures:
        plan_steps = read(actor, fees.instalment_plan, structure_id=s.id)
        when = (
            ", ".join(f"{p.percent}% after {p.due_days} days" for p in plan_steps)
            if plan_steps
            else f"due {s.due_days} days after issue"
        )
        st.markdown(f"**{esc(s.name)}** · per {esc(s.period_kind)} · {esc(when)}")
        table(
            [
                {
                    "Item": i.name,
                    "Amount": format_money(i.amount_minor, currency),
                    "Optional": i.optional,
                }
                for i in read(actor, fees.structure_items, structure_id=s.id)
            ],
            key=f"items_{s.id}",
        )
    if structures:
        with st.form("instalment_plan"):
            st.subheader("Instalment plan")
            st.caption(
                "Split each invoice into parts: a share and the days after issue it is due. "
                "Shares add up to 100%; leave every share empty for one payment. "
                "Invoices already issued keep their schedule."
            )
            target_structure = st.selectbox(
                "Fee structure", structures, format_func=lambda x: x.name, key="ip_structure"
            )
            steps = []
            for n in range(4):
                i1, i2 = st.columns(2)
                share = i1.number_input(
                    f"Share {n + 1} (%)", min_value=0, max_value=100, value=0, key=f"ip_pct_{n}"
                )
                days = i2.number_input(
                    f"Due after (days) {n + 1}",
                    min_value=0,
                    max_value=366,
                    value=0,
                    key=f"ip_days_{n}",
                )
                if share:
                    steps.append((int(share), int(days)))
            if (
                st.form_submit_button("Save plan")
                and act(
                    actor, fees.set_instalment_plan, structure_id=target_structure.id, steps=steps
                )
                is not None
            ):
                flash(f"Instalment plan saved for {target_structure.name}.")
                st.rerun()
    with st.form("term_starts"):
        st.subheader("Billing terms")
        st.caption(
            "The day each term starts, month-day in year order (01-01,07-01 is two terms: "
            "January–June is T1, July–December is T2). A per-term structure bills the term "
            "containing the day of the run; issued invoices keep their period."
        )
        starts = st.text_input(
            "Terms start on", value=read(actor, fees.term_starts), key="term_starts"
        )
        if st.form_submit_button("Save terms") and act(actor, fees.set_term_starts, starts=starts):
            flash("Billing terms saved.")
            st.rerun()
    with st.form("new_structure"):
        st.subheader("New fee structure")
        n1, n2, n3 = st.columns(3)
        name = n1.text_input("Name", key="fs_name", placeholder="Term 1 fees")
        kind = n2.selectbox("Billed per", ["term", "month"], key="fs_kind")
        due_days = n3.number_input(
            "Due after (days)", min_value=0, max_value=120, value=14, key="fs_due"
        )
        lines = []
        for n in range(5):
            l1, l2, l3 = st.columns([2, 1, 1])
            item_name = l1.text_input(
                f"Item {n + 1}", key=f"fs_item_{n}", placeholder="Tuition" if n == 0 else ""
            )
            item_amount = l2.text_input(f"Amount {n + 1}", key=f"fs_amount_{n}")
            item_optional = l3.checkbox("Optional", key=f"fs_optional_{n}")
            if item_name.strip():
                lines.append((item_name, item_amount, item_optional))
        if st.form_submit_button("Create fee structure", type="primary"):
            try:
                items = [
                    {"name": a, "amount_minor": to_minor(b or "0", currency), "optional": c}
                    for a, b, c in lines
                ]
            except Exception as exc:  # noqa: BLE001 - shown as it is
                st.error(getattr(exc, "message", str(exc)))
            else:
                if act(
                    actor,
                    fees.create_structure,
                    name=name,
                    items=items,
                    period_kind=kind,
                    due_days=int(due_days),
                ):
                    flash(f"Created {name}.")
                    st.rerun()
