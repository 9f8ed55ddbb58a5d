"""Giving feedback, anonymity, negative feedback in the inbox, review and resolution."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from app.core import clock
from app.core.audit import AuditLog
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.core.roles import Role
from app.feedback import analytics, service
from app.feedback.models import Feedback
from app.inbox import service as inbox
from app.inbox.models import PendingAction
from tests import factories as f
from tests.feedback.world import build, frozen_now


@pytest.fixture
def w(db):
    with frozen_now():
        yield build(db)


def _give(db, actor, **kw):
    kw.setdefault("feedback_type", "session")
    kw.setdefault("rating", 4)
    with db.scope(actor) as s:
        return service.submit_feedback(s, actor=actor, **kw)


def _actions(db, w):
    with db.scope(system=True) as s:
        return s.exec(
            select(PendingAction).where(
                PendingAction.institute_id == w.institute.id,
                PendingAction.type == "negative_feedback",
            )
        ).all()


def test_student_sees_only_their_recent_attended_sessions_and_their_teachers(db, w):
    a = w.student_actor(0)
    with db.scope(a) as s:
        sessions = service.recent_sessions(s, actor=a)
        teachers = service.my_teachers(s, actor=a)
    assert [t.session_id for t in sessions] == [w.session_id]  # not the old one, not physics
    assert "Mathematics" in sessions[0].label and "Tara Teacher" in sessions[0].label
    assert [(t.user_id, t.subjects) for t in teachers] == [(w.teacher.id, "Mathematics")]
    last = w.student_actor(2)  # also in the physics batch
    with db.scope(last) as s:
        assert {t.session_id for t in service.recent_sessions(s, actor=last)} == {
            w.session_id,
            w.other_session_id,
        }


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"rating": 0}, "1 to 5"),
        ({"rating": 6}, "1 to 5"),
        ({"comments": "x" * 2001}, "under 2000"),
        ({"session_id": None}, "Choose the session"),
        ({"feedback_type": "canteen"}, "a session, a teacher, a subject"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(db, w, kw, message):
    kw.setdefault("session_id", w.session_id)
    with pytest.raises(ValidationError, match=message):
        _give(db, w.student_actor(0), **kw)
    with db.scope(system=True) as s:
        assert s.exec(select(Feedback)).all() == []


def test_cannot_rate_an_old_or_foreign_session_or_one_missed(db, w):
    a = w.student_actor(0)
    for sid in (w.old_session_id, w.other_session_id):
        with pytest.raises(ValidationError, match="last 14 days"):
            _give(db, a, session_id=sid)
    with db.scope(institute_id=w.institute.id) as s:
        from app.attendance.models import AttendanceRecord

        s.add(
            AttendanceRecord(
                institute_id=w.institute.id,
                session_id=w.session_id,
                student_id=w.students[0].id,
                status="absent",
            )
        )
    with pytest.raises(ValidationError, match="that you attended"):
        _give(db, a, session_id=w.session_id)
    with pytest.raises(ValidationError, match="teachers of your batches"):
        _give(db, a, feedback_type="faculty", faculty_id=w.other_teacher.id)


def test_once_per_session_and_once_per_teacher_per_month_even_anonymously(db, w):
    a = w.student_actor(0)
    _give(db, a, session_id=w.session_id, anonymous=True)
    with pytest.raises(Conflict, match="already rated this session"):
        _give(db, a, session_id=w.session_id, anonymous=False)
    _give(db, a, feedback_type="faculty", faculty_id=w.teacher.id, rating=5)
    with pytest.raises(Conflict, match="Tara Teacher this month"):
        _give(db, a, feedback_type="faculty", faculty_id=w.teacher.id, anonymous=True)
    # Another student is not blocked by the first one's feedback.
    _give(db, w.student_actor(1), session_id=w.session_id, anonymous=True)


def test_negative_or_low_rating_opens_one_action_for_the_teacher_positive_none(db, w):
    _give(db, w.student_actor(0), session_id=w.session_id, rating=5, comments="Great examples!")
    assert _actions(db, w) == []
    result = _give(
        db,
        w.student_actor(1),
        session_id=w.session_id,
        rating=4,
        comments="Boring and confusing, a waste of time.",
    )
    assert result.sentiment == "negative" and result.flagged
    _give(db, w.student_actor(2), session_id=w.session_id, rating=2)  # no comment, 2 stars
    actions = _actions(db, w)
    assert len(actions) == 2
    assert all(a.owner_user_id == w.teacher.id and a.batch_id == w.batch_id for a in actions)
    assert any("Kid 1" in a.reason and "waste of time" in a.reason for a in actions)
    t, other = w.teacher_actor, w.other_teacher_actor
    with db.scope(t) as s:
        assert len(inbox.list_actions(s, actor=t, type="negative_feedback")) == 2
    with db.scope(other) as s:
        assert inbox.list_actions(s, actor=other, type="negative_feedback") == []
    # A neutral 3-star comment opens nothing.
    _give(db, w.student_actor(0), feedback_type="faculty", faculty_id=w.teacher.id, rating=3)
    assert len(_actions(db, w)) == 2


STAFF_CALLS = {
    "list_feedback": lambda s, a, w: service.list_feedback(s, actor=a),
    "get_feedback": lambda s, a, w: service.get_feedback(s, actor=a, feedback_id=w.fid),
    "export_csv": lambda s, a, w: service.export_csv(s, actor=a),
    "by_teacher": lambda s, a, w: analytics.by_teacher(s, actor=a),
    "by_subject": lambda s, a, w: analytics.by_subject(s, actor=a),
    "themes": lambda s, a, w: analytics.themes_by_sentiment(s, actor=a),
    "totals": lambda s, a, w: analytics.sentiment_totals(s, actor=a),
    "inbox": lambda s, a, w: inbox.list_actions(s, actor=a, type="negative_feedback"),
    "review": lambda s, a, w: service.review_feedback(s, actor=a, feedback_id=w.fid),
    "staff_filters": lambda s, a, w: service.staff_filters(s, actor=a),
}


def _dump(value) -> str:
    if dataclasses.is_dataclass(value):
        return repr(dataclasses.asdict(value))
    if isinstance(value, list | tuple):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    return repr(value)


@pytest.mark.parametrize("who", ["admin", "teacher"])
def test_anonymous_feedback_never_reveals_the_student_to_staff(db, w, who):
    student = w.students[0]
    _give(
        db,
        w.student_actor(0),
        session_id=w.session_id,
        rating=1,
        comments="The teacher was rude when I asked a question.",
        anonymous=True,
    )
    with db.scope(system=True) as s:
        row = s.exec(select(Feedback)).one()
        w.fid = row.id
        # The storage itself has no student for the row (and the database enforces it).
        assert row.student_id is None and row.anonymous
        raw = s.exec(text("select student_id from feedback")).all()
        assert raw == [(None,)]
        # The guard is a keyed one-way hash: it matches only with the app's secret.
        target = f"session:{w.session_id}"
        assert row.dedupe_guard == service.guard_key(w.institute.id, student.id, target)
        unkeyed = hashlib.sha256(f"feedback-guard:{w.institute.id}:{student.id}:{target}".encode())
        assert row.dedupe_guard != unkeyed.hexdigest()
        assert row.created_at.hour == 12 and row.created_at.minute == 0  # only the day is kept
        audit_rows = s.exec(
            select(AuditLog).where(AuditLog.action.startswith("feedback."))  # type: ignore[union-attr]
        ).all()
        assert [(a.actor_user_id, a.target_id) for a in audit_rows] == [(None, None)]
    actor = w.admin_actor if who == "admin" else w.teacher_actor
    for name, call in STAFF_CALLS.items():
        with db.scope(actor) as s:
            out = _dump(call(s, actor, w))
        for secret in (student.name, student.enrollment_no, student.email):
            assert secret not in out, (name, secret)
        if name in ("list_feedback", "get_feedback", "export_csv"):
            assert "Anonymous" in out and "rude" in out, name  # the comment itself is shown


def test_the_database_refuses_an_anonymous_row_with_a_student(db, w):
    # The check constraint, on both databases.
    with pytest.raises(IntegrityError), db.scope(institute_id=w.institute.id) as s:
        s.add(
            Feedback(
                institute_id=w.institute.id,
                student_id=w.students[0].id,
                anonymous=True,
                dedupe_guard="x" * 64,
                feedback_type="session",
                session_id=w.session_id,
                rating=3,
                sentiment="neutral",
            )
        )


def test_named_feedback_shows_the_student_and_the_student_sees_only_their_own(db, w):
    _give(db, w.student_actor(0), session_id=w.session_id, rating=5, comments="Great class")
    _give(db, w.student_actor(1), session_id=w.session_id, rating=4, anonymous=True)
    a = w.admin_actor
    with db.scope(a) as s:
        rows = service.list_feedback(s, actor=a)
    assert sorted(r.student for r in rows) == ["Anonymous", "Kid 0"]
    me, other = w.student_actor(0), w.student_actor(1)
    with db.scope(me) as s:
        mine = service.my_feedback(s, actor=me)
    assert [(m.rating, m.comments) for m in mine] == [(5, "Great class")]
    with db.scope(other) as s:
        assert service.my_feedback(s, actor=other) == []  # anonymous is linked to no one
    with db.scope(me) as s:
        with pytest.raises(PermissionDenied):
            service.list_feedback(s, actor=me)
        with pytest.raises(PermissionDenied):
            analytics.by_teacher(s, actor=me)


def test_teachers_see_only_feedback_about_them(db, w):
    _give(db, w.student_actor(2), session_id=w.session_id, rating=4)
    _give(db, w.student_actor(2), session_id=w.other_session_id, rating=2)
    t, o = w.teacher_actor, w.other_teacher_actor
    with db.scope(t) as s:
        assert [r.rating for r in service.list_feedback(s, actor=t)] == [4]
        assert [x.name for x in analytics.by_teacher(s, actor=t)] == ["Tara Teacher"]
    with db.scope(o) as s:
        rows = service.list_feedback(s, actor=o)
        assert [r.rating for r in rows] == [2]
        with pytest.raises(NotFound):
            service.review_feedback(
                s, actor=o, feedback_id=[r.id for r in service.list_feedback(s, actor=o)][0] - 1
            )


def test_review_then_resolve_with_a_note_closes_the_inbox_action(db, w):
    _give(db, w.student_actor(0), session_id=w.session_id, rating=1, comments="Too fast")
    t, a = w.teacher_actor, w.admin_actor
    with db.scope(t) as s:
        fid = service.list_feedback(s, actor=t)[0].id
        row = service.review_feedback(s, actor=t, feedback_id=fid)
        assert row.status == "reviewed" and row.reviewed_by == "Tara Teacher"
        with pytest.raises(PermissionDenied):
            service.resolve_feedback(s, actor=t, feedback_id=fid, note="done")
    with db.scope(a) as s, pytest.raises(ValidationError, match="note"):
        service.resolve_feedback(s, actor=a, feedback_id=fid, note="  ")
    with db.scope(a) as s:
        row = service.resolve_feedback(
            s, actor=a, feedback_id=fid, note="Spoke with the teacher; extra class on Friday."
        )
        assert row.status == "resolved"
        assert row.resolution_note.startswith("Spoke with the teacher")
        with pytest.raises(Conflict):
            service.resolve_feedback(s, actor=a, feedback_id=fid, note="again")
    (action,) = _actions(db, w)
    assert action.status == "done" and action.outcome == "resolved"
    me = w.student_actor(0)
    with db.scope(me) as s:
        (mine,) = service.my_feedback(s, actor=me)
    assert mine.status == "resolved" and "extra class" in mine.resolution_note
    with db.scope(a) as s:
        assert [r.id for r in service.list_feedback(s, actor=a, status="resolved")] == [fid]
        assert service.list_feedback(s, actor=a, status="pending") == []


def test_analytics_per_teacher_and_subject_with_themes(db, w):
    _give(db, w.student_actor(0), session_id=w.session_id, rating=5, comments="Great examples")
    _give(db, w.student_actor(1), session_id=w.session_id, rating=2, comments="Confusing examples")
    _give(db, w.student_actor(2), session_id=w.session_id, rating=1, comments="Confusing notes")
    _give(db, w.student_actor(2), session_id=w.other_session_id, rating=4)
    a = w.admin_actor
    with db.scope(a) as s:
        teachers = {x.name: x for x in analytics.by_teacher(s, actor=a)}
        subjects = {x.name: x for x in analytics.by_subject(s, actor=a)}
        themes = analytics.themes_by_sentiment(s, actor=a)
        maths_only = analytics.themes_by_sentiment(s, actor=a, subject_id=w.other_subject_id)
    tara = teachers["Tara Teacher"]
    assert (tara.count, tara.positive, tara.negative, tara.average_rating) == (3, 1, 2, 2.67)
    assert tara.negative_share == 66.7
    assert (subjects["Physics"].count, subjects["Physics"].positive) == (1, 1)
    assert themes["negative"][0] == ("confusing", 2)
    assert ("great", 1) in themes["positive"]
    assert maths_only == {"positive": [], "neutral": [], "negative": []}


def test_csv_export_is_safe_to_open_in_a_spreadsheet_and_counselors_get_none(db, w):
    _give(db, w.student_actor(0), session_id=w.session_id, rating=2, comments="=HYPERLINK(1)")
    _give(db, w.student_actor(1), session_id=w.session_id, rating=5, anonymous=True)
    a = w.admin_actor
    with db.scope(a) as s:
        rows = list(csv.DictReader(io.StringIO(service.export_csv(s, actor=a))))
        only_low = service.export_csv(s, actor=a, sentiment="negative")
    assert sorted(r["student"] for r in rows) == ["Anonymous", "Kid 0"]
    assert next(r for r in rows if r["student"] == "Kid 0")["comments"] == "'=HYPERLINK(1)"
    assert "Anonymous" not in only_low
    counselor = f.actor_for(f.user(db, w.institute, Role.COUNSELOR))
    with db.scope(counselor) as s, pytest.raises(PermissionDenied):
        service.export_csv(s, actor=counselor)


def test_anonymous_feedback_leaves_no_source_and_only_the_day_anywhere(db, w):
    """Audit row, inbox action and exports keep no actor, no source address and no exact time
    that could be matched against the student's own sign-in row."""
    from datetime import timedelta

    with clock.frozen(clock.now() + timedelta(minutes=17, seconds=43)):
        exact = clock.now()
        _give(
            db,
            w.student_actor(0),
            session_id=w.session_id,
            rating=1,
            comments="Too fast.",
            anonymous=True,
        )
    with db.scope(system=True) as s:
        row = s.exec(select(Feedback)).one()
        [entry] = s.exec(
            select(AuditLog).where(AuditLog.action == "feedback.submit_anonymous")
        ).all()
        [action] = s.exec(select(PendingAction)).all()

    def aware(moment):
        return moment if moment.tzinfo else moment.replace(tzinfo=exact.tzinfo)

    assert entry.actor_user_id is None and entry.actor_name is None and entry.source is None
    for moment in (entry.at, action.created_at, row.created_at):
        assert aware(moment) != exact
        assert aware(moment) == aware(row.created_at)  # the day's noon, the same for everyone
    with db.scope(w.admin_actor) as s:
        exported = service.export_csv(s, actor=w.admin_actor)
    assert exact.strftime("%H:%M") not in exported


def test_a_student_rates_a_subject_the_institute_and_the_facilities_once_a_month(db, w):
    """Issue 22: feedback types besides session and teacher; a bad rating of the facilities
    goes to the office's inbox; a subject the student does not take is refused."""
    from app.core.errors import Conflict, ValidationError
    from app.feedback import service as fb_service
    from app.inbox.models import PendingAction

    kid = w.student_actor(0)
    with frozen_now(), db.scope(kid) as s:
        assert fb_service.my_subjects(s, actor=kid) == [(w.subject_id, "Mathematics")]
        with pytest.raises(ValidationError, match="subjects you take"):
            fb_service.submit_feedback(
                s, actor=kid, feedback_type="subject", rating=4, subject_id=w.other_subject_id
            )
        fb_service.submit_feedback(
            s, actor=kid, feedback_type="subject", rating=4, subject_id=w.subject_id
        )
        fb_service.submit_feedback(s, actor=kid, feedback_type="institute", rating=5)
        done = fb_service.submit_feedback(
            s,
            actor=kid,
            feedback_type="facility",
            rating=1,
            comments="The projector in room 2 has not worked for weeks.",
            anonymous=True,
        )
        assert done.flagged
        with pytest.raises(Conflict, match="already rated the institute this month"):
            fb_service.submit_feedback(s, actor=kid, feedback_type="institute", rating=3)
    with db.scope(system=True) as s:
        kinds = sorted(s.exec(select(Feedback.feedback_type)).all())
        flagged = s.exec(
            select(PendingAction.reason).where(PendingAction.type == "negative_feedback")
        ).all()
    assert kinds == ["facility", "institute", "subject"]
    assert len(flagged) == 1 and "on the facilities" in flagged[0]
    assert flagged[0].startswith("Anonymous feedback")


def test_a_counselor_follows_up_the_named_feedback_of_their_students_only(db, w):
    """Seed 002's counselor flow (issue 22): a counselor sees and marks reviewed (with a note)
    the named feedback of the students they counsel; never anonymous feedback, never other
    students', and cannot resolve (admins do)."""
    from app.academics import service as academics
    from app.core.errors import NotFound, PermissionDenied
    from app.core.roles import Role
    from app.feedback import service as fb_service
    from tests import factories as f

    counselor = f.actor_for(f.user(db, w.institute, Role.COUNSELOR))
    with db.scope(w.admin_actor) as s:
        academics.update_student(
            s, actor=w.admin_actor, student_id=w.students[0].id, counselor_user_id=counselor.user_id
        )
    with frozen_now():
        with db.scope(w.student_actor(0)) as s:
            fb_service.submit_feedback(
                s, actor=w.student_actor(0), feedback_type="institute", rating=2
            )
            fb_service.submit_feedback(
                s, actor=w.student_actor(0), feedback_type="facility", rating=1, anonymous=True
            )
        with db.scope(w.student_actor(1)) as s:
            fb_service.submit_feedback(
                s, actor=w.student_actor(1), feedback_type="institute", rating=1
            )
        with db.scope(counselor) as s:
            (row,) = fb_service.list_feedback(s, actor=counselor)
            assert row.about == "The institute" and row.student == w.students[0].name
            others = [
                r.id for r in fb_service.list_feedback(s, actor=w.admin_actor) if r.id != row.id
            ]
            reviewed = fb_service.review_feedback(
                s, actor=counselor, feedback_id=row.id, note="Called the family; timings fixed."
            )
            assert reviewed.status == "reviewed"
            for other in others:
                with pytest.raises(NotFound):
                    fb_service.review_feedback(s, actor=counselor, feedback_id=other)
            with pytest.raises(PermissionDenied):
                fb_service.resolve_feedback(s, actor=counselor, feedback_id=row.id, note="Done")


def test_negative_feedback_is_never_pushed_to_the_teachers_telegram(db, w):
    """A message the minute a student submits would date anonymous feedback, stored with only
    its day: the action waits in the inbox, and nothing is queued for the teacher's chat."""
    from app.identity.models import User
    from app.notify.models import Notification

    with db.scope(system=True) as s:
        s.get(User, w.teacher.id).telegram_chat_id = "5555"
    _give(db, w.student_actor(1), session_id=w.session_id, rating=1, anonymous=True)
    assert len(_actions(db, w)) == 1
    with db.scope(system=True) as s:
        assert s.exec(select(Notification).where(Notification.recipient == "5555")).all() == []
