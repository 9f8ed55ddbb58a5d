"""Enrolments with a life (issue 22): joining a batch or converting an inquiry enrols; statuses
move with dates and reasons, audited; teacher and expected completion are set; completion % is
recomputed after class and by a daily set-based job."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from app.academics import service as academics
from app.academics.models import Enrollment
from app.attendance import jobs as attendance_jobs
from app.attendance import service as attendance
from app.attendance.models import TopicProgress
from app.core.audit import AuditLog
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.core.roles import Role
from tests import factories as f
from tests.factories import count


@pytest.fixture
def w(db):
    inst = f.institute(db)
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    teacher = f.user(db, inst, Role.TEACHER, name="Tara")
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Maths")
        batch = academics.create_batch(
            s, actor=admin, name="Maths A", subject_id=subject.id, teacher_user_id=teacher.id
        )
        student = academics.create_student(s, actor=admin, enrollment_no="M1", name="Mia")
    return {
        "inst": inst,
        "admin": admin,
        "teacher": teacher,
        "subject": subject.id,
        "batch": batch.id,
        "student": student.id,
    }


def _enrolment(db, student_id: int) -> Enrollment:
    with db.scope(system=True) as s:
        return s.exec(select(Enrollment).where(Enrollment.student_id == student_id)).one()


def test_joining_a_batch_enrols_in_its_subject_with_its_teacher(db, w):
    admin = w["admin"]
    day = date(2026, 11, 2)
    with db.scope(admin) as s:
        academics.join_batch(s, actor=admin, batch_id=w["batch"], student_id=w["student"], on=day)
    e = _enrolment(db, w["student"])
    assert (e.subject_id, e.status, e.started_on, e.teacher_user_id) == (
        w["subject"],
        "active",
        day,
        w["teacher"].id,
    )
    # A second batch of the same subject keeps the one enrolment.
    with db.scope(admin) as s:
        other = academics.create_batch(s, actor=admin, name="Maths B", subject_id=w["subject"])
        academics.join_batch(s, actor=admin, batch_id=other.id, student_id=w["student"])
    assert count(db, Enrollment) == 1
    join = [a.detail for a in _audits(db, "batch.join")]
    assert [d["enrolment"] for d in join] == ["created", "kept"]


def _audits(db, action):
    with db.scope(system=True) as s:
        return list(s.exec(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def test_joining_again_reactivates_a_dropped_enrolment_but_not_a_completed_one(db, w):
    admin = w["admin"]
    with db.scope(admin) as s:
        academics.join_batch(s, actor=admin, batch_id=w["batch"], student_id=w["student"])
    e = _enrolment(db, w["student"])
    with db.scope(admin) as s:
        academics.change_enrolment_status(
            s, actor=admin, enrolment_id=e.id, status="dropped", reason="Moved away"
        )
        academics.leave_batch(s, actor=admin, batch_id=w["batch"], student_id=w["student"])
        academics.join_batch(s, actor=admin, batch_id=w["batch"], student_id=w["student"])
    e = _enrolment(db, w["student"])
    assert e.status == "active" and e.status_reason == "Joined Maths A"
    with db.scope(admin) as s:
        academics.change_enrolment_status(s, actor=admin, enrolment_id=e.id, status="completed")
        academics.leave_batch(s, actor=admin, batch_id=w["batch"], student_id=w["student"])
        academics.join_batch(s, actor=admin, batch_id=w["batch"], student_id=w["student"])
    assert _enrolment(db, w["student"]).status == "completed"


def test_converting_an_inquiry_enrols_through_the_same_join(db, w):
    from app.crm import service as crm
    from app.fees import service as fees

    admin = w["admin"]
    with db.scope(admin) as s:
        structure = fees.create_structure(
            s, actor=admin, name="Monthly", items=[{"name": "Tuition", "amount_minor": 1000}]
        )
        inquiry = crm.create_inquiry(s, actor=admin, student_name="Ravi", phone="9800000001")
        done = crm.convert(
            s,
            actor=admin,
            inquiry_id=inquiry.id,
            enrollment_no="ADM-9",
            batch_id=w["batch"],
            structure_id=structure.id,
        )
    e = _enrolment(db, done.student.id)
    assert (e.subject_id, e.status, e.teacher_user_id) == (w["subject"], "active", w["teacher"].id)


def test_status_transitions_dates_reasons_and_audit(db, w):
    admin = w["admin"]
    with db.scope(admin) as s:
        academics.join_batch(
            s, actor=admin, batch_id=w["batch"], student_id=w["student"], on=date(2026, 9, 1)
        )
    e = _enrolment(db, w["student"])

    def change(status, reason=None, on=None):
        with db.scope(admin) as s:
            return academics.change_enrolment_status(
                s, actor=admin, enrolment_id=e.id, status=status, reason=reason, on=on
            )

    with pytest.raises(ValidationError, match="Say why the enrolment is paused"):
        change("paused")
    paused = change("paused", reason="Exams at school", on=date(2026, 10, 1))
    assert (paused.status_changed_on, paused.status_reason) == (
        date(2026, 10, 1),
        "Exams at school",
    )
    with pytest.raises(ValidationError, match="cannot become completed.*Resume it first"):
        change("completed")
    with pytest.raises(Conflict, match="already paused"):
        change("paused", reason="again")
    with pytest.raises(ValidationError, match="not an enrolment status"):
        change("finished")
    with pytest.raises(ValidationError, match="started on 01 Sep 2026"):
        change("active", on=date(2026, 8, 1))
    change("active", on=date(2026, 10, 15))
    done = change("completed", on=date(2026, 12, 1))
    assert (done.status, done.completed_on) == ("completed", date(2026, 12, 1))
    reopened = change("active", reason="One more topic")
    assert reopened.completed_on is None
    trail = [(a.detail["from"], a.detail["to"]) for a in _audits(db, "enrolment.status")]
    assert trail == [
        ("active", "paused"),
        ("paused", "active"),
        ("active", "completed"),
        ("completed", "active"),
    ]


def test_teacher_and_expected_completion_are_set_by_admins_only(db, w):
    admin = w["admin"]
    with db.scope(admin) as s:
        academics.join_batch(s, actor=admin, batch_id=w["batch"], student_id=w["student"])
    e = _enrolment(db, w["student"])
    other_teacher = f.user(db, w["inst"], Role.TEACHER)
    with db.scope(admin) as s:
        academics.update_enrolment(
            s,
            actor=admin,
            enrolment_id=e.id,
            teacher_user_id=other_teacher.id,
            expected_completion=e.started_on + timedelta(days=120),
        )
    stored = _enrolment(db, w["student"])
    assert stored.teacher_user_id == other_teacher.id
    assert stored.expected_completion == e.started_on + timedelta(days=120)
    assert count(db, AuditLog, action="enrolment.update") == 1
    with pytest.raises(ValidationError, match="before the start"), db.scope(admin) as s:
        academics.update_enrolment(
            s,
            actor=admin,
            enrolment_id=e.id,
            teacher_user_id=None,
            expected_completion=e.started_on - timedelta(days=1),
        )
    away = f.institute(db)
    away_teacher = f.user(db, away, Role.TEACHER)
    with pytest.raises(ValidationError, match="teacher of this institute"), db.scope(admin) as s:
        academics.update_enrolment(
            s,
            actor=admin,
            enrolment_id=e.id,
            teacher_user_id=away_teacher.id,
            expected_completion=None,
        )
    for role in (Role.TEACHER, Role.COUNSELOR):
        someone = f.actor_for(f.user(db, w["inst"], role))
        with pytest.raises(PermissionDenied), db.scope(someone) as s:
            academics.change_enrolment_status(
                s, actor=someone, enrolment_id=e.id, status="dropped", reason="x"
            )
        with pytest.raises(PermissionDenied), db.scope(someone) as s:
            academics.update_enrolment(
                s, actor=someone, enrolment_id=e.id, teacher_user_id=None, expected_completion=None
            )
    stranger = f.actor_for(f.user(db, away, Role.ADMIN))
    with pytest.raises(NotFound, match="That enrolment does not exist"), db.scope(stranger) as s:
        academics.change_enrolment_status(
            s, actor=stranger, enrolment_id=e.id, status="dropped", reason="x"
        )
    assert _enrolment(db, w["student"]).status == "active"


def test_the_daily_job_recomputes_completion_set_based(db, w, max_queries):
    """Many students, two subjects, topics archived since the last class: one UPDATE per
    institute puts every enrolment right."""
    admin, inst = w["admin"], w["inst"]
    topics = f.topics(db, inst, w["subject"], 4)
    physics = f.subject(db, inst, name="Physics")
    physics_topics = f.topics(db, inst, physics.id, 2)
    students = [f.student(db, inst).id for _ in range(30)]
    with db.scope(system=True) as s:
        for n, student in enumerate(students):
            s.add(
                Enrollment(
                    institute_id=inst.id,
                    student_id=student,
                    subject_id=w["subject"],
                    started_on=date(2026, 9, 1),
                )
            )
            s.add(
                Enrollment(
                    institute_id=inst.id,
                    student_id=student,
                    subject_id=physics.id,
                    started_on=date(2026, 9, 1),
                    completion_pct=77,
                )
            )
            for topic in topics[: n % 5]:  # 0…4 topics done
                s.add(
                    TopicProgress(
                        institute_id=inst.id,
                        student_id=student,
                        topic_id=topic.id,
                        competency=4,
                        status="completed",
                    )
                )
        s.add(
            TopicProgress(
                institute_id=inst.id,
                student_id=students[0],
                topic_id=physics_topics[0].id,
                competency=2,
                status="in_progress",  # not done
            )
        )
    with db.scope(admin) as s:  # the last topic is no longer taught: 3 count
        academics.archive_topic(s, actor=admin, topic_id=topics[3].id)
    other = f.institute(db)  # another institute's enrolments are its own run's business
    other_student = f.student(db, other)
    f.enrolment(db, other, other_student.id, f.subject(db, other).id)
    with db.scope(institute_id=inst.id) as s, max_queries(1):
        changed = attendance.enrolment_completion_internal(s, institute_id=inst.id)
    assert changed == 30 + 30 - 6  # Maths: all but the six with none done (0 → 0)
    with db.scope(system=True) as s:
        pct = {
            (e.student_id, e.subject_id): e.completion_pct
            for e in s.exec(select(Enrollment).where(Enrollment.institute_id == inst.id))
        }
    assert pct[(students[1], w["subject"])] == 33.3
    assert pct[(students[2], w["subject"])] == 66.7
    assert pct[(students[3], w["subject"])] == 100.0
    assert pct[(students[4], w["subject"])] == 100.0  # the archived fourth does not count
    assert pct[(students[0], physics.id)] == 0
    # The worker job runs it for every institute; a second run changes nothing.
    assert attendance_jobs.enrolment_completion(engine=db.engine)["enrolments_updated"] == 0


def test_progress_page_and_report_card_read_the_enrolment(db, w):
    from app.analytics import progress
    from app.coursework import service as coursework

    admin = w["admin"]
    pupil_user = f.user(db, w["inst"], Role.STUDENT)
    pupil = f.student(db, w["inst"], user=pupil_user)
    with db.scope(admin) as s:
        academics.join_batch(
            s, actor=admin, batch_id=w["batch"], student_id=pupil.id, on=date(2026, 9, 1)
        )
    e = _enrolment(db, pupil.id)
    with db.scope(system=True) as s:
        s.get(Enrollment, e.id).completion_pct = 42.5
    with db.scope(admin) as s:
        academics.change_enrolment_status(
            s,
            actor=admin,
            enrolment_id=e.id,
            status="paused",
            reason="Travel",
            on=date(2026, 10, 1),
        )
    me = f.actor_for(pupil_user)
    with db.scope(me) as s:
        [maths] = progress.my_progress(s, actor=me)
        card = coursework.report_card(s, actor=me, start=date(2026, 9, 1), end=date(2026, 12, 1))
    assert (maths.status, maths.completion_pct, maths.status_changed_on) == (
        "paused",
        42.5,
        date(2026, 10, 1),
    )
    [line] = card.enrolments
    assert (line.subject, line.status, line.completion_pct) == ("Maths", "paused", 42.5)
    from app.coursework import reportcard_pdf

    assert reportcard_pdf.render(card).startswith(b"%PDF")


def test_the_teacher_of_the_batch_changes_the_status_on_the_report_card(db, w):
    from tests.pages.apptest import app_as, errors, open_page

    admin = w["admin"]
    with db.scope(admin) as s:
        academics.join_batch(
            s, actor=admin, batch_id=w["batch"], student_id=w["student"], on=date(2026, 9, 1)
        )
    e = _enrolment(db, w["student"])
    at = app_as(w["teacher"].email).run()
    open_page(at, "pages/common/report_card.py")
    assert not errors(at), errors(at)
    at.selectbox(key=f"rc_en_new_{e.id}").set_value("paused")
    at.text_input(key=f"rc_en_reason_{e.id}").input("Family moved for a month")
    at.button(key=f"FormSubmitter:rc_en_status_{e.id}-Change status").click().run()
    assert not errors(at), errors(at)
    stored = _enrolment(db, w["student"])
    assert (stored.status, stored.status_reason) == ("paused", "Family moved for a month")
    [entry] = _audits(db, "enrolment.status")
    assert entry.actor_user_id == w["teacher"].id
