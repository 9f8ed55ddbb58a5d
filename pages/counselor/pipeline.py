"""Pipeline (counselor's landing page): follow-ups due, the board of inquiries by status (or a
sortable table), one inquiry's history, score and next steps — log a contact, plan the next
one, change status, convert to a student, merge a duplicate — plus new inquiries and import."""

from datetime import timedelta
from typing import Any

import streamlit as st

from app.core import clock
from app.core.errors import ValidationError
from app.core.roles import Role
from app.core.text import plural
from app.crm import importer
from app.crm import service as crm
from app.crm.models import OPEN_STATUSES, FollowUpType, Outcome, Priority, Source, Status
from app.ui import auth
from app.ui.components import act, flash, phone_text, read, show_flash, table
from app.ui.safe import esc

OPEN = "crm_inquiry"
PER_COLUMN = 6

user, actor = auth.guard(Role.COUNSELOR, Role.ADMIN)
st.title("Pipeline")
show_flash()
today = clock.today_in(user.institute_timezone)
if actor.role == Role.ADMIN:
    assigning = read(actor, crm.auto_assign)
    wanted = st.toggle(
        "Assign new inquiries automatically (to the counselor with the fewest open ones)",
        value=bool(assigning),
        key="crm_auto_assign",
    )
    if wanted != assigning and act(actor, crm.set_auto_assign, on=wanted) is not None:
        flash(
            "New inquiries now go to the counselor with the fewest open ones."
            if wanted
            else "New inquiries are no longer assigned automatically."
        )
        st.rerun()


def _label(value: str | None) -> str:
    return (value or "").replace("_", " ").capitalize()


def _open(inquiry_id: int) -> None:
    st.session_state[OPEN] = inquiry_id


# ------------------------------------------------------------------ due today
due = read(actor, crm.due_follow_ups)
DUE_LABEL = "My follow-ups due today" if actor.role == Role.COUNSELOR else "Follow-ups due today"
with st.expander(
    f"{esc(DUE_LABEL)} ({len(due)})" if due else f"{esc(DUE_LABEL)}: none",
    expanded=bool(due),
    icon=":material/call:",
):
    if due:
        table(
            [
                {
                    "Due": d.follow_up_date,
                    "Name": d.student_name,
                    "Phone": phone_text(user, d.phone),
                    "How": _label(d.follow_up_type),
                    "Overdue": "yes" if d.follow_up_date < today else "",
                }
                for d in due
            ],
            key="crm_due",
        )
        with st.form("crm_quick_call", clear_on_submit=True):
            st.markdown("**Log a call**")
            c1, c2 = st.columns(2)
            pick = c1.selectbox(
                "Who", due, format_func=lambda d: f"{d.student_name} · {phone_text(user, d.phone)}"
            )
            outcome = c2.selectbox("Outcome", list(Outcome), format_func=lambda o: o.label)
            notes = st.text_input("Notes", key="crm_quick_notes")
            next_on = st.date_input("Next follow-up (optional)", value=None, min_value=today)
            if st.form_submit_button("Log call", type="primary"):
                logged = act(
                    actor,
                    crm.log_follow_up,
                    inquiry_id=pick.inquiry_id,
                    follow_up_type=FollowUpType.CALL.value,
                    outcome=outcome.value,
                    notes=notes,
                    next_follow_up_date=next_on,
                )
                if logged:
                    flash(f"Call with {pick.student_name} logged.")
                    st.rerun()
    else:
        st.caption("Nothing due. Plan follow-ups from an inquiry below.")

board_tab, new_tab, import_tab, dup_tab = st.tabs(
    ["Inquiries", "New inquiry", "Import", "Duplicates"]
)

# ------------------------------------------------------------------ one inquiry


def inquiry_detail() -> None:
    """The open inquiry, at the top of the Inquiries tab: where the person who pressed Open is."""
    inquiry_id = st.session_state.get(OPEN)
    detail = read(actor, crm.get_inquiry, inquiry_id=inquiry_id) if inquiry_id else None
    if inquiry_id and detail is None:
        st.session_state.pop(OPEN, None)
    if detail:
        inq = detail.inquiry
        st.divider()
        head, close = st.columns([5, 1])
        head.subheader(f"#{esc(inq.id)} {esc(inq.student_name)} · {esc(_label(inq.status))}")
        if close.button("Close", key="crm_close"):
            st.session_state.pop(OPEN, None)
            st.session_state.pop("crm_table_pick", None)
            st.rerun()
        left, right = st.columns([1, 1.3])
        with left:
            st.metric("Lead score", inq.lead_score)
            for reason in inq.score_reasons:
                st.markdown(f"- {esc(reason)}")
        with right:
            facts = [
                ("Phone", phone_text(user, inq.phone)),
                ("Email", inq.email),
                ("Source", _label(inq.source)),
                ("Priority", inq.priority),
                ("Counselor", detail.counselor),
                ("Interested in", ", ".join(detail.subjects)),
                ("Tags", ", ".join(inq.tags)),
                ("Next follow-up", inq.next_follow_up_date),
                ("Referred by", detail.referrer),
                ("Student", detail.student),
                ("Lost because", inq.lost_reason),
                ("Notes", inq.notes),
            ]
            st.markdown("\n".join(f"- **{esc(k)}:** {esc(v)}" for k, v in facts if v))
        if detail.duplicates:
            st.warning(
                "Possible duplicate of "
                + ", ".join(
                    f"#{esc(d.id)} {esc(d.student_name)} (same {esc(d.matched_on)})"
                    for d in detail.duplicates
                )
                + "."
            )
        st.markdown("**Follow-up history**")
        table(
            [
                {
                    "Date": fu.follow_up_date,
                    "How": _label(fu.follow_up_type),
                    "Status": fu.status,
                    "Outcome": _label(fu.outcome),
                    "Notes": fu.notes,
                    "By": fu.counselor,
                }
                for fu in detail.follow_ups
            ],
            key="crm_history",
        )
        is_open = inq.status in (s.value for s in OPEN_STATUSES)
        actions = [
            "Log a contact",
            "Plan next follow-up",
            "Change status",
            "Convert to student",
            "Edit details",
        ]
        if detail.duplicates:
            actions.append("Merge duplicate")
        if not is_open:
            actions = ["Change status"] if inq.status == Status.LOST.value else []
        action = (
            st.segmented_control("Next step", actions, key=f"crm_action_{inq.id}")
            if actions
            else None
        )
        step = NEXT_STEPS.get(action or "")
        if step is not None:
            step(inq, detail)


def _log_contact(inq: Any, detail: Any) -> None:
    """Log a call, message or visit and its outcome (and the next follow-up)."""
    with st.form(f"crm_log_{inq.id}", clear_on_submit=True):
        c1, c2, c3 = st.columns(3)
        kind = c1.selectbox("How", list(FollowUpType), format_func=lambda t: _label(t))
        outcome = c2.selectbox("Outcome", list(Outcome), format_func=lambda o: o.label)
        on = c3.date_input("When", value=today, max_value=today)
        notes = st.text_area("Notes")
        next_on = st.date_input("Next follow-up (optional)", value=None, min_value=today)
        if st.form_submit_button("Save contact", type="primary") and act(
            actor,
            crm.log_follow_up,
            inquiry_id=inq.id,
            follow_up_type=kind.value,
            outcome=outcome.value,
            notes=notes,
            next_follow_up_date=next_on,
            on=on,
        ):
            flash("Contact logged.")
            st.rerun()


def _plan_follow_up(inq: Any, detail: Any) -> None:
    """Plan the next follow-up: when, how, what to discuss."""
    with st.form(f"crm_plan_{inq.id}"):
        c1, c2 = st.columns(2)
        on = c1.date_input("On", value=today + timedelta(days=2), min_value=today)
        kind = c2.selectbox("How", list(FollowUpType), format_func=lambda t: _label(t))
        notes = st.text_input("What to discuss")
        if st.form_submit_button("Plan", type="primary") and act(
            actor,
            crm.schedule_follow_up,
            inquiry_id=inq.id,
            on=on,
            follow_up_type=kind.value,
            notes=notes,
        ):
            flash(f"Follow-up planned for {on:%d %b %Y}.")
            st.rerun()


def _change_status(inq: Any, detail: Any) -> None:
    """Move the inquiry to another status (a reason when it is lost)."""
    with st.form(f"crm_status_{inq.id}"):
        targets = list(crm.TRANSITIONS[Status(inq.status)])
        target = st.selectbox("New status", targets, format_func=lambda s: s.label)
        reason = st.selectbox("If lost, why", [None, *crm.LOST_REASONS, "Other"])
        other = st.text_input("Other reason")
        if st.form_submit_button("Change status", type="primary"):
            why = other if reason == "Other" else reason
            if act(
                actor,
                crm.change_status,
                inquiry_id=inq.id,
                status=target.value,
                lost_reason=why,
            ):
                flash(f"{inq.student_name} is now {target.label.lower()}.")
                st.rerun()


def _convert(inq: Any, detail: Any) -> None:
    """Enrol the inquiry: student, guardian, batch place and first invoice, all or nothing."""
    batches, structures = read(actor, crm.conversion_choices)
    if not batches or not structures:
        st.info("Converting needs an open batch and a fee structure; ask an admin.")
    else:
        with st.form(f"crm_convert_{inq.id}"):
            st.caption(
                "Creates the student (and guardian), the place in the batch and the first "
                "invoice together: all of it, or nothing."
            )
            c1, c2 = st.columns(2)
            number = c1.text_input(
                "Enrollment number", value=read(actor, crm.suggest_enrollment_no)
            )
            birth = c2.date_input("Date of birth (optional)", value=None)
            c3, c4 = st.columns(2)
            batch = c3.selectbox("Batch", batches, format_func=lambda b: b.name)
            structure = c4.selectbox("Fee structure", structures, format_func=lambda s: s.name)
            st.caption(
                "The first invoice bills the fee structure's current period: this "
                "month, or the term containing today for a per-term structure."
            )
            g1, g2, g3 = st.columns(3)
            guardian = g1.text_input("Guardian name")
            guardian_phone = g2.text_input("Guardian phone")
            relation = g3.selectbox("Relationship", ["mother", "father", "guardian"])
            if st.form_submit_button("Convert", type="primary"):
                done = act(
                    actor,
                    crm.convert,
                    immediate=True,
                    inquiry_id=inq.id,
                    enrollment_no=number,
                    batch_id=batch.id,
                    structure_id=structure.id,
                    guardian_name=guardian,
                    guardian_phone=guardian_phone,
                    guardian_relationship=relation,
                    date_of_birth=birth,
                )
                if done:
                    extra = (
                        f" The referrer earned {done.referral_points} points."
                        if done.referral_points
                        else ""
                    )
                    flash(
                        f"{done.student.name} is enrolled as {done.student.enrollment_no} "
                        f"in {batch.name}; first invoice issued for "
                        f"{done.invoice.period}.{extra}"
                    )
                    st.rerun()


def _edit_details(inq: Any, detail: Any) -> None:
    """Edit the inquiry's contact details, priority, counselor, tags, subjects and notes."""
    subjects = read(actor, crm.subjects)
    staff = read(actor, crm.counselors)
    with st.form(f"crm_edit_{inq.id}"):
        c1, c2, c3 = st.columns(3)
        name = c1.text_input("Name", value=inq.student_name)
        phone = c2.text_input("Phone", value=inq.phone or "")
        email = c3.text_input("Email", value=inq.email or "")
        c4, c5, c6 = st.columns(3)
        priority = c4.selectbox(
            "Priority",
            list(Priority),
            index=list(Priority).index(Priority(inq.priority)),
            format_func=str.capitalize,
        )
        owner_ids = [c.id for c in staff]
        owner = c5.selectbox(
            "Counselor",
            staff,
            index=owner_ids.index(inq.counselor_user_id)
            if inq.counselor_user_id in owner_ids
            else 0,
            format_func=lambda c: c.name,
        )
        tags = c6.text_input("Tags", value=", ".join(inq.tags))
        wants = st.multiselect(
            "Interested in",
            subjects,
            default=[s for s in subjects if s.id in inq.interested_subjects],
            format_func=lambda s: s.name,
        )
        notes = st.text_area("Notes", value=inq.notes or "")
        if st.form_submit_button("Save details", type="primary") and act(
            actor,
            crm.update_inquiry,
            inquiry_id=inq.id,
            student_name=name,
            phone=phone,
            email=email,
            priority=priority.value,
            counselor_user_id=owner.id if owner else None,
            tags=tags,
            interested_subjects=[s.id for s in wants],
            notes=notes,
        ):
            flash("Details saved.")
            st.rerun()


def _merge_duplicate(inq: Any, detail: Any) -> None:
    """Merge a possible duplicate into this inquiry (the older one stays)."""
    other = st.selectbox(
        "Merge with",
        detail.duplicates,
        format_func=lambda d: f"#{d.id} {d.student_name} · {phone_text(user, d.phone) or d.email}",
        key=f"crm_merge_pick_{inq.id}",
    )
    st.caption("The older inquiry stays; it takes the other's follow-ups, tags and subjects.")
    if st.button("Merge", type="primary", key=f"crm_merge_{inq.id}"):
        kept = act(actor, crm.merge_inquiries, inquiry_id=inq.id, other_id=other.id)
        if kept:
            _open(kept.id)
            flash(f"Merged into #{kept.id}.")
            st.rerun()


NEXT_STEPS = {
    "Log a contact": _log_contact,
    "Plan next follow-up": _plan_follow_up,
    "Change status": _change_status,
    "Convert to student": _convert,
    "Edit details": _edit_details,
    "Merge duplicate": _merge_duplicate,
}


# ------------------------------------------------------------------ board / table
with board_tab:
    inquiry_detail()
    counselors = read(actor, crm.counselors)
    f1, f2, f3, f4 = st.columns([1, 1, 1.2, 1.5])
    owner_choices = [None, *counselors]
    # A counselor starts with their own inquiries, an admin with everyone's.
    default_owner = (
        next(
            (i for i, c in enumerate(owner_choices) if c and c.id == user.id),
            0,
        )
        if actor.role == Role.COUNSELOR
        else 0
    )
    owner = f1.selectbox(
        "Counselor",
        owner_choices,
        index=default_owner,
        format_func=lambda c: "Everyone" if c is None else ("Me" if c.id == user.id else c.name),
        key="crm_owner",
    )
    source = f2.selectbox(
        "Source",
        [None, *Source],
        format_func=lambda s: "All sources" if s is None else s.label,
        key="crm_source",
    )
    status = f3.selectbox(
        "Status",
        [None, *Status],
        format_func=lambda s: "All statuses" if s is None else s.label,
        key="crm_status",
    )
    search = f4.text_input("Search", placeholder="name, phone or email", key="crm_search")
    view = st.segmented_control(
        "View", ["Board", "Table"], default="Board", key="crm_view", label_visibility="collapsed"
    )
    filters = {
        "source": source.value if source else None,
        "counselor_user_id": owner.id if owner else None,
        "search": search or None,
    }
    if view == "Table":
        sort = st.selectbox("Sort by", list(crm.SORTS), format_func=str.capitalize, key="crm_sort")
        rows = read(
            actor,
            crm.list_inquiries,
            limit=crm.LIST_LIMIT,
            status=status.value if status else None,
            sort=sort,
            **filters,
        )
        table(
            [
                {
                    "#": r.id,
                    "Name": r.student_name,
                    "Score": r.lead_score,
                    "Status": _label(r.status),
                    "Source": _label(r.source),
                    "Priority": r.priority,
                    "Next follow-up": r.next_follow_up_date,
                    "Counselor": r.counselor,
                    "Phone": phone_text(user, r.phone),
                    "Tags": ", ".join(r.tags),
                }
                for r in rows
            ],
            columns={"Score": st.column_config.ProgressColumn(min_value=0, max_value=100)},
            key="crm_table",
        )
        if len(rows) >= crm.LIST_LIMIT:
            st.caption(
                f"Showing the first {esc(crm.LIST_LIMIT)}; narrow the filters to see others."
            )
        if rows:
            picked = st.selectbox(
                "Open inquiry",
                [None, *rows],
                format_func=lambda r: "Choose…" if r is None else f"#{r.id} {r.student_name}",
                key="crm_table_pick",
            )
            if picked is not None and st.session_state.get(OPEN) != picked.id:
                _open(picked.id)
                st.rerun()  # the inquiry opens at the top, above the table
    else:
        columns = read(actor, crm.pipeline, per_column=PER_COLUMN, **filters)
        shown = [c for c in columns if status is None or c.status == status.value]
        for column, place in zip(shown, st.columns(len(shown)), strict=True):
            with place:
                st.markdown(f"**{esc(_label(column.status))}** · {esc(column.count)}")
                for card in column.cards:
                    with st.container(border=True):
                        st.markdown(f"**{esc(card.student_name)}**")
                        st.caption(
                            f"Score {esc(card.lead_score)} · {esc(_label(card.source))}"
                            + (
                                f" · next {card.next_follow_up_date:%d %b}"
                                if card.next_follow_up_date
                                else ""
                            )
                        )
                        st.button(
                            "Open",
                            key=f"crm_open_{card.id}",
                            on_click=_open,
                            args=(card.id,),
                            width="stretch",
                        )
                if column.count > len(column.cards):
                    st.caption(f"{esc(column.count - len(column.cards))} more — use the table view")

# ------------------------------------------------------------------ new inquiry
with new_tab:
    subjects = read(actor, crm.subjects)
    counselors = read(actor, crm.counselors)
    with st.form("crm_new", clear_on_submit=False):
        c1, c2, c3 = st.columns(3)
        name = c1.text_input("Name", key="crm_new_name")
        phone = c2.text_input("Phone", key="crm_new_phone")
        email = c3.text_input("Email", key="crm_new_email")
        c4, c5, c6 = st.columns(3)
        src = c4.selectbox("Source", list(Source), format_func=lambda s: s.label)
        prio = c5.selectbox("Priority", list(Priority), index=1, format_func=str.capitalize)
        chosen = c6.selectbox(
            "Counselor",
            counselors,
            index=next((i for i, c in enumerate(counselors) if c.id == user.id), 0),
            format_func=lambda c: c.name,
        )
        wants = st.multiselect("Interested in", subjects, format_func=lambda s: s.name)
        c7, c8, c9 = st.columns(3)
        tags = c7.text_input("Tags", placeholder="weekend, scholarship")
        next_on = c8.date_input("First follow-up (optional)", value=None, min_value=today)
        referrer = c9.text_input("Referred by (enrollment number)")
        notes = st.text_area("Notes")
        anyway = st.checkbox("Save even if it looks like a duplicate")
        if st.form_submit_button("Save inquiry", type="primary"):
            created = act(
                actor,
                crm.create_inquiry,
                student_name=name,
                phone=phone,
                email=email,
                interested_subjects=[s.id for s in wants],
                source=src.value,
                priority=prio.value,
                tags=tags,
                notes=notes,
                next_follow_up_date=next_on,
                counselor_user_id=chosen.id if chosen else None,
                referrer_enrollment_no=referrer,
                allow_duplicate=anyway,
            )
            if created:
                _open(created.id)
                flash(f"Inquiry #{created.id} saved (lead score {created.lead_score}).")
                st.rerun()

# ------------------------------------------------------------------ import
with import_tab:
    st.caption(
        "Leads from a fair, a website export or a campaign list, one per row. Nothing is saved "
        "until every row is correct and you confirm."
    )
    t1, t2 = st.columns(2)
    t1.download_button(
        "CSV template",
        importer.template_csv(),
        file_name="inquiries_template.csv",
        mime="text/csv",
        key="crm_tpl_csv",
    )
    t2.download_button(
        "Excel template",
        importer.template_xlsx(),
        file_name="inquiries_template.xlsx",
        key="crm_tpl_xlsx",
    )
    round_ = st.session_state.setdefault("crm_imp_round", 0)
    upload = st.file_uploader("Inquiry file", type=["csv", "xlsx"], key=f"crm_imp_{round_}")
    if upload is not None:
        try:
            rows = importer.read_rows(upload.name, upload.getvalue())
        except ValidationError as exc:
            st.error(exc.message)
            rows = None
        preview = read(actor, importer.validate, rows=rows) if rows is not None else None
        if preview is not None and not preview.ok:
            st.error(
                f"Fix {plural(len(preview.errors), 'problem')} and upload again. Nothing was imported."
            )
            table(
                [
                    {"Row": e.row_number, "Column": e.column, "Problem": e.message}
                    for e in preview.errors
                ],
                key="crm_imp_errors",
            )
        elif preview is not None:
            dups = len(preview.duplicates)
            st.success(
                f"{plural(len(preview.rows), 'inquiry', 'inquiries')} ready; "
                f"{esc(dups)} look{esc('s' if dups == 1 else '')} like {esc('one' if dups == 1 else 'ones')} on record."
            )
            table(
                [
                    {
                        "Row": r["row_number"],
                        "Name": r["student_name"],
                        "Phone": r["phone"],
                        "Email": r["email"],
                        "Source": r["source"],
                        "Already on record": f"#{r['duplicate_of']}" if r["duplicate_of"] else "",
                    }
                    for r in preview.rows
                ],
                key="crm_imp_preview",
            )
            skip = st.checkbox("Skip the ones already on record", value=True, key="crm_imp_skip")
            if st.button("Import", type="primary", key="crm_imp_confirm"):
                n = act(actor, importer.commit_import, rows=rows, skip_duplicates=skip)
                if n is not None:
                    flash(f"Imported {plural(n, 'inquiry', 'inquiries')}.")
                    st.session_state["crm_imp_round"] = round_ + 1
                    st.rerun()

# ------------------------------------------------------------------ duplicates
with dup_tab:
    # Looked for on request: it compares every inquiry's phone and email with every other's.
    look = st.toggle("Look for inquiries that share a phone or an email", key="crm_dup_look")
    pairs = read(actor, crm.duplicate_pairs) if look else None
    if pairs is None:
        st.caption("Duplicates are also flagged on each inquiry and when one is saved.")
    elif not pairs:
        st.caption("No inquiries share a phone number or an email.")
    for older, newer in pairs or []:
        with st.container(border=True):
            st.markdown(
                f"**#{esc(older.id)} {esc(older.student_name)}** and **#{esc(newer.id)} {esc(newer.student_name)}** "
                f"share their {esc(older.matched_on)}."
            )
            if st.button(f"Merge into #{int(older.id)}", key=f"crm_dup_{older.id}_{newer.id}"):
                kept = act(actor, crm.merge_inquiries, inquiry_id=older.id, other_id=newer.id)
                if kept:
                    flash(f"Merged #{newer.id} into #{kept.id}.")
                    st.rerun()
