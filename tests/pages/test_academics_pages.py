"""Admin set-up pages with real data: students, batches, syllabus, inbox."""

from datetime import time

from sqlmodel import select

from app.academics import service as academics
from app.academics.models import Enrollment, Student, TeacherProfile
from app.core.roles import Role
from tests import factories as f
from tests.pages.apptest import app_as, by_label, errors, frame, open_page


def test_admin_sets_up_students_and_batches(db):
    inst = f.institute(db)
    admin_user = f.user(db, inst, Role.ADMIN, email="boss@x.example")
    teacher = f.user(db, inst, Role.TEACHER, name="Tara Teacher")
    admin = f.actor_for(admin_user)
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Biology")
        academics.add_topic(s, actor=admin, subject_id=subject.id, name="Cells")
        batch = academics.create_batch(
            s, actor=admin, name="Bio A", subject_id=subject.id, teacher_user_id=teacher.id
        )
        academics.add_schedule(
            s, actor=admin, batch_id=batch.id, weekday=2, start_time=time(9, 0), duration_minutes=45
        )
        student = academics.create_student(s, actor=admin, enrollment_no="B-1", name="Bea")
        academics.join_batch(s, actor=admin, batch_id=batch.id, student_id=student.id)

    at = app_as(admin_user.email).run()
    open_page(at, "pages/admin/students.py")
    assert not errors(at) and "Bea" in set(frame(at, "Enrollment")["Name"])
    captions = [c.value for c in at.caption]
    assert "Nothing to show yet." not in captions  # each empty table says what is missing
    assert "Not enrolled in a subject yet." in captions
    assert any(c.startswith("No guardian yet") for c in captions)
    at.text_input(key=f"e_phone_{student.id}").input("98765 43210")
    at.button(key=f"FormSubmitter:edit_student_{student.id}-Save details").click().run()
    at.button(key=f"FormSubmitter:enrol_{student.id}-Enrol").click().run()
    assert not errors(at), errors(at)

    open_page(at, "pages/admin/batches.py")
    assert not errors(at)
    row = frame(at, "Schedule").set_index("Batch").loc["Bio A"]
    assert row["Students"] == 1 and row["Schedule"] == "Wed 09:00 (45 min)"
    by_label(at.text_input, "Specialization").input("Life sciences")
    at.button(key="FormSubmitter:teacher_profile-Save profile").click().run()
    assert not errors(at), errors(at)

    open_page(at, "pages/admin/syllabus.py")
    assert list(frame(at, "Topic")["Topic"]) == ["Cells"]
    open_page(at, "pages/teacher/inbox.py")
    assert not errors(at)

    with db.scope(system=True) as s:
        assert s.get(Student, student.id).phone == "+919876543210"
        assert s.exec(select(Enrollment)).one().subject_id == subject.id
        assert s.exec(select(TeacherProfile)).one().specialization == "Life sciences"
