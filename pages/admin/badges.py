"""Badge catalog (admins): build and edit the program → skill → mini-badge tree with capstones
and automatic rules; award or revoke by hand; awards needing review; run the rules now; export."""

import streamlit as st

from app.academics import service as academics
from app.badges import rules
from app.badges import service as badges
from app.badges.models import CredentialStatus
from app.core.roles import Role
from app.core.text import plural
from app.ui import auth
from app.ui.components import act, flash, read, show_flash, table
from app.ui.safe import esc

KIND_LABELS = {"program": "Program", "skill": "Skill", "mini": "Mini-badge", "capstone": "Capstone"}
PARENT_OF = {"skill": "program", "capstone": "program", "mini": "skill"}
RULES = {
    "Manual (requests and approvals)": None,
    "Topic competency ≥ N on listed topics": "topic_competency",
    "Assessment average ≥ X% on a subject or topics": "assessment_percent",
    "Attendance ≥ Y% in a batch": "attendance_percent",
}


def rule_editor(prefix: str, current=None) -> dict | None:
    """The "Awarded by" choice and its settings; returns the rule ({} = manual)."""
    kinds = list(RULES.values())
    start = kinds.index(current.rule_kind) if current and current.rule_kind in kinds else 0
    label = st.selectbox("Awarded by", list(RULES), index=start, key=f"{prefix}_rule")
    kind = RULES[label]
    if not kind:
        return {}
    choices = read(actor, badges.rule_choices)
    same = current is not None and current.rule_kind == kind
    rule: dict = {"kind": kind}

    def pick_topics(label: str, key: str) -> list[int]:
        chosen = [t for t in (current.rule_topic_ids or []) if t in choices.topics] if same else []
        return st.multiselect(
            label, list(choices.topics), default=chosen, format_func=choices.topics.get, key=key
        )

    def threshold(label: str, low: float, high: float, default: float, step: float, key: str):
        value = float(current.rule_threshold) if same else default
        return st.number_input(label, low, high, value, step, key=key)

    if kind == "topic_competency":
        rule["topic_ids"] = pick_topics("Topics", f"{prefix}_topics")
        rule["threshold"] = threshold(
            "Competency (0–5)", 0.5, 5.0, 4.0, 0.5, f"{prefix}_threshold_c"
        )
    elif kind == "assessment_percent":
        subjects = list(choices.subjects)
        rule["subject_id"] = st.selectbox(
            "Subject",
            subjects,
            index=subjects.index(current.rule_subject_id)
            if same and current.rule_subject_id in subjects
            else 0,
            format_func=choices.subjects.get,
            key=f"{prefix}_subject",
        )
        rule["topic_ids"] = pick_topics("Only these topics (optional)", f"{prefix}_subject_topics")
        rule["threshold"] = threshold(
            "Average percentage", 1.0, 100.0, 75.0, 5.0, f"{prefix}_threshold_a"
        )
    else:
        batches = list(choices.batches)
        rule["batch_id"] = st.selectbox(
            "Batch",
            batches,
            index=batches.index(current.rule_batch_id)
            if same and current.rule_batch_id in batches
            else 0,
            format_func=choices.batches.get,
            key=f"{prefix}_batch",
        )
        rule["threshold"] = threshold(
            "Attendance percentage", 1.0, 100.0, 80.0, 5.0, f"{prefix}_threshold_p"
        )
    return rule


user, actor = auth.guard(Role.ADMIN)
st.title("Badge catalog")
show_flash()
tree = read(actor, badges.catalog, include_inactive=True) or []
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
with_capstone = {b.parent_id for b in tree if b.kind == "capstone" and b.active}
for b in tree:
    if b.kind == "program" and b.active and b.id not in with_capstone:
        st.warning(
            f"{esc(b.name)} has no active capstone: nobody can complete it until you add one "
            "(a program is earned with all its skills and its capstone)."
        )

with st.expander("Add a badge", expanded=not tree):
    kind = st.selectbox("Kind", list(KIND_LABELS), format_func=KIND_LABELS.get, key="bc_kind")
    parent_id = None
    if kind in PARENT_OF:
        parents = {b.id: b.name for b in tree if b.kind == PARENT_OF[kind]}
        if not parents:
            st.info(f"Add a {esc(PARENT_OF[kind])} first.")
        parent_id = st.selectbox(
            f"Belongs to {esc(PARENT_OF[kind])}",
            list(parents),
            format_func=parents.get,
            key="bc_parent",
        )
    name = st.text_input("Name", key="bc_name")
    description = st.text_area("Description", key="bc_description")
    criteria = st.text_area("Criteria (what a student must show)", key="bc_criteria")
    c1, c2, c3 = st.columns(3)
    emoji = c1.text_input("Emoji", value="🏅", key="bc_emoji")
    colour = c2.color_picker("Colour", value="#4f46e5", key="bc_colour")
    required = c3.checkbox("Counts toward its skill", value=True, key="bc_required")
    rule = rule_editor("bc") if kind in ("mini", "capstone") else {}
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
            rule=rule or None,
        )
        if created:
            flash(f"Added {created.name}.")
            st.rerun()

if tree:
    with st.expander("Edit a badge"):
        badge_id = st.selectbox(
            "Badge",
            list(by_id),
            format_func=lambda i: (
                f"{by_id[i].emoji} {by_id[i].name} ({KIND_LABELS[by_id[i].kind]})"
            ),
            key="be_badge",
        )
        badge = by_id[badge_id]
        k = f"be_{badge_id}"
        new_name = st.text_input("Name", value=badge.name, key=f"{k}_name")
        new_description = st.text_area(
            "Description", value=badge.description, key=f"{k}_description"
        )
        new_criteria = st.text_area("Criteria", value=badge.criteria, key=f"{k}_crit")
        c1, c2, c3, c4 = st.columns(4)
        new_emoji = c1.text_input("Emoji", value=badge.emoji, key=f"{k}_emoji")
        new_colour = c2.color_picker("Colour", value=badge.colour, key=f"{k}_colour")
        new_position = c3.number_input("Order", value=badge.position, step=1, key=f"{k}_pos")
        active = c4.checkbox("Active", value=badge.active, key=f"{k}_active")
        new_required = badge.required
        if badge.kind == "mini":
            new_required = st.checkbox(
                "Counts toward its skill", value=badge.required, key=f"{k}_required"
            )
        new_rule = rule_editor(k, badge) if badge.kind in ("mini", "capstone") else None
        if st.button("Save", key="be_save"):
            if act(
                actor,
                badges.update_badge,
                badge_id=badge_id,
                name=new_name,
                description=new_description,
                criteria=new_criteria,
                emoji=new_emoji,
                colour=new_colour,
                position=int(new_position),
                active=active,
                required=new_required,
                rule=new_rule,
            ):
                flash(f"Saved {new_name}.")
                st.rerun()

    with st.expander("Award or revoke by hand"):
        st.caption(
            "A hand award counts like any other: completing a skill or program follows at once. "
            "Revoking flags the higher badges that depended on it for review; it revokes nothing else."
        )
        search = st.text_input(
            "Find a student (name, enrollment number, phone or email)", key="ba_search"
        )
        found = read(actor, academics.list_students, search=search or None, limit=50) or []
        if search and not found:
            st.info("No student matches that.")
        elif found:
            students = {s.id: f"{s.name} · {s.enrollment_no}" for s in found}
            student_id = st.selectbox(
                "Student", list(students), format_func=students.get, key="ba_student"
            )
            awardable = {b.id: f"{b.emoji} {b.name}" for b in tree if b.active}
            c1, c2 = st.columns([2, 3])
            award_badge = c1.selectbox(
                "Badge", list(awardable), format_func=awardable.get, key="ba_badge"
            )
            evidence = c2.text_input("Evidence or note (optional)", key="ba_evidence")
            if st.button("Award", type="primary", key="ba_award"):
                created = act(
                    actor,
                    badges.award,
                    student_id=student_id,
                    badge_id=award_badge,
                    evidence=evidence,
                )
                if created:
                    names = ", ".join(by_id[a.badge_id].name for a in created)
                    flash(f"Awarded {names} to {students[student_id]}.")
                    st.rerun()
            held = [
                a
                for a in read(actor, badges.list_awards, student_id=student_id) or []
                if a["status"] != CredentialStatus.REVOKED
            ]
            if held:
                choices = {a["award_id"]: a["badge"] for a in held}
                c1, c2 = st.columns([2, 3])
                revoke_id = c1.selectbox(
                    "Revoke", list(choices), format_func=choices.get, key="ba_revoke"
                )
                why = c2.text_input("Reason (the student sees it)", key="ba_why")
                if st.button("Revoke", key="ba_revoke_go"):
                    if act(actor, badges.revoke, award_id=revoke_id, reason=why):
                        flash(f"Revoked {choices[revoke_id]} from {students[student_id]}.")
                        st.rerun()

st.subheader("Awards to review")
review = read(actor, badges.list_awards, needs_review=True) or []
if not review:
    st.caption("Nothing to review.")
table(review, key="badge_review")
for row in review:
    if st.button(
        f"Confirm {esc(row['badge'])} for {esc(row['student'])}", key=f"rv_{row['award_id']}"
    ):
        if act(actor, badges.clear_review, award_id=row["award_id"], note="Confirmed"):
            st.rerun()

st.subheader("Automatic rules and export")
c1, c2 = st.columns(2)
if c1.button("Evaluate automatic rules now", key="bc_rules"):
    counts = act(actor, rules.run_rules_now)
    if counts is not None:
        st.success(
            f"{plural(counts['rule_awards'], 'badge')} awarded by rules, "
            f"{esc(counts['progression_awards'])} by progression."
        )
personal = c2.checkbox("Include names, emails and phones (recorded in the audit log)", key="bc_pii")
if c2.button("Prepare CSV", key="bc_export"):
    data = act(actor, badges.export_awards_csv, include_personal=personal)
    if data is not None:
        c2.download_button("Download awards.csv", data=data, file_name="badge-awards.csv")
