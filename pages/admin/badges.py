"""Badge catalog (admins): build the program → skill → mini-badge tree with capstones and
automatic rules; awards needing review; run the rules now; export awards."""

import streamlit as st

from app.badges import rules
from app.badges import service as badges
from app.core.roles import Role
from app.ui import auth
from app.ui.components import act, flash, read, show_flash, table

KIND_LABELS = {"program": "Program", "skill": "Skill", "mini": "Mini-badge", "capstone": "Capstone"}
PARENT_OF = {"skill": "program", "capstone": "program", "mini": "skill"}
RULES = {
    "Manual (requests and approvals)": None,
    "Topic competency ≥ N on listed topics": "topic_competency",
    "Assessment average ≥ X% on a subject or topics": "assessment_percent",
    "Attendance ≥ Y% in a batch": "attendance_percent",
}

user, actor = auth.guard(Role.ADMIN)
st.title("Badge catalog")
show_flash()
tree = read(actor, badges.catalog, include_inactive=True)
by_id = {b.id: b for b in tree}
depth = {"program": 0, "skill": 1, "capstone": 1, "mini": 2}
table(
    [
        {
            "Badge": "\u2003" * depth[b.kind] + f"{b.emoji} {b.name}",
            "Kind": KIND_LABELS[b.kind],
            "Required": "yes" if b.kind != "mini" or b.required else "optional",
            "Rule": (b.rule_kind or "manual").replace("_", " ")
            + (f" ≥ {b.rule_threshold:g}" if b.rule_kind else ""),
            "Active": "yes" if b.active else "no",
        }
        for b in tree
    ],
    key="badge_tree",
)

with st.expander("Add a badge", expanded=not tree):
    kind = st.selectbox("Kind", list(KIND_LABELS), format_func=KIND_LABELS.get, key="bc_kind")
    parent_id = None
    if kind in PARENT_OF:
        parents = {b.id: b.name for b in tree if b.kind == PARENT_OF[kind]}
        if not parents:
            st.info(f"Add a {PARENT_OF[kind]} first.")
        parent_id = st.selectbox(
            f"Belongs to {PARENT_OF[kind]}", list(parents), format_func=parents.get, key="bc_parent"
        )
    name = st.text_input("Name", key="bc_name")
    description = st.text_area("Description", key="bc_description")
    criteria = st.text_area("Criteria (what a student must show)", key="bc_criteria")
    c1, c2, c3 = st.columns(3)
    emoji = c1.text_input("Emoji", value="🏅", key="bc_emoji")
    colour = c2.color_picker("Colour", value="#4f46e5", key="bc_colour")
    required = c3.checkbox("Counts toward its skill", value=True, key="bc_required")
    rule = None
    if kind in ("mini", "capstone"):
        rule_label = st.selectbox("Awarded by", list(RULES), key="bc_rule")
        rule_kind = RULES[rule_label]
        if rule_kind:
            choices = read(actor, badges.rule_choices)
            rule = {"kind": rule_kind}
            if rule_kind == "topic_competency":
                rule["topic_ids"] = st.multiselect(
                    "Topics", list(choices.topics), format_func=choices.topics.get, key="bc_topics"
                )
                rule["threshold"] = st.number_input("Competency (0–5)", 0.5, 5.0, 4.0, 0.5)
            elif rule_kind == "assessment_percent":
                rule["subject_id"] = st.selectbox(
                    "Subject", list(choices.subjects), format_func=choices.subjects.get
                )
                rule["topic_ids"] = st.multiselect(
                    "Only these topics (optional)",
                    list(choices.topics),
                    format_func=choices.topics.get,
                )
                rule["threshold"] = st.number_input("Average percentage", 1.0, 100.0, 75.0, 5.0)
            else:
                rule["batch_id"] = st.selectbox(
                    "Batch", list(choices.batches), format_func=choices.batches.get
                )
                rule["threshold"] = st.number_input("Attendance percentage", 1.0, 100.0, 80.0, 5.0)
    if st.button("Add badge", type="primary", key="bc_add"):
        created = act(
            actor,
            badges.create_badge,
            kind=kind,
            name=name,
            parent_id=parent_id,
            description=description,
            criteria=criteria,
            emoji=emoji,
            colour=colour,
            required=required,
            rule=rule,
        )
        if created:
            flash(f"Added {created.name}.")
            st.rerun()

if tree:
    with st.expander("Edit a badge"):
        badge_id = st.selectbox(
            "Badge", list(by_id), format_func=lambda i: by_id[i].name, key="be_badge"
        )
        badge = by_id[badge_id]
        new_name = st.text_input("Name", value=badge.name, key=f"be_name_{badge_id}")
        new_criteria = st.text_area("Criteria", value=badge.criteria, key=f"be_crit_{badge_id}")
        new_position = st.number_input(
            "Order", value=badge.position, step=1, key=f"be_pos_{badge_id}"
        )
        active = st.checkbox("Active", value=badge.active, key=f"be_active_{badge_id}")
        if st.button("Save", key="be_save"):
            if act(
                actor,
                badges.update_badge,
                badge_id=badge_id,
                name=new_name,
                criteria=new_criteria,
                position=int(new_position),
                active=active,
            ):
                flash(f"Saved {new_name}.")
                st.rerun()

st.subheader("Awards to review")
review = read(actor, badges.list_awards, needs_review=True)
table(review, key="badge_review")
for row in review:
    if st.button(f"Confirm {row['badge']} for {row['student']}", key=f"rv_{row['award_id']}"):
        if act(actor, badges.clear_review, award_id=row["award_id"], note="Confirmed"):
            st.rerun()

st.subheader("Automatic rules and export")
c1, c2 = st.columns(2)
if c1.button("Evaluate automatic rules now", key="bc_rules"):
    counts = act(actor, rules.run_rules_now)
    if counts is not None:
        st.success(
            f"{counts['rule_awards']} badges awarded by rules, "
            f"{counts['progression_awards']} by progression."
        )
personal = c2.checkbox("Include names, emails and phones (recorded in the audit log)", key="bc_pii")
if c2.button("Prepare CSV", key="bc_export"):
    data = act(actor, badges.export_awards_csv, include_personal=personal)
    if data is not None:
        c2.download_button("Download awards.csv", data=data, file_name="badge-awards.csv")
