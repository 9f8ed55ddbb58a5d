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
        art = academics.create_subject(s, actor=admin, name="Art")
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
    # Joining Bio A enrolled Bea in Biology (issue 22).
    enrolled = frame(at, "Completion %").set_index("Subject")
    assert enrolled.loc["Biology"]["Status"] == "active"
    assert any(c.startswith("No guardian yet") for c in captions)
    at.text_input(key=f"e_phone_{student.id}").input("98765 43210")
    at.button(key=f"FormSubmitter:edit_student_{student.id}-Save details").click().run()
    at.button(key=f"FormSubmitter:enrol_{student.id}-Enrol").click().run()  # in Art
    assert not errors(at), errors(at)

    open_page(at, "pages/admin/batches.py")
    assert not errors(at)
    row = frame(at, "Schedule").set_index("Batch").loc["Bio A"]
    assert row["Students"] == 1 and row["Schedule"] == "Wed 09:00 (45 min)"
    by_label(at.text_input, "Specialization").input("Life sciences")
    at.button(key="FormSubmitter:teacher_profile-Save profile").click().run()
    assert not errors(at), errors(at)

    open_page(at, "pages/admin/syllabus.py")
    at.selectbox(key="syl_subject").set_value(subject.id).run()
    assert list(frame(at, "Topic")["Topic"]) == ["Cells"]
    open_page(at, "pages/teacher/inbox.py")
    assert not errors(at)

    with db.scope(system=True) as s:
        assert s.get(Student, student.id).phone == "+919876543210"
        assert sorted(s.exec(select(Enrollment.subject_id)).all()) == sorted([subject.id, art.id])
        assert s.exec(select(TeacherProfile)).one().specialization == "Life sciences"


def test_admin_edits_the_syllabus_on_its_page(db):
    """Rename and code a subject, reorder, edit (objectives, prerequisites) and archive topics;
    a clash of codes and a cycle of prerequisites are told, nothing half-saved (issue 22)."""
    from app.academics.models import Subject, Topic

    inst = f.institute(db)
    admin_user = f.user(db, inst, Role.ADMIN, email="syl@x.example")
    admin = f.actor_for(admin_user)
    with db.scope(admin) as s:
        academics.create_subject(s, actor=admin, name="Art", code="ART")
        subject = academics.create_subject(s, actor=admin, name="Biology")
        cells, genes = (
            academics.add_topic(s, actor=admin, subject_id=subject.id, name=n).id
            for n in ("Cells", "Genes")
        )

    at = app_as(admin_user.email).run()
    open_page(at, "pages/admin/syllabus.py")
    at.selectbox(key="syl_subject").set_value(subject.id).run()
    at.text_input(key=f"subj_code_{subject.id}").input("art")
    at.button(key=f"FormSubmitter:edit_subject_{subject.id}-Save subject").click().run()
    assert "The code ART is already used by Art; choose another code." in errors(at)
    at.text_input(key=f"subj_rename_{subject.id}").input("Life science")
    at.text_input(key=f"subj_code_{subject.id}").input("bio")
    at.button(key=f"FormSubmitter:edit_subject_{subject.id}-Save subject").click().run()
    assert not errors(at), errors(at)

    # Genes moves up; then Cells (now second) gets objectives and needs Genes.
    at.selectbox(key="syl_topic").set_value(genes).run()
    at.button(key="topic_up").click().run()
    assert list(frame(at, "Topic")["Topic"]) == ["Genes", "Cells"]
    at.selectbox(key="syl_topic").set_value(cells).run()
    at.text_area(key=f"t_obj_{cells}").input("Draw a cell.")
    at.multiselect(key=f"t_needs_{cells}").select(genes)
    at.button(key=f"FormSubmitter:edit_topic_{cells}-Save topic").click().run()
    assert not errors(at), errors(at)
    row = frame(at, "Topic").set_index("Topic").loc["Cells"]
    assert row["Needs"] == "Genes" and row["Objectives"] == "Draw a cell."
    # Genes cannot need Cells back.
    at.selectbox(key="syl_topic").set_value(genes).run()
    at.multiselect(key=f"t_needs_{genes}").select(cells)
    at.button(key=f"FormSubmitter:edit_topic_{genes}-Save topic").click().run()
    assert any("Genes cannot need Cells" in e for e in errors(at))
    at.button(key="topic_archive").click().run()
    assert not errors(at), errors(at)
    assert bool(frame(at, "Topic").set_index("Topic").loc["Genes"]["Archived"]) is True

    with db.scope(system=True) as s:
        stored = s.get(Subject, subject.id)
        assert (stored.name, stored.code) == ("Life science", "BIO")
        assert s.get(Topic, cells).prerequisites == [genes]
        assert s.get(Topic, cells).objectives == "Draw a cell."
        assert s.get(Topic, genes).prerequisites is None
        assert s.get(Topic, genes).archived_at is not None
        assert [t.position for t in (s.get(Topic, genes), s.get(Topic, cells))] == [1, 2]


def test_admin_changes_an_enrolments_status_teacher_and_expected_date(db):
    """The student record lists enrolments with their status; an admin pauses one (a reason is
    asked for), resumes it and sets its teacher and expected completion (issue 22)."""
    from datetime import date

    inst = f.institute(db)
    admin_user = f.user(db, inst, Role.ADMIN, email="office@x.example")
    teacher = f.user(db, inst, Role.TEACHER, name="Tara Teacher")
    admin = f.actor_for(admin_user)
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Biology")
        batch = academics.create_batch(s, actor=admin, name="Bio A", subject_id=subject.id)
        student = academics.create_student(s, actor=admin, enrollment_no="B-1", name="Bea")
        academics.join_batch(
            s, actor=admin, batch_id=batch.id, student_id=student.id, on=date(2026, 9, 1)
        )
    with db.scope(system=True) as s:
        enrolment = s.exec(select(Enrollment)).one()

    at = app_as(admin_user.email).run()
    open_page(at, "pages/admin/students.py")
    assert not errors(at), errors(at)
    at.selectbox(key=f"en_new_{enrolment.id}").set_value("paused")
    at.button(key=f"FormSubmitter:en_status_{enrolment.id}-Change status").click().run()
    assert "Say why the enrolment is paused." in errors(at)
    at.selectbox(key=f"en_new_{enrolment.id}").set_value("paused")
    at.text_input(key=f"en_reason_{enrolment.id}").input("Exams at school")
    at.button(key=f"FormSubmitter:en_status_{enrolment.id}-Change status").click().run()
    assert not errors(at), errors(at)
    row = frame(at, "Completion %").set_index("Subject").loc["Biology"]
    assert (row["Status"], row["Reason"]) == ("paused", "Exams at school")
    # Paused can only resume or drop.
    assert at.selectbox(key=f"en_new_{enrolment.id}").options == ["active", "dropped"]
    at.selectbox(key=f"en_teacher_{enrolment.id}").set_value(teacher.id)
    at.date_input(key=f"en_expected_{enrolment.id}").set_value(date(2027, 3, 31))
    at.button(key=f"FormSubmitter:en_edit_{enrolment.id}-Save enrolment").click().run()
    assert not errors(at), errors(at)
    assert frame(at, "Completion %").set_index("Subject").loc["Biology"]["Teacher"] == (
        "Tara Teacher"
    )
    with db.scope(system=True) as s:
        stored = s.get(Enrollment, enrolment.id)
        assert (stored.status, stored.status_reason) == ("paused", "Exams at school")
        assert (stored.teacher_user_id, stored.expected_completion) == (
            teacher.id,
            date(2027, 3, 31),
        )

    # A counselor sees the enrolments but not the controls.
    counselor = f.user(db, inst, Role.COUNSELOR, email="couns@x.example")
    at = app_as(counselor.email).run()
    open_page(at, "pages/admin/students.py")
    assert not errors(at) and "Biology" in set(frame(at, "Completion %")["Subject"])
    assert not [b for b in at.button if "Change status" in str(b.key)]
