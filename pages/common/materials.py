"""Materials (teachers and admins): share files and links with a subject, a topic or a batch;
list what is shared, download it, withdraw it."""

import streamlit as st

from app.core.roles import Role
from app.materials import service as materials
from app.ui import auth
from app.ui.components import act, flash, read, read_audited, show_flash, table

TARGET_KINDS = {"Batch": "batch_id", "Topic": "topic_id", "Subject": "subject_id"}

user, actor = auth.guard(Role.TEACHER, Role.ADMIN)
st.title("Materials")
show_flash()
targets = read(actor, materials.share_targets)
extensions, max_mb = materials.upload_rules()
options = {
    label: choices
    for label, choices in (
        ("Batch", targets.batches),
        ("Topic", targets.topics),
        ("Subject", targets.subjects),
    )
    if choices
}
rows = read(
    actor, materials.list_materials, include_deleted=bool(st.session_state.get("mat_deleted"))
)

if not options:
    st.info(
        "You teach no batches yet, so there is nowhere to share materials."
        if actor.role == Role.TEACHER
        else "Create a subject or a batch first."
    )
else:
    with st.expander("Share a file or a link", expanded=not rows):
        c1, c2 = st.columns([1, 3])
        kind = c1.radio("Share with", list(options), key="mat_kind", horizontal=False)
        target = c2.selectbox(
            kind, options[kind], format_func=lambda choice: choice[1], key=f"mat_target_{kind}"
        )
        what = st.radio("What", ["File", "Link"], horizontal=True, key="mat_what")
        with st.form("mat_share", clear_on_submit=True):
            if what == "File":
                upload = st.file_uploader(
                    f"File (up to {max_mb} MB: {', '.join(extensions)})",
                    type=extensions,
                    key="mat_file",
                )
                url = None
            else:
                upload = None
                url = st.text_input("Web address", placeholder="https://…", key="mat_url")
            title = st.text_input(
                "Title (optional)", key="mat_title", placeholder="Defaults to the file name"
            )
            if st.form_submit_button("Share", type="primary"):
                where = {TARGET_KINDS[kind]: target[0]}
                if what == "File" and upload is None:
                    st.error("Choose a file to upload.")
                elif what == "File":
                    created = act(
                        actor,
                        materials.upload_file,
                        name=upload.name,
                        data=upload.getvalue(),
                        title=title,
                        **where,
                    )
                else:
                    created = act(actor, materials.add_link, url=url, title=title, **where)
                if (what == "Link" or upload is not None) and created:
                    flash(f"Shared {created.title} with {target[1]}.")
                    st.rerun()

st.subheader("Shared materials")
st.toggle("Show withdrawn", key="mat_deleted")
table(
    [
        {
            "Title": m.title,
            "Kind": m.kind,
            "Shared with": m.target,
            "Size": m.size_label,
            "File": m.original_name or m.url or "",
            "By": m.uploaded_by or "",
            "Added": m.created_at,
            "Withdrawn": m.deleted_at,
        }
        for m in rows
    ],
    key="mat_list",
    columns={
        "Added": st.column_config.DatetimeColumn("Added", format="DD MMM YYYY HH:mm"),
        "Withdrawn": st.column_config.DatetimeColumn("Withdrawn", format="DD MMM YYYY"),
    },
)
live = [m for m in rows if m.deleted_at is None]
if not live:
    st.stop()
chosen = st.selectbox(
    "Material", live, format_func=lambda m: f"{m.title} · {m.target}", key="mat_pick"
)
c1, c2 = st.columns(2)
if chosen.kind == "link":
    c1.link_button("Open link", chosen.url)
else:
    c1.download_button(
        f"Download {chosen.original_name}",
        data=lambda material_id=chosen.id: (
            read_audited(actor, materials.download, material_id=material_id).data
        ),
        file_name=chosen.original_name,
        mime=chosen.content_type,
        key=f"mat_dl_{chosen.id}",
        on_click="ignore",
    )
if c2.button("Withdraw", key=f"mat_withdraw_{chosen.id}"):
    withdrawn = act(actor, materials.delete_material, material_id=chosen.id, where=c2)
    if withdrawn:
        flash(f"Withdrew {withdrawn.title}; students no longer see it.")
        st.rerun()
