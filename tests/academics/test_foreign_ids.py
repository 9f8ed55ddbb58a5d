"""Every id a caller passes for another row must belong to the actor's institute: a foreign key
alone accepts another institute's user (on PostgreSQL FK checks ignore RLS) (issue 18)."""

import pytest
from sqlmodel import select

from app.academics import service as academics
from app.academics.models import Batch, Student
from app.core.errors import ValidationError
from app.core.roles import Role
from tests import factories as f


@pytest.fixture
def two(db):
    home, away = f.institute(db), f.institute(db)
    admin = f.actor_for(f.user(db, home, Role.ADMIN))
    return {
        "admin": admin,
        "home_teacher": f.user(db, home, Role.TEACHER),
        "home_counselor": f.user(db, home, Role.COUNSELOR),
        "away_teacher": f.user(db, away, Role.TEACHER),
        "away_counselor": f.user(db, away, Role.COUNSELOR),
    }


def test_a_batch_cannot_get_another_institutes_teacher(db, two):
    admin = two["admin"]
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Maths")
        batch = academics.create_batch(s, actor=admin, name="M1", subject_id=subject.id)
    with pytest.raises(ValidationError, match="teacher of this institute"), db.scope(admin) as s:
        academics.update_batch(
            s, actor=admin, batch_id=batch.id, teacher_user_id=two["away_teacher"].id
        )
    with pytest.raises(ValidationError, match="teacher of this institute"), db.scope(admin) as s:
        academics.update_batch(
            s, actor=admin, batch_id=batch.id, teacher_user_id=two["home_counselor"].id
        )
    with db.scope(admin) as s:
        academics.update_batch(
            s, actor=admin, batch_id=batch.id, teacher_user_id=two["home_teacher"].id
        )
    with db.scope(system=True) as s:
        assert s.get(Batch, batch.id).teacher_user_id == two["home_teacher"].id


def test_a_student_cannot_get_another_institutes_counselor(db, two):
    admin = two["admin"]
    with pytest.raises(ValidationError, match="counselor of this institute"), db.scope(admin) as s:
        academics.create_student(
            s,
            actor=admin,
            enrollment_no="S1",
            name="Asha",
            counselor_user_id=two["away_counselor"].id,
        )
    with db.scope(admin) as s:
        student = academics.create_student(
            s,
            actor=admin,
            enrollment_no="S1",
            name="Asha",
            counselor_user_id=two["home_counselor"].id,
        )
    with pytest.raises(ValidationError, match="counselor of this institute"), db.scope(admin) as s:
        academics.update_student(
            s, actor=admin, student_id=student.id, counselor_user_id=two["away_counselor"].id
        )
    with db.scope(system=True) as s:
        stored = s.exec(select(Student.counselor_user_id)).all()
    assert stored == [two["home_counselor"].id]


def test_a_teacher_reads_only_students_of_their_batches(db, two):
    from app.badges import credentials
    from app.badges import service as badges
    from app.core.errors import NotFound, PermissionDenied
    from app.notify import service as notify
    from tests.badges.world import build, catalog

    w = catalog(db, build(db, students=2))
    admin, teacher = w.admin_actor, w.teacher_actor
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Other subject")
        other = academics.create_batch(s, actor=admin, name="Not theirs", subject_id=subject.id)
        outsider = academics.create_student(s, actor=admin, enrollment_no="OUT-1", name="Outsider")
        academics.join_batch(s, actor=admin, batch_id=other.id, student_id=outsider.id)
        academics.add_guardian(
            s, actor=admin, student_id=outsider.id, name="Mum", phone="9000000123"
        )
        award = badges.award(s, actor=admin, student_id=outsider.id, badge_id=w.b["M1"])[0]
    mine = w.students[0].id
    with db.scope(teacher) as s:
        assert academics.get_student(s, actor=teacher, student_id=mine).id == mine
        for call in (
            lambda: academics.get_student(s, actor=teacher, student_id=outsider.id),
            lambda: academics.guardians_of(s, actor=teacher, student_id=outsider.id),
            lambda: academics.enrolments_of(s, actor=teacher, student_id=outsider.id),
            lambda: badges.wall(s, actor=teacher, student_id=outsider.id),
            lambda: credentials.credential_for(s, actor=teacher, award_id=award.id),
        ):
            with pytest.raises(NotFound):
                call()
    with db.scope(admin) as s:
        assert academics.guardians_of(s, actor=admin, student_id=outsider.id)
    student = w.student_actor(0)
    with pytest.raises(PermissionDenied), db.scope(student) as s:
        notify.list_announcements(s, actor=student)


def test_a_topic_cannot_require_another_institutes_topic(db, two):
    admin = two["admin"]
    stranger = f.actor_for(f.user(db, f.institute(db), Role.ADMIN))
    with db.scope(stranger) as s:
        theirs = academics.create_subject(s, actor=stranger, name="Their maths")
        their_topic = academics.add_topic(s, actor=stranger, subject_id=theirs.id, name="Sets")
    with db.scope(admin) as s:
        maths = academics.create_subject(s, actor=admin, name="Maths")
        fractions = academics.add_topic(s, actor=admin, subject_id=maths.id, name="Fractions")
    with pytest.raises(ValidationError, match="topics of this subject"), db.scope(admin) as s:
        academics.add_topic(
            s, actor=admin, subject_id=maths.id, name="Ratios", prerequisites=[their_topic.id]
        )
    with pytest.raises(ValidationError, match="topics of this subject"), db.scope(admin) as s:
        academics.add_topic(
            s, actor=admin, subject_id=maths.id, name="Ratios", prerequisites=[987654]
        )
    with db.scope(admin) as s:
        ratios = academics.add_topic(
            s, actor=admin, subject_id=maths.id, name="Ratios", prerequisites=[fractions.id]
        )
        assert [t.name for t in academics.syllabus(s, actor=admin, subject_id=maths.id)] == [
            "Fractions",
            "Ratios",
        ]
        assert ratios.prerequisites == [fractions.id]


def test_notification_rules_cannot_name_another_institutes_batch(db, two):
    from app.core.errors import NotFound
    from app.notify import service as notify
    from app.notify.models import RuleConfig

    admin = two["admin"]
    stranger = f.actor_for(f.user(db, f.institute(db), Role.ADMIN))
    with db.scope(stranger) as s:
        subject = academics.create_subject(s, actor=stranger, name="Their maths")
        theirs = academics.create_batch(s, actor=stranger, name="T1", subject_id=subject.id)
    with pytest.raises(NotFound, match="batch"), db.scope(admin) as s:
        notify.save_rules(s, actor=admin, batch_id=theirs.id, absence_streak_threshold=2)
    with db.scope(system=True) as s:
        assert s.exec(select(RuleConfig).where(RuleConfig.batch_id == theirs.id)).all() == []


def test_a_payment_cannot_name_another_students_invoice(db):
    from app.fees import service as fees
    from app.fees.models import Invoice
    from tests.fees.test_ledger import setup_institute

    _, admin, ids, structure = setup_institute(db, students=2)
    _, stranger, their_ids, their_structure = setup_institute(db, students=1)
    with db.scope(admin) as s:
        fees.invoice_run(s, actor=admin, structure_id=structure, period="2026-T1", student_ids=ids)
    with db.scope(stranger) as s:
        fees.invoice_run(
            s, actor=stranger, structure_id=their_structure, period="2026-T1", student_ids=their_ids
        )
    with db.scope(system=True) as s:
        invoice_of = {i.student_id: i.id for i in s.exec(select(Invoice))}
    for wrong in (invoice_of[ids[1]], invoice_of[their_ids[0]], 987654):
        with (
            pytest.raises(ValidationError, match="invoice of this student"),
            db.scope(admin, immediate=True) as s,
        ):
            fees.record_payment(
                s,
                actor=admin,
                student_id=ids[0],
                amount_minor=100_00,
                method="cash",
                reference=f"C-{wrong}",
                invoice_id=wrong,
            )
    with db.scope(admin, immediate=True) as s:
        payment = fees.record_payment(
            s,
            actor=admin,
            student_id=ids[0],
            amount_minor=100_00,
            method="cash",
            reference="C-OK",
            invoice_id=invoice_of[ids[0]],
        )
    assert payment.receipt_no == 1
