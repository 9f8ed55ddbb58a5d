"""Materials screens: staff share a link and withdraw a file; a student sees what is shared with
their batch, with a download button, and nothing else."""

import pytest
from sqlmodel import select

from app.core.config import reset_settings_cache
from app.materials import service
from app.materials.models import Material
from tests import factories as f
from tests.materials.world import PDF, build
from tests.pages.apptest import app_as, by_label, errors, frame, open_page, shown, texts


@pytest.fixture
def world(db, tmp_path, monkeypatch):
    monkeypatch.setenv("MATERIALS_DIR", str(tmp_path / "files"))
    monkeypatch.delenv("MATERIALS_S3_BUCKET", raising=False)
    reset_settings_cache()
    w = build(db)
    teacher, admin = f.actor_for(w.teacher), f.actor_for(w.admin)
    with db.scope(teacher) as s:
        service.upload_file(
            s, actor=teacher, name="fractions.pdf", data=PDF, batch_id=w.batches["A"]
        )
    with db.scope(admin) as s:
        service.upload_file(s, actor=admin, name="b-only.pdf", data=PDF, batch_id=w.batches["B"])
    return w


def test_teacher_shares_a_link_and_withdraws_a_file(db, world):
    at = app_as(world.teacher.email).run()
    open_page(at, "pages/common/materials.py")
    assert not at.exception and not errors(at), errors(at)
    listed = frame(at, "Shared with")
    assert list(listed["Title"]) == ["fractions.pdf"]  # not batch B's file
    assert at.get("download_button")[0].label == "Download fractions.pdf"

    by_label(at.radio, "What").set_value("Link").run()
    by_label(at.text_input, "Web address").input("https://example.org/fractions")
    by_label(at.text_input, "Title (optional)").input("Fractions video")
    at.button(key="FormSubmitter:mat_share-Share").click().run()
    assert not errors(at), errors(at)
    assert any("Shared Fractions video with Maths A" in shown(s.value) for s in at.success)
    assert set(frame(at, "Shared with")["Title"]) == {"fractions.pdf", "Fractions video"}

    by_label(at.radio, "What").set_value("Link").run()
    by_label(at.text_input, "Web address").input("javascript:alert(1)")
    at.button(key="FormSubmitter:mat_share-Share").click().run()
    assert any("full web address" in e for e in errors(at))

    by_label(at.selectbox, "Material").set_value(
        next(o for o in by_label(at.selectbox, "Material").options if "fractions.pdf" in o)
    )
    at.run()
    withdraw = next(b for b in at.button if b.label == "Withdraw")
    withdraw.click().run()
    assert not errors(at), errors(at)
    assert any("Withdrew fractions.pdf" in shown(s.value) for s in at.success)
    with db.scope(system=True) as s:
        row = s.exec(select(Material).where(Material.title == "fractions.pdf")).one()
    assert row.deleted_at is not None


def test_student_sees_their_batch_materials_with_a_download_button(db, world):
    at = app_as(world.students["A"].email).run()
    open_page(at, "pages/student/materials.py")
    assert not at.exception and not errors(at), errors(at)
    page = texts(at)
    assert "**fractions.pdf**" in page
    assert "b-only.pdf" not in page
    assert [b.label for b in at.get("download_button")] == ["Download"]

    other = app_as(world.students["C"].email).run()
    open_page(other, "pages/student/materials.py")
    assert not errors(other), errors(other)
    assert "Nothing has been shared with your batches yet." in texts(other)
    assert other.get("download_button") == []


def test_student_without_a_record_is_told_what_to_do(db, world):
    lone = f.user(db, world.institute, "student", email="lone@example.com")
    at = app_as(lone.email).run()
    open_page(at, "pages/student/materials.py")
    assert not at.exception and not errors(at), errors(at)
    assert "not linked to a student record" in texts(at)
