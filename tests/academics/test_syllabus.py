"""A syllabus you can edit (issue 22): rename, reorder, archive (never delete), codes unique per
institute, objectives and prerequisites — and the attendance sheet's suggestions follow it."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import select

from app.academics import service as academics
from app.academics.models import Subject, Topic
from app.attendance import service as attendance
from app.attendance.models import ClassSession
from app.core import clock
from app.core.audit import AuditLog
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.core.roles import Role
from tests import factories as f
from tests.factories import count


@pytest.fixture
def w(db):
    inst = f.institute(db)
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Chemistry", code="chm")
        topics = [
            academics.add_topic(s, actor=admin, subject_id=subject.id, name=n).id
            for n in ("Atoms", "Bonds", "Reactions", "Organic")
        ]
    return {"inst": inst, "admin": admin, "subject": subject.id, "topics": topics}


def test_codes_are_capitals_and_unique_per_institute_with_a_clear_message(db, w):
    admin = w["admin"]
    with db.scope(system=True) as s:
        assert s.get(Subject, w["subject"]).code == "CHM"
    with (
        pytest.raises(Conflict, match="The code CHM is already used by Chemistry"),
        db.scope(admin) as s,
    ):
        academics.create_subject(s, actor=admin, name="Chem lab", code=" Chm ")
    with db.scope(admin) as s:
        physics = academics.create_subject(s, actor=admin, name="Physics")
    with pytest.raises(Conflict, match="already used by Chemistry"), db.scope(admin) as s:
        academics.update_subject(s, actor=admin, subject_id=physics.id, name="Physics", code="CHM")
    with (
        pytest.raises(Conflict, match="A subject called Chemistry already exists"),
        db.scope(admin) as s,
    ):
        academics.update_subject(s, actor=admin, subject_id=physics.id, name="chemistry", code="")
    # Another institute may use the same code; subjects without a code never clash.
    other = f.actor_for(f.user(db, f.institute(db), Role.ADMIN))
    with db.scope(other) as s:
        academics.create_subject(s, actor=other, name="Chemistry", code="CHM")
    with db.scope(admin) as s:
        academics.create_subject(s, actor=admin, name="Biology")
        academics.update_subject(s, actor=admin, subject_id=physics.id, name="Physics II", code="")
    with db.scope(system=True) as s:
        assert s.get(Subject, physics.id).name == "Physics II"
        assert s.get(Subject, physics.id).code is None


def test_the_database_refuses_a_repeated_code_too(db, w):
    """The unique index is the wall when two admins save at the same moment."""
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.scope(system=True) as s:
        s.add(Subject(institute_id=w["inst"].id, name="Other", code="CHM"))
        s.flush()


def test_rename_subject_and_topic_are_audited(db, w):
    admin = w["admin"]
    with db.scope(admin) as s:
        academics.update_subject(s, actor=admin, subject_id=w["subject"], name="Chem", code="CH")
        academics.update_topic(
            s,
            actor=admin,
            topic_id=w["topics"][0],
            name="Atoms and ions",
            estimated_minutes=90,
            difficulty=2,
            objectives="Name the parts of an atom.",
            prerequisites=[],
        )
    with db.scope(system=True) as s:
        topic = s.get(Topic, w["topics"][0])
        assert (topic.name, topic.estimated_minutes, topic.objectives) == (
            "Atoms and ions",
            90,
            "Name the parts of an atom.",
        )
        actions = list(s.exec(select(AuditLog.action).order_by(AuditLog.id)))
    assert {"subject.create", "topic.create", "subject.update", "topic.update"} <= set(actions)


def test_only_admins_edit_and_other_institutes_ids_are_refused(db, w):
    teacher = f.actor_for(f.user(db, w["inst"], Role.TEACHER))
    with pytest.raises(PermissionDenied), db.scope(teacher) as s:
        academics.move_topic(s, actor=teacher, topic_id=w["topics"][1], by=-1)
    with pytest.raises(PermissionDenied), db.scope(teacher) as s:
        academics.archive_topic(s, actor=teacher, topic_id=w["topics"][1])
    stranger = f.actor_for(f.user(db, f.institute(db), Role.ADMIN))
    with pytest.raises(NotFound, match="That topic does not exist"), db.scope(stranger) as s:
        academics.archive_topic(s, actor=stranger, topic_id=w["topics"][1])
    with pytest.raises(NotFound, match="That subject does not exist"), db.scope(stranger) as s:
        academics.update_subject(s, actor=stranger, subject_id=w["subject"], name="X", code="")
    with pytest.raises(NotFound), db.scope(stranger) as s:
        academics.update_topic(
            s,
            actor=stranger,
            topic_id=w["topics"][1],
            name="X",
            estimated_minutes=60,
            difficulty=3,
            objectives=None,
            prerequisites=[],
        )


def test_reorder_up_and_down_renumbers_the_syllabus(db, w):
    admin, t = w["admin"], w["topics"]
    with db.scope(admin) as s:
        order = academics.move_topic(s, actor=admin, topic_id=t[2], by=-1)
    assert [x.id for x in order] == [t[0], t[2], t[1], t[3]]
    assert [x.position for x in order] == [1, 2, 3, 4]
    with db.scope(admin) as s:
        academics.move_topic(s, actor=admin, topic_id=t[0], by=1)
        assert [x.id for x in academics.syllabus(s, actor=admin, subject_id=w["subject"])] == [
            t[2],
            t[0],
            t[1],
            t[3],
        ]
    with pytest.raises(ValidationError, match="already first"), db.scope(admin) as s:
        academics.move_topic(s, actor=admin, topic_id=t[2], by=-1)
    with pytest.raises(ValidationError, match="already last"), db.scope(admin) as s:
        academics.move_topic(s, actor=admin, topic_id=t[3], by=1)
    assert count(db, AuditLog, action="topic.move") == 2


def test_archived_topics_and_subjects_leave_the_pickers_but_stay(db, w):
    admin = w["admin"]
    with db.scope(admin) as s:
        academics.archive_topic(s, actor=admin, topic_id=w["topics"][1])
        assert w["topics"][1] not in [
            t.id for t in academics.syllabus(s, actor=admin, subject_id=w["subject"])
        ]
        assert w["topics"][1] in [
            t.id
            for t in academics.syllabus(
                s, actor=admin, subject_id=w["subject"], include_archived=True
            )
        ]
        academics.archive_subject(s, actor=admin, subject_id=w["subject"])
        assert academics.list_subjects(s, actor=admin) == []
        assert len(academics.list_subjects(s, actor=admin, include_archived=True)) == 1
        academics.archive_subject(s, actor=admin, subject_id=w["subject"], archived=False)
        academics.archive_topic(s, actor=admin, topic_id=w["topics"][1], archived=False)
        assert len(academics.syllabus(s, actor=admin, subject_id=w["subject"])) == 4
    assert count(db, Topic) == 4  # nothing was deleted
    assert count(db, AuditLog, action="topic.archive") == 1
    assert count(db, AuditLog, action="subject.restore") == 1
    assert not hasattr(academics, "delete_topic") and not hasattr(academics, "delete_subject")


def test_a_subject_with_open_batches_is_not_archived(db, w):
    admin = w["admin"]
    with db.scope(admin) as s:
        batch = academics.create_batch(s, actor=admin, name="Chem A", subject_id=w["subject"])
    with (
        pytest.raises(Conflict, match=r"open batches \(Chem A\); close them"),
        db.scope(admin) as s,
    ):
        academics.archive_subject(s, actor=admin, subject_id=w["subject"])
    with db.scope(admin) as s:
        academics.update_batch(s, actor=admin, batch_id=batch.id, active=False)
        academics.archive_subject(s, actor=admin, subject_id=w["subject"])


def _edit(s, admin, topic_id, prerequisites, name="Topic"):
    return academics.update_topic(
        s,
        actor=admin,
        topic_id=topic_id,
        name=name,
        estimated_minutes=60,
        difficulty=3,
        objectives=None,
        prerequisites=prerequisites,
    )


def test_prerequisites_same_subject_no_self_no_cycle(db, w):
    admin, t = w["admin"], w["topics"]
    with db.scope(admin) as s:
        _edit(s, admin, t[1], [t[0]], name="Bonds")
        _edit(s, admin, t[2], [t[1]], name="Reactions")
    with (
        pytest.raises(ValidationError, match="Atoms cannot need Reactions: Reactions already"),
        db.scope(admin) as s,
    ):
        _edit(s, admin, t[0], [t[2]], name="Atoms")
    with (
        pytest.raises(ValidationError, match="cannot be its own prerequisite"),
        db.scope(admin) as s,
    ):
        _edit(s, admin, t[0], [t[0]], name="Atoms")
    with db.scope(admin) as s:
        other = academics.create_subject(s, actor=admin, name="Maths")
        algebra = academics.add_topic(s, actor=admin, subject_id=other.id, name="Algebra")
    with (
        pytest.raises(ValidationError, match="must be topics of this subject"),
        db.scope(admin) as s,
    ):
        _edit(s, admin, t[3], [algebra.id], name="Organic")
    stranger = f.actor_for(f.user(db, f.institute(db), Role.ADMIN))
    with db.scope(stranger) as s:
        theirs = academics.create_subject(s, actor=stranger, name="Chemistry")
        their_topic = academics.add_topic(s, actor=stranger, subject_id=theirs.id, name="Atoms")
    with (
        pytest.raises(ValidationError, match="must be topics of this subject"),
        db.scope(admin) as s,
    ):
        academics.add_topic(
            s, actor=admin, subject_id=w["subject"], name="X", prerequisites=[their_topic.id]
        )
    with db.scope(admin) as s:
        academics.archive_topic(s, actor=admin, topic_id=t[0])
    with pytest.raises(ValidationError, match="Atoms is archived"), db.scope(admin) as s:
        _edit(s, admin, t[3], [t[0]], name="Organic")
    with db.scope(system=True) as s:
        assert s.get(Topic, t[0]).prerequisites is None
        assert s.get(Topic, t[2]).prerequisites == [t[1]]


# ------------------------------------------------------------------ the sheet's suggestions

MONDAY = date(2026, 11, 2)
CLASS_START = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)  # 10:00 Asia/Kolkata


def _class_world(db, w):
    admin = w["admin"]
    teacher_user = f.user(db, w["inst"], Role.TEACHER)
    with db.scope(admin) as s:
        batch = academics.create_batch(
            s, actor=admin, name="Chem A", subject_id=w["subject"], teacher_user_id=teacher_user.id
        )
        academics.add_schedule(
            s, actor=admin, batch_id=batch.id, weekday=0, start_time=time(10), duration_minutes=60
        )
        student = academics.create_student(s, actor=admin, enrollment_no="C1", name="Cleo")
        academics.join_batch(
            s, actor=admin, batch_id=batch.id, student_id=student.id, on=MONDAY - timedelta(7)
        )
        attendance.generate_for(s, actor=admin, start=MONDAY, end=MONDAY + timedelta(days=7))
        sessions = list(s.exec(select(ClassSession.id).order_by(ClassSession.date).limit(2)).all())
    return f.actor_for(teacher_user), sessions


def test_sheet_suggestions_skip_archived_topics_and_wait_for_prerequisites(db, w):
    admin, t = w["admin"], w["topics"]
    with db.scope(admin) as s:
        _edit(s, admin, t[2], [t[0], t[1]], name="Reactions")  # needs Atoms and Bonds
        academics.archive_topic(s, actor=admin, topic_id=t[1])  # Bonds no longer taught
    teacher, (first, second) = _class_world(db, w)
    with clock.frozen(CLASS_START), db.scope(teacher) as s:
        sheet = attendance.attendance_sheet(s, actor=teacher, session_id=first)
        # Bonds is archived (not offered), Reactions waits for Atoms, Organic is free.
        assert [x.id for x in sheet.topics] == [t[0], t[2], t[3]]
        assert sheet.suggested == [t[0], t[3]]
    with (
        pytest.raises(ValidationError, match="this batch's syllabus"),
        clock.frozen(CLASS_START),
        db.scope(teacher) as s,
    ):
        attendance.submit_attendance(
            s, actor=teacher, session_id=first, marks={}, expected_version=0, topics=[t[1]]
        )
    with clock.frozen(CLASS_START), db.scope(teacher) as s:
        attendance.submit_attendance(
            s, actor=teacher, session_id=first, marks={}, expected_version=0, topics=[t[0]]
        )
    # Atoms covered: Reactions (its archived prerequisite no longer counts) comes next.
    with clock.frozen(CLASS_START + timedelta(days=7)), db.scope(teacher) as s:
        sheet = attendance.attendance_sheet(s, actor=teacher, session_id=second)
        assert sheet.suggested == [t[2], t[3]]


def test_a_batch_cannot_open_or_reopen_on_an_archived_subject(db, w):
    admin = w["admin"]
    with db.scope(admin) as s:
        old = academics.create_batch(s, actor=admin, name="Chem Old", subject_id=w["subject"])
        academics.update_batch(s, actor=admin, batch_id=old.id, active=False)
        academics.archive_subject(s, actor=admin, subject_id=w["subject"])
    with (
        pytest.raises(ValidationError, match="Chemistry is archived: restore it"),
        db.scope(admin) as s,
    ):
        academics.create_batch(s, actor=admin, name="Chem A", subject_id=w["subject"])
    with (
        pytest.raises(ValidationError, match="Chemistry is archived: restore it"),
        db.scope(admin) as s,
    ):
        academics.update_batch(s, actor=admin, batch_id=old.id, active=True)


def test_a_closed_batch_does_not_reopen_on_an_archived_subject(db, w):
    admin = w["admin"]
    with db.scope(admin) as s:
        batch = academics.create_batch(s, actor=admin, name="Chem A", subject_id=w["subject"])
        academics.update_batch(s, actor=admin, batch_id=batch.id, active=False)
        academics.archive_subject(s, actor=admin, subject_id=w["subject"])
    with (
        pytest.raises(ValidationError, match="Chemistry is archived: restore it"),
        db.scope(admin) as s,
    ):
        academics.update_batch(s, actor=admin, batch_id=batch.id, active=True)
    with db.scope(admin) as s:
        academics.update_batch(s, actor=admin, batch_id=batch.id, name="Chem A (old)")
        academics.archive_subject(s, actor=admin, subject_id=w["subject"], archived=False)
        assert academics.update_batch(s, actor=admin, batch_id=batch.id, active=True).active


def test_archived_topics_leave_learning_analytics(db, w):
    from app.analytics import learning

    admin = w["admin"]
    with db.scope(admin) as s:
        batch = academics.create_batch(s, actor=admin, name="Chem A", subject_id=w["subject"])
        student = academics.create_student(s, actor=admin, enrollment_no="C-1", name="Cara")
        academics.join_batch(s, actor=admin, batch_id=batch.id, student_id=student.id)
        academics.archive_topic(s, actor=admin, topic_id=w["topics"][3])
        names = [r["Topic"] for r in learning.topics(s, actor=admin, subject_id=w["subject"])]
        [row] = learning.enrolments(s, actor=admin, batch_id=batch.id)
    assert names == ["Atoms", "Bonds", "Reactions"]  # "Organic" is archived
    assert (row.topics, row.completed) == (3, 0)
