"""A small materials world: two institutes; subjects, a topic, batches with one student each."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date

from app.core.roles import Role
from tests import factories as f

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64 + b"This program"


def docx_bytes() -> bytes:
    """A minimal Word document (the parts a sniffer looks at)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


@dataclass
class World:
    institute: object
    admin: object
    teacher: object  # teaches batch A (Maths)
    other_teacher: object  # teaches batch B (Maths) and C (Physics)
    students: dict  # "A" / "B" / "C" → student user
    maths: int
    physics: int
    topic: int  # a Maths topic
    batches: dict  # "A" / "B" / "C" → batch id
    other_admin: object
    other_student: object
    other_batch: int

    def actor(self, who):
        return f.actor_for(who)


def _institute(db, tag: str):
    inst = f.institute(db)
    admin = f.user(db, inst, Role.ADMIN)
    teacher = f.user(db, inst, Role.TEACHER)
    other_teacher = f.user(db, inst, Role.TEACHER)
    users = {
        name: f.user(db, inst, Role.STUDENT, email=f"{tag}{name.lower()}{inst.id}@example.com")
        for name in ("A", "B", "C")
    }
    maths = f.subject(db, inst, name="Mathematics")
    physics = f.subject(db, inst, name="Physics")
    (topic,) = f.topics(db, inst, maths.id, ["Fractions"])
    batches = {
        "A": f.batch(db, inst, subject_id=maths.id, teacher=teacher, name="Maths A"),
        "B": f.batch(db, inst, subject_id=maths.id, teacher=other_teacher, name="Maths B"),
        "C": f.batch(db, inst, subject_id=physics.id, teacher=other_teacher, name="Physics C"),
    }
    for n, (name, u) in enumerate(users.items()):
        student = f.student(
            db, inst, user=u, enrollment_no=f"{tag}-{n}", name=f"Pupil {name}", email=u.email
        )
        f.member(db, inst, batches[name].id, student.id, joined_on=date(2026, 1, 1))
    return (
        inst,
        admin,
        teacher,
        other_teacher,
        users,
        maths.id,
        physics.id,
        topic.id,
        {k: b.id for k, b in batches.items()},
    )


def build(db) -> World:
    inst, admin, teacher, other_teacher, users, maths, physics, topic, batches = _institute(db, "m")
    other = _institute(db, "o")
    return World(
        institute=inst,
        admin=admin,
        teacher=teacher,
        other_teacher=other_teacher,
        students=users,
        maths=maths,
        physics=physics,
        topic=topic,
        batches=batches,
        other_admin=other[1],
        other_student=other[4]["A"],
        other_batch=other[8]["A"],
    )
