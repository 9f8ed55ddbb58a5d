"""Students hand homework in (issue 22): text and files through the materials storage's checks,
late after the due day, replaceable until marked; who may read and download what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from app.core import clock
from app.core.audit import AuditLog
from app.core.config import reset_settings_cache
from app.core.errors import Conflict, NotFound, ValidationError
from app.core.roles import Role
from app.coursework import service as coursework
from app.coursework.models import HandInFile, HomeworkSubmission
from app.materials.service import cleanup_storage
from app.materials.storage import get_storage
from tests import factories as f
from tests.pages.apptest import app_as, errors, open_page, shown

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64 + b"This program"
# Wednesday 18 Nov 2026, 10:00 in Kolkata; the homework is due on Thursday the 19th.
NOW = datetime(2026, 11, 18, 4, 30, tzinfo=UTC)
DUE = date(2026, 11, 19)


@pytest.fixture
def school(db, tmp_path, monkeypatch):
    monkeypatch.setenv("MATERIALS_DIR", str(tmp_path / "files"))
    monkeypatch.delenv("MATERIALS_S3_BUCKET", raising=False)
    reset_settings_cache()
    inst = f.institute(db)
    teacher_user = f.user(db, inst, Role.TEACHER, email="tara@school.example")
    stranger = f.actor_for(f.user(db, inst, Role.TEACHER))
    batch = f.batch(db, inst, teacher=teacher_user, name="Class 10 Maths")
    pupils = [f.user(db, inst, Role.STUDENT, email=f"kid{n}@school.example") for n in range(2)]
    for u in pupils:
        f.member(db, inst, batch.id, f.student(db, inst, user=u).id)
    teacher = f.actor_for(teacher_user)
    with clock.frozen(NOW), db.scope(teacher) as s:
        homework = coursework.create_homework(
            s, actor=teacher, batch_id=batch.id, title="Fractions sheet", due_on=DUE, max_marks=10
        )
    other = f.institute(db)
    return {
        "teacher": teacher,
        "teacher_email": teacher_user.email,
        "stranger": stranger,
        "kid": f.actor_for(pupils[0]),
        "kid_email": pupils[0].email,
        "other_kid": f.actor_for(pupils[1]),
        "outsider": f.actor_for(f.user(db, other, Role.STUDENT)),
        "homework": homework.id,
    }


def hand(db, actor, homework_id, *, when=NOW, **kw):
    with clock.frozen(when), db.scope(actor) as s:
        return coursework.hand_in(s, actor=actor, homework_id=homework_id, **kw)


def test_a_student_hands_in_text_and_a_file_on_time_and_the_teacher_reads_it(db, school):
    done = hand(
        db, school["kid"], school["homework"], text="1/2 + 1/4 = 3/4", files=[("work.pdf", PDF)]
    )
    assert (done.status, done.late, done.times) == ("submitted", False, 1)
    assert [f.name for f in done.files] == ["work.pdf"]
    with db.scope(school["teacher"]) as s:
        (seen,) = coursework.hand_ins(s, actor=school["teacher"], homework_id=school["homework"])
        name, kind, data = coursework.download_hand_in(
            s, actor=school["teacher"], file_id=seen.files[0].id
        )
    assert (seen.text, name, kind, data) == ("1/2 + 1/4 = 3/4", "work.pdf", "application/pdf", PDF)
    with db.scope(system=True) as s:
        sub = s.exec(
            select(HomeworkSubmission).where(HomeworkSubmission.id == seen.submission_id)
        ).one()
        audited = s.exec(select(AuditLog.action).where(AuditLog.action == "homework.hand_in")).all()
    assert (
        sub.on_time and sub.submitted_on == date(2026, 11, 18) and audited == ["homework.hand_in"]
    )


def test_after_the_due_day_it_is_late_and_late_is_not_on_time_for_risk(db, school):
    after = datetime(2026, 11, 19, 19, 0, tzinfo=UTC)  # 00:30 on the 20th in Kolkata
    done = hand(db, school["kid"], school["homework"], text="Sorry, late", when=after)
    assert done.status == "late" and done.late
    with db.scope(system=True) as s:
        assert (
            s.exec(
                select(HomeworkSubmission.on_time).where(
                    HomeworkSubmission.id == done.submission_id
                )
            ).one()
            is False
        )


def test_it_can_be_replaced_until_marked_then_not(db, school):
    hand(db, school["kid"], school["homework"], text="First try", files=[("a.pdf", PDF)])
    again = hand(db, school["kid"], school["homework"], text="Second try")
    assert again.times == 2 and again.files == [] and again.text == "Second try"
    with db.scope(school["teacher"]) as s:
        coursework.mark_homework(
            s,
            actor=school["teacher"],
            homework_id=school["homework"],
            rows=[{"student_id": again.student_id, "status": "graded", "marks": 8}],
        )
    with pytest.raises(Conflict, match="can no longer be changed"):
        hand(db, school["kid"], school["homework"], text="Third try")


def test_bad_input_is_refused_with_a_clear_message_and_nothing_written(db, school, monkeypatch):
    with pytest.raises(ValidationError, match="Write your answer or attach a file"):
        hand(db, school["kid"], school["homework"], text="  ")
    with pytest.raises(ValidationError):
        hand(db, school["kid"], school["homework"], text="x", files=[("virus.pdf", EXE)])
    monkeypatch.setenv("MATERIALS_MAX_MB", "1")
    reset_settings_cache()
    with pytest.raises(ValidationError, match="files can be at most 1 MB"):
        hand(db, school["kid"], school["homework"], files=[("big.pdf", PDF + b"0" * 2_000_000)])
    with db.scope(system=True) as s:
        assert s.exec(select(HandInFile)).all() == []
        assert s.exec(
            select(HomeworkSubmission.handed_in_at).where(
                HomeworkSubmission.homework_id == school["homework"]
            )
        ).all() == [None, None]
    assert list(get_storage().list_keys()) == []


def test_only_the_student_their_teacher_and_admins_reach_a_hand_in(db, school):
    done = hand(db, school["kid"], school["homework"], files=[("work.pdf", PDF)])
    file_id = done.files[0].id
    for actor in (school["other_kid"], school["stranger"], school["outsider"]):
        with db.scope(actor) as s, pytest.raises(NotFound):
            coursework.download_hand_in(s, actor=actor, file_id=file_id)
    with db.scope(school["outsider"]) as s, pytest.raises(NotFound):
        coursework.hand_in(s, actor=school["outsider"], homework_id=school["homework"], text="x")
    with db.scope(school["kid"]) as s:
        assert coursework.download_hand_in(s, actor=school["kid"], file_id=file_id)[2] == PDF


def test_the_storage_cleanup_keeps_handed_in_files(db, school):
    done = hand(db, school["kid"], school["homework"], files=[("work.pdf", PDF)])
    with clock.frozen(NOW + timedelta(days=30)), db.scope(system=True) as s:
        counts = cleanup_storage(s, storage=get_storage())
    assert counts["orphans_deleted"] == 0
    with db.scope(school["kid"]) as s:
        assert (
            coursework.download_hand_in(s, actor=school["kid"], file_id=done.files[0].id)[2] == PDF
        )


def test_the_student_hands_in_on_the_page_and_the_teacher_sees_it_escaped(db, school):
    hostile = "<img src=x onerror=alert(1)> **bold** [x](http://evil.example)"
    with clock.frozen(NOW):
        at = app_as(school["kid_email"]).run()
        open_page(at, "pages/student/homework.py")
        at.text_area(key=f"hi_text_{school['homework']}").input(hostile)
        at.button(key=f"FormSubmitter:hand_in_{school['homework']}-Hand in").click().run()
        assert not errors(at), errors(at)
        assert any("Handed in Fractions sheet." in shown(s.value) for s in at.success)

        teacher = app_as(school["teacher_email"]).run()
        open_page(teacher, "pages/teacher/homework.py")
        assert not errors(teacher), errors(teacher)
        assert hostile in [t.value for t in teacher.text]  # plain text: nothing rendered
