"""A small institute for coursework tests: one teacher's batch of four, another teacher's batch."""

from datetime import UTC, date, datetime

import pytest

from app.academics import service as academics
from app.core import clock
from app.core.roles import Role
from tests import factories as f

# 11:30 in Asia/Kolkata on Tuesday 10 November 2026.
NOW = datetime(2026, 11, 10, 6, 0, tzinfo=UTC)
TODAY = date(2026, 11, 10)


@pytest.fixture
def world(db):
    inst = f.institute(db, timezone="Asia/Kolkata")
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    teacher_user = f.user(db, inst, Role.TEACHER, name="Tara Teacher")
    other_user = f.user(db, inst, Role.TEACHER, name="Omar Other")
    with clock.frozen(datetime(2026, 10, 1, 6, 0, tzinfo=UTC)), db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Mathematics")
        topics = [
            academics.add_topic(s, actor=admin, subject_id=subject.id, name=n).id
            for n in ("Fractions", "Decimals")
        ]
        batch = academics.create_batch(
            s, actor=admin, name="Math A", subject_id=subject.id, teacher_user_id=teacher_user.id
        )
        other_batch = academics.create_batch(
            s, actor=admin, name="Math B", subject_id=subject.id, teacher_user_id=other_user.id
        )
        students = []
        for name in ("Asha Rao", "Bilal Khan", "Chen Li", "Divya Nair"):
            st = academics.create_student(
                s, actor=admin, enrollment_no=f"M-{len(students) + 1:03d}", name=name
            )
            academics.join_batch(s, actor=admin, batch_id=batch.id, student_id=st.id)
            students.append(st.id)
        outsider = academics.create_student(s, actor=admin, enrollment_no="M-900", name="Eve Out")
        academics.join_batch(s, actor=admin, batch_id=other_batch.id, student_id=outsider.id)
    return {
        "inst": inst,
        "admin": admin,
        "teacher": f.actor_for(teacher_user),
        "other": f.actor_for(other_user),
        "subject": subject.id,
        "topics": topics,
        "batch": batch.id,
        "other_batch": other_batch.id,
        "students": students,
        "outsider": outsider.id,
    }
