"""Materials (students): what teachers shared with my batches and their subjects and topics,
to download or open."""

from itertools import groupby

import streamlit as st

from app.core.errors import NotFound
from app.core.roles import Role
from app.materials import service as materials
from app.ui import auth
from app.ui.components import read, read_audited
from app.ui.safe import esc

user, actor = auth.guard(Role.STUDENT)
st.title("Materials")
try:
    items = read(actor, materials.my_materials)
except NotFound as exc:
    st.info(exc.message)
    st.stop()

if not items:
    st.caption("Nothing has been shared with your batches yet.")
    st.stop()


def _download(material_id: int) -> bytes:
    return read_audited(actor, materials.download, material_id=material_id).data


for subject, group in groupby(items, key=lambda m: m.subject):
    st.subheader(subject)
    for m in group:
        with st.container(border=True):
            left, right = st.columns([3, 1], vertical_alignment="center")
            left.markdown(f"**{esc(m.title)}**")
            shared = m.topic or (f"batch {m.batch}" if m.batch else "the whole subject")
            left.caption(f"{esc(shared)} · {esc(m.size_label)} · added {m.created_at:%d %b %Y}")
            if m.kind == "link":
                right.link_button("Open", m.url, key=f"mat_open_{m.id}")
            else:
                right.download_button(
                    "Download",
                    data=lambda material_id=m.id: _download(material_id),
                    file_name=m.original_name,
                    mime=m.content_type,
                    key=f"mat_dl_{m.id}",
                    on_click="ignore",
                )
