"""The daily teacher brief: the right items per teacher (and none of other teachers' batches),
queued once per teacher per local day however often the job runs, after the brief time."""

from datetime import UTC, date, datetime, time

import pytest
from sqlmodel import select

from app.brief import jobs as brief_jobs
from app.brief import service as brief
from app.core import clock
from app.core.config import reset_settings_cache
from app.inbox import service as inbox
from app.notify.models import Notification
from app.worker import runner
from app.worker.registry import all_jobs
from tests import factories as f
from tests.portal.world import NOW, TODAY, build


@pytest.fixture
def world(db):
    built = build(db)
    with db.scope(system=True) as s:
        for batch in (built["math_a"], built["phys_b"]):
            inbox.open_action_internal(
                s,
                institute_id=built["inst"].id,
                type="missed_session",
                batch_id=batch,
                reason="No attendance was taken.",
                dedupe_key=f"test_missed:{batch}",
            )
    return built


def briefs_of(db, world, day: date = TODAY):
    with clock.frozen(NOW), db.scope(system=True) as s:
        return brief.build_briefs_internal(s, institute_id=world["inst"].id, day=day)


def test_each_teacher_gets_their_own_batches_items(db, world):
    built = briefs_of(db, world)
    assert set(built) == {world["tara"].id, world["omar"].id}
    tara, omar = built[world["tara"].id], built[world["omar"].id]

    assert [(c.batch, c.starts_at) for c in tara.classes] == [
        ("Math A", datetime(2026, 11, 10, 11, 30, tzinfo=UTC))
    ]
    assert [(a.student, a.batch) for a in tara.absentees] == [("Zed Otherstudent", "Math A")]
    assert tara.actions == {"missed_session": 1}
    assert [(d.student, d.owed_minor, d.due_on, d.overdue) for d in tara.fee_dues] == [
        ("Asha Mine", 1234_00, date(2026, 11, 24), False),
        ("Zed Otherstudent", 9876_54, date(2026, 11, 24), False),
    ]
    assert [(h.title, h.due_on, h.not_handed_in) for h in tara.homework] == [
        ("Decimals sheet", date(2026, 11, 11), 2)
    ]
    assert [(r.student, r.reason) for r in tara.high_risk] == [
        ("Zed Otherstudent", "Attendance 50% in 30 days")
    ]

    assert [c.batch for c in omar.classes] == ["Physics B"]
    assert omar.absentees == []  # Yara's absence was a week ago
    assert omar.actions == {"missed_session": 1}
    assert [d.student for d in omar.fee_dues] == ["Yara Out"]
    assert [h.title for h in omar.homework] == ["PHYSICS-ONLY lab"]
    assert [r.student for r in omar.high_risk] == ["Yara Out"]

    text = tara.text()
    for line in (
        "Today's classes (1):",
        "- 17:00–18:00 Math A (Mathematics)",
        "- Zed Otherstudent (ZZ-999), Math A",
        "Open actions: 1 (1 missed session)",
        "- Zed Otherstudent (ZZ-999): ₹9,876.54 due 24 Nov",
        "- Decimals sheet, Math A: due Wed 11 Nov, 2 not handed in",
        "- Zed Otherstudent (ZZ-999): Attendance 50% in 30 days",
    ):
        assert line in text, (line, text)
    assert "Yara" not in text and "PHYSICS" not in text
    other = omar.text()
    assert "Zed" not in other and "Asha" not in other and "Absent yesterday: nobody" in other

    # Unpaid dues stay on the brief once overdue; a due of a later month is not shown yet.
    december = briefs_of(db, world, day=date(2026, 12, 1))[world["tara"].id]
    assert [(d.student, d.overdue) for d in december.fee_dues] == [
        ("Asha Mine", True),
        ("Zed Otherstudent", True),
    ]
    assert "overdue since 24 Nov" in december.text()
    assert briefs_of(db, world, day=date(2026, 10, 20))[world["tara"].id].fee_dues == []


def test_my_brief_is_the_teachers_own_and_only_for_teachers(db, world):
    from app.core.errors import PermissionDenied

    tara = f.actor_for(world["tara"])
    with clock.frozen(NOW), db.scope(tara) as s:
        mine = brief.my_brief(s, actor=tara)
    assert mine.teacher_user_id == world["tara"].id and mine.absentees
    admin = f.actor_for(world["admin"])
    with clock.frozen(NOW), db.scope(admin) as s, pytest.raises(PermissionDenied):
        brief.my_brief(s, actor=admin)
    idle = f.actor_for(f.user(db, world["inst"], "teacher", email="idle@portal.example"))
    with clock.frozen(NOW), db.scope(idle) as s:
        empty = brief.my_brief(s, actor=idle)
    assert (empty.classes, empty.fee_dues, empty.open_actions) == ([], [], 0)


def notifications(db, world):
    with db.scope(system=True) as s:
        return s.exec(
            select(Notification).where(Notification.dedupe_key.startswith("teacher_brief:"))
        ).all()


def at_local(day: date, hour: int, minute: int) -> datetime:
    """A moment given in Asia/Kolkata (UTC+05:30)."""
    from zoneinfo import ZoneInfo

    return datetime.combine(day, time(hour, minute), ZoneInfo("Asia/Kolkata")).astimezone(UTC)


def test_job_sends_once_per_teacher_per_local_day_after_the_brief_time(db, world):
    with clock.frozen(at_local(TODAY, 7, 15)):
        assert brief_jobs.daily_teacher_brief(engine=db.engine)["messages"] == 0
    assert notifications(db, world) == []
    with clock.frozen(at_local(TODAY, 7, 30)):
        out = brief_jobs.daily_teacher_brief(engine=db.engine)
    assert out["teachers"] == 2 and out["messages"] == 3
    rows = notifications(db, world)
    got = sorted((r.recipient_user_id, r.channel, r.status, r.recipient) for r in rows)
    assert got == sorted(
        [
            (world["tara"].id, "in_app", "sent", str(world["tara"].id)),
            (world["tara"].id, "telegram", "queued", "5001"),
            (world["omar"].id, "in_app", "sent", str(world["omar"].id)),
        ]
    )
    tara_text = next(r.text for r in rows if r.recipient_user_id == world["tara"].id)
    assert "Zed Otherstudent" in tara_text and "Yara" not in tara_text
    assert next(r.subject for r in rows if r.channel == "in_app") == "Your brief for Tue 10 Nov"
    # Later runs the same day (scheduled or by hand) queue nothing more.
    job = all_jobs()["daily_teacher_brief"]
    with clock.frozen(at_local(TODAY, 7, 45)):
        assert runner.run_job(job, engine=db.engine).counts["messages"] == 0
        assert runner.run_job(job, engine=db.engine) is None  # this quarter hour already ran
    with clock.frozen(at_local(TODAY, 23, 59)):
        assert brief_jobs.daily_teacher_brief(engine=db.engine)["messages"] == 0
    assert len(notifications(db, world)) == 3
    # The next local day brings the next brief.
    with clock.frozen(at_local(date(2026, 11, 11), 8, 0)):
        assert brief_jobs.daily_teacher_brief(engine=db.engine)["messages"] == 3


def test_brief_time_comes_from_the_setting(db, world, monkeypatch):
    monkeypatch.setenv("DAILY_TEACHER_BRIEF_TIME", "09:00")
    reset_settings_cache()
    with clock.frozen(at_local(TODAY, 8, 45)):
        assert brief_jobs.daily_teacher_brief(engine=db.engine)["messages"] == 0
    with clock.frozen(at_local(TODAY, 9, 0)):
        assert brief_jobs.daily_teacher_brief(engine=db.engine)["messages"] == 3
