"""Sharing, seeing and downloading materials: batch membership and institutes are walls."""

from datetime import timedelta

import pytest
from sqlmodel import select

from app.core import clock
from app.core.audit import AuditLog
from app.core.config import reset_settings_cache
from app.core.errors import NotFound, PermissionDenied, ValidationError
from app.materials import service
from app.materials.jobs import materials_cleanup
from app.materials.models import Material
from app.materials.storage import new_key
from tests import factories as f
from tests.materials.world import EXE, NOTEBOOK, PDF, PNG, build, docx_bytes


def _upload(db, who, *, name="notes.pdf", data=PDF, **target):
    actor = _actor(who)
    with db.scope(actor) as s:
        return service.upload_file(s, actor=actor, name=name, data=data, **target).id


def _actor(user):
    return f.actor_for(user)


def _list(db, user):
    actor = _actor(user)
    with db.scope(actor) as s:
        if actor.role == "student":
            return {m.title for m in service.my_materials(s, actor=actor)}
        return {m.title for m in service.list_materials(s, actor=actor)}


def _download(db, user, material_id):
    actor = _actor(user)
    with db.scope(actor) as s:
        return service.download(s, actor=actor, material_id=material_id)


def test_students_see_their_batches_and_subjects_only(db, store):
    w = build(db)
    a_file = _upload(db, w.teacher, name="a.pdf", batch_id=w.batches["A"])
    b_file = _upload(db, w.admin, name="b.pdf", batch_id=w.batches["B"])
    _upload(db, w.teacher, name="fractions.png", data=PNG, topic_id=w.topic)
    _upload(db, w.admin, name="physics.docx", data=docx_bytes(), subject_id=w.physics)

    assert _list(db, w.students["A"]) == {"a.pdf", "fractions.png"}
    assert _list(db, w.students["B"]) == {"b.pdf", "fractions.png"}
    assert _list(db, w.students["C"]) == {"physics.docx"}
    # The teacher of batch A: their batch and the subject they teach; not batch B.
    assert _list(db, w.teacher) == {"a.pdf", "fractions.png"}
    assert _list(db, w.admin) == {"a.pdf", "b.pdf", "fractions.png", "physics.docx"}

    got = _download(db, w.students["A"], a_file)
    assert (got.name, got.data, got.content_type) == ("a.pdf", PDF, "application/pdf")
    # Even with the id in hand, a student outside batch B gets nothing.
    with pytest.raises(NotFound):
        _download(db, w.students["A"], b_file)
    with pytest.raises(NotFound):
        _download(db, w.teacher, b_file)

    with db.scope(system=True) as s:
        row = s.get(Material, a_file)
        assert row.storage_key.startswith(f"{w.institute.id}/")
        assert "a.pdf" not in row.storage_key
        assert row.sha256 and row.size_bytes == len(PDF)
    assert store.exists(row.storage_key)


def test_another_institutes_file_is_never_served(db, store):
    w = build(db)
    theirs = _upload(db, w.other_admin, name="secret.pdf", batch_id=w.other_batch)
    for who in (w.admin, w.teacher, w.students["A"]):
        with pytest.raises(NotFound):
            _download(db, who, theirs)
        assert "secret.pdf" not in _list(db, who)
    with pytest.raises(NotFound):
        _upload(db, w.admin, batch_id=w.other_batch)  # nor can anyone share into their batch
    assert _download(db, w.other_student, theirs).data == PDF


def test_a_renamed_program_is_refused_whatever_its_name(db, store):
    w = build(db)
    cases = [
        ("homework.pdf", EXE, "is a program"),
        ("photo.png", b"\x7fELF\x02\x01\x01" + b"\x00" * 40, "is a program"),
        ("macos.pdf", b"\xcf\xfa\xed\xfe" + b"\x00" * 40, "is a program"),
        ("notes.txt", b"#!/bin/sh\nrm -rf /\n", "is a program"),
        ("slides.png", PDF, "named .png but its contents are PDF"),
        ("plain.pdf", b"just some words", "not a recognisable file"),
        ("tool.exe", EXE, "is a program"),
        ("archive.zip", b"PK\x03\x04" + b"\x00" * 30, ".zip files cannot be uploaded"),
        ("notebook.ipynb", b'{"no": "cells"}', "not a Jupyter notebook"),
        ("latin.txt", "café".encode("latin-1"), "not UTF-8 text"),
        ("README", b"hello", "has no file extension"),
    ]
    for name, data, message in cases:
        with pytest.raises(ValidationError, match=message):
            _upload(db, w.teacher, name=name, data=data, batch_id=w.batches["A"])
    with db.scope(system=True) as s:
        assert s.exec(select(Material)).all() == []
    assert list(store.list_keys()) == []

    # What is allowed passes: a notebook, Markdown, an image with a .jpeg alias.
    _upload(db, w.teacher, name="lab.ipynb", data=NOTEBOOK, batch_id=w.batches["A"])
    _upload(db, w.teacher, name="intro.md", data="# Fractions ½".encode(), batch_id=w.batches["A"])
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
    _upload(db, w.teacher, name="board.JPEG", data=jpeg, batch_id=w.batches["A"])
    assert _list(db, w.students["A"]) == {"lab.ipynb", "intro.md", "board.JPEG"}


def test_size_limit_and_allowed_types_come_from_settings(db, store, monkeypatch):
    w = build(db)
    monkeypatch.setenv("MATERIALS_MAX_MB", "1")
    monkeypatch.setenv("MATERIALS_ALLOWED_TYPES", "pdf, .PNG")
    reset_settings_cache()
    big = PDF + b"0" * (1024 * 1024)
    with pytest.raises(ValidationError, match="files can be at most 1 MB"):
        _upload(db, w.teacher, name="big.pdf", data=big, batch_id=w.batches["A"])
    with pytest.raises(ValidationError, match=r"allowed types are pdf, png"):
        _upload(db, w.teacher, name="lab.ipynb", data=NOTEBOOK, batch_id=w.batches["A"])
    assert service.upload_rules() == (["pdf", "png"], 1)
    _upload(db, w.teacher, name="small.pdf", data=PDF + b"0" * 1000, batch_id=w.batches["A"])
    assert list(store.list_keys()) != []


def test_teachers_share_only_where_they_teach(db, store):
    w = build(db)
    with pytest.raises(PermissionDenied, match="not one of your batches"):
        _upload(db, w.teacher, batch_id=w.batches["B"])
    with pytest.raises(PermissionDenied, match="subjects you teach"):
        _upload(db, w.teacher, subject_id=w.physics)
    with pytest.raises(ValidationError, match="one subject, one topic or one batch"):
        _upload(db, w.teacher, subject_id=w.maths, batch_id=w.batches["A"])
    with pytest.raises(PermissionDenied):
        _upload(db, w.students["A"], batch_id=w.batches["A"])
    actor = _actor(w.teacher)
    with db.scope(actor) as s:
        targets = service.share_targets(s, actor=actor)
    assert [label for _, label in targets.batches] == ["Maths A · Mathematics"]
    assert [label for _, label in targets.subjects] == ["Mathematics"]
    assert [label for _, label in targets.topics] == ["Mathematics › Fractions"]


def test_withdrawn_material_disappears_for_students_and_is_audited(db, store):
    w = build(db)
    mine = _upload(db, w.teacher, name="a.pdf", batch_id=w.batches["A"])
    admins = _upload(db, w.admin, name="subject.pdf", subject_id=w.maths)
    assert _download(db, w.students["A"], mine).data == PDF
    _download(db, w.teacher, mine)

    teacher = _actor(w.teacher)
    with db.scope(teacher) as s, pytest.raises(PermissionDenied, match="your own materials"):
        service.delete_material(s, actor=teacher, material_id=admins)
    with db.scope(teacher) as s:
        service.delete_material(s, actor=teacher, material_id=mine)

    assert _list(db, w.students["A"]) == {"subject.pdf"}
    with pytest.raises(NotFound):
        _download(db, w.students["A"], mine)
    with db.scope(teacher) as s:
        withdrawn = service.list_materials(s, actor=teacher, include_deleted=True)
    assert {(m.title, m.deleted_at is not None) for m in withdrawn} == {
        ("a.pdf", True),
        ("subject.pdf", False),
    }
    with db.scope(system=True) as s:
        key = s.get(Material, mine).storage_key
        actions = [
            (e.action, e.actor_user_id)
            for e in s.exec(select(AuditLog).where(AuditLog.target_type == "material"))
        ]
    assert store.exists(key)  # kept until the cleanup job, 30 days on
    assert ("materials.upload", w.teacher.id) in actions
    assert ("materials.download", w.teacher.id) in actions
    assert ("materials.delete", w.teacher.id) in actions
    assert all(user != w.students["A"].id for _, user in actions)  # students' reads are not


def test_links_are_shared_and_opened_not_downloaded(db, store):
    w = build(db)
    actor = _actor(w.teacher)
    with db.scope(actor) as s:
        link = service.add_link(
            s, actor=actor, url="https://example.org/fractions", batch_id=w.batches["A"]
        )
        for bad in ("javascript:alert(1)", "example.org", "ftp://example.org/x"):
            with pytest.raises(ValidationError, match="full web address"):
                service.add_link(s, actor=actor, url=bad, batch_id=w.batches["A"])
    student = _actor(w.students["A"])
    with db.scope(student) as s:
        rows = service.my_materials(s, actor=student)
    assert [(m.title, m.url, m.size_label) for m in rows] == [
        ("example.org", "https://example.org/fractions", "link")
    ]
    with pytest.raises(ValidationError, match="is a link"):
        _download(db, w.students["A"], link.id)


def test_cleanup_removes_orphans_and_long_withdrawn_files_only(db, store):
    w = build(db)
    live = _upload(db, w.teacher, name="live.pdf", batch_id=w.batches["A"])
    recent = _upload(db, w.teacher, name="recent.pdf", batch_id=w.batches["A"])
    old = _upload(db, w.teacher, name="old.pdf", batch_id=w.batches["A"])
    teacher = _actor(w.teacher)
    with clock.frozen(clock.now() - timedelta(days=31)), db.scope(teacher) as s:
        service.delete_material(s, actor=teacher, material_id=old)
    with db.scope(teacher) as s:
        service.delete_material(s, actor=teacher, material_id=recent)
    orphan = new_key(w.institute.id)
    store.put(orphan, PDF, content_type="application/pdf")
    with db.scope(system=True) as s:
        keys = {m.id: m.storage_key for m in s.exec(select(Material))}

    # An object this fresh may belong to an upload still committing: left alone.
    assert materials_cleanup(engine=db.engine) == {
        "objects": 4,
        "orphans_deleted": 0,
        "expired_deleted": 1,
    }
    with clock.frozen(clock.now() + timedelta(hours=2)):
        counts = materials_cleanup(engine=db.engine)
    assert counts == {"objects": 3, "orphans_deleted": 1, "expired_deleted": 0}
    remaining = {obj.key for obj in store.list_keys()}
    assert remaining == {keys[live], keys[recent]}
    with db.scope(system=True) as s:
        assert len(s.exec(select(Material)).all()) == 3  # records are kept
    assert _download(db, w.students["A"], live).data == PDF
