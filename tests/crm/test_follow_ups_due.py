"""Overdue follow-ups become one `follow_up_due` action each, for their counselor, once."""

from datetime import timedelta

from sqlmodel import select

from app.core import clock
from app.crm import jobs
from app.crm import service as crm
from app.inbox import service as inbox
from app.inbox.models import PendingAction
from app.worker.registry import all_jobs
from tests.crm.world import NOW, TODAY, build


def test_overdue_follow_ups_open_one_action_each_and_only_once(db):
    w = build(db)
    plan = [
        ("Asha", w.counselor, 1),  # overdue by 2 days on the 23rd
        ("Bala", w.other_counselor, 2),  # overdue by 1 day
        ("Chen", w.counselor, 3),  # due today: not overdue yet
        ("Dev", w.counselor, 5),  # in the future
        ("Esi", w.counselor, 1),  # overdue, but the inquiry was lost meanwhile
    ]
    ids = {}
    for n, (name, actor, days) in enumerate(plan):
        with clock.frozen(NOW), db.scope(actor) as s:
            ids[name] = crm.create_inquiry(
                s,
                actor=actor,
                student_name=name,
                phone=f"98111111{n:02d}",
                next_follow_up_date=TODAY + timedelta(days=days),
            ).id
    with clock.frozen(NOW), db.scope(w.counselor) as s:
        crm.change_status(
            s, actor=w.counselor, inquiry_id=ids["Esi"], status="lost", lost_reason="Too far away"
        )
    assert "crm_follow_ups_due" in all_jobs()
    with clock.frozen(NOW + timedelta(days=3)):
        first = jobs.crm_follow_ups_due(engine=db.engine)
        again = jobs.crm_follow_ups_due(engine=db.engine)
    assert (first["actions"], again["actions"]) == (2, 0)
    with db.scope(w.admin) as s:
        actions = s.exec(select(PendingAction).order_by(PendingAction.id)).all()
        assert [(a.type, a.owner_user_id) for a in actions] == [
            ("follow_up_due", w.counselor.user_id),
            ("follow_up_due", w.other_counselor.user_id),
        ]
        assert actions[0].reason == (
            "Follow-up call with Asha (098111 11100) was due on 21 Nov 2026 and has not been logged."
        )
    # Each counselor sees their own in the inbox and on their "due" list.
    with clock.frozen(NOW + timedelta(days=3)), db.scope(w.counselor) as s:
        assert [i.reason[:20] for i in inbox.list_actions(s, actor=w.counselor)] == [
            "Follow-up call with "
        ]
        due = crm.due_follow_ups(s, actor=w.counselor)
        assert [d.student_name for d in due] == ["Asha", "Chen"]
        # Logging the call takes it off the list; the job raises nothing new for it.
        crm.log_follow_up(
            s,
            actor=w.counselor,
            inquiry_id=ids["Asha"],
            follow_up_type="call",
            outcome="interested",
        )
        assert [d.student_name for d in crm.due_follow_ups(s, actor=w.counselor)] == ["Chen"]
        # ... and closes its reminder in the inbox as resolved.
        assert inbox.list_actions(s, actor=w.counselor) == []
    with db.scope(w.admin) as s:
        asha = s.exec(select(PendingAction).order_by(PendingAction.id)).first()
        assert (asha.status, asha.outcome) == ("done", "resolved")
        assert asha.note == "Follow-up logged: interested."
    with clock.frozen(NOW + timedelta(days=4)):
        later = jobs.crm_follow_ups_due(engine=db.engine)
    assert later["actions"] == 1  # Chen's, overdue from today
