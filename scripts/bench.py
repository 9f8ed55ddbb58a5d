"""Benchmarks on generated demo data; prints figures, asserts nothing.

    uv run python scripts/bench.py --size small|medium|large [--database-url URL] [--repeat N] --json

Without --database-url a fresh SQLite file in a temporary folder is used. A given database
must be empty (it is migrated and seeded) unless --reuse is passed (then seeding is skipped).
Page figures are medians of warm AppTest runs of the real router (`page_<name>_ms`); the first,
cold run of each page is reported separately as `page_<name>_cold_ms`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=["small", "medium", "large"], default="small")
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="use an already seeded database")
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object (default: a table)"
    )
    args = parser.parse_args(argv)

    tmp = None
    if not args.database_url:
        tmp = tempfile.TemporaryDirectory(prefix="cohort-bench-")
        args.database_url = f"sqlite:///{tmp.name}/bench.db"
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["APP_ENV"] = "dev"
    os.environ["DEMO_SEED_ON_EMPTY"] = "false"
    os.environ["AUTO_MIGRATE"] = "false"

    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)

    from app.core.config import get_settings, reset_settings_cache
    from app.core.db import engine_for, session_scope
    from app.core.migrate import upgrade_to_head
    from app.demo.seed import seed_demo
    from app.identity import service as identity

    reset_settings_cache()
    url = get_settings().database_url
    figures: dict[str, object] = {"size": args.size, "database": engine_for(url).dialect.name}
    figures["migrate_s"] = round(_timed(lambda: upgrade_to_head(url)), 3)
    engine = engine_for(url)
    with session_scope(system=True, engine=engine) as session:
        populated = identity.count_users(session) > 0
    if populated and not args.reuse:
        print(
            "The database already has users: pass an empty database, or --reuse.", file=sys.stderr
        )
        return 1
    if not populated:
        figures["seed_s"] = round(
            _timed(lambda: seed_demo(size=args.size, seed=args.seed, engine=engine)), 3
        )
        figures[f"seed_{args.size}_s"] = figures["seed_s"]

    figures.update(_page_figures(engine, args.repeat))
    figures.update(_attendance_figures(engine, args.repeat))
    figures.update(_fee_figures(engine, args.repeat, args.size))
    figures.update(_risk_figures(engine, args.repeat))
    figures.update(_badge_figures(engine, args.repeat, args.size))
    figures.update(_outbox_figures(engine))
    figures.update(_telegram_figures(engine))
    figures.update(_crm_figures(engine, args.repeat))
    figures.update(_student_dashboard_figures(engine, args.repeat))
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:40} {value}")
    if tmp is not None:
        engine.dispose()
        tmp.cleanup()
    return 0


def _page_figures(engine, repeat: int) -> dict[str, float]:
    from sqlmodel import col, select
    from streamlit.testing.v1 import AppTest

    from app.core.db import session_scope
    from app.core.roles import Role
    from app.identity.models import Institute, User

    with session_scope(system=True, engine=engine) as session:
        biggest = session.exec(
            select(User.institute_id)
            .where(User.role == Role.STUDENT.value)
            .group_by(User.institute_id)
            .order_by(col(User.institute_id).desc())
        ).all()
        counts = {}
        for institute_id in biggest:
            counts[institute_id] = len(
                session.exec(select(User.id).where(User.institute_id == institute_id)).all()
            )
        big = max(counts, key=counts.get)
        email = {}
        for role in (Role.ADMIN, Role.TEACHER, Role.STUDENT):
            email[role] = session.exec(
                select(User.email)
                .where(User.institute_id == big, User.role == role.value, User.status == "active")
                .order_by(User.id)
            ).first()
        email[Role.SUPER_ADMIN] = session.exec(
            select(User.email).where(User.role == Role.SUPER_ADMIN.value)
        ).first()
        assert session.get(Institute, big) is not None

    plan = [
        ("institutes", Role.SUPER_ADMIN, "pages/super_admin/institutes.py"),
        ("overview", Role.ADMIN, "pages/admin/overview.py"),
        ("learning_analytics", Role.ADMIN, "pages/common/learning_analytics.py"),
        ("users", Role.ADMIN, "pages/admin/users.py"),
        ("students", Role.TEACHER, "pages/admin/users.py"),
        ("my_account", Role.STUDENT, "pages/common/my_account.py"),
    ]
    figures: dict[str, float] = {}
    for name, role, path in plan:
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
        at.user = {"is_logged_in": True, "email": email[role], "email_verified": True}
        at.run()
        at.switch_page(path)
        figures[f"page_{name}_cold_ms"] = round(_timed(at.run) * 1000, 1)
        if at.exception:
            raise SystemExit(f"page {name} failed: {at.exception[0].message}")
        samples = [_timed(at.run) * 1000 for _ in range(repeat)]
        figures[f"page_{name}_ms"] = round(statistics.median(samples), 1)
    # The name for the admin Overview (the dashboards page).
    figures["page_admin_overview_ms"] = figures["page_overview_ms"]
    figures["page_admin_overview_cold_ms"] = figures["page_overview_cold_ms"]
    return figures


def _crm_figures(engine, repeat: int) -> dict[str, float]:
    """Lead scores and the counselor's Pipeline page.

    `lead_score_recompute_s` rescores every inquiry of every institute with `force=True`, so
    every row is rewritten (the worst case; on `large` that is all 50,000 inquiries, 31,000 of
    them in the biggest institute); `lead_score_daily_s` is the daily job as it runs, writing
    only the rows whose score or reasons changed. `page_pipeline_ms` is the warm median of the
    Pipeline page for a counselor of the institute with the most inquiries (cold: first run).
    """
    from sqlalchemy import func
    from sqlmodel import select
    from streamlit.testing.v1 import AppTest

    from app.core.db import session_scope
    from app.core.roles import Role
    from app.crm import jobs as crm_jobs
    from app.crm import leadscore
    from app.crm.models import Inquiry
    from app.identity.models import Institute, User

    with session_scope(system=True, engine=engine) as session:
        ids = list(session.exec(select(Institute.id).order_by(Institute.id)))
        per_institute = session.exec(
            select(Inquiry.institute_id, func.count())
            .group_by(Inquiry.institute_id)
            .order_by(func.count().desc())
        ).all()
    figures: dict[str, float] = {"crm_inquiries": sum(n for _, n in per_institute)}

    def full() -> None:
        for institute_id in ids:
            with session_scope(institute_id=institute_id, engine=engine) as session:
                leadscore.recompute_institute_internal(
                    session, institute_id=institute_id, force=True
                )

    runs = max(1, min(repeat, 3))
    figures["lead_score_recompute_s"] = round(
        statistics.median(_timed(full) for _ in range(runs)), 3
    )
    figures["lead_score_daily_s"] = round(
        statistics.median(
            _timed(lambda: crm_jobs.crm_lead_scores(engine=engine)) for _ in range(runs)
        ),
        3,
    )
    if not per_institute:
        return figures
    with session_scope(system=True, engine=engine) as session:
        email = session.exec(
            select(User.email)
            .where(
                User.institute_id == per_institute[0][0],
                User.role == Role.COUNSELOR.value,
                User.status == "active",
            )
            .order_by(User.id)
        ).first()
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    figures["page_pipeline_cold_ms"] = round(_timed(at.run) * 1000, 1)
    if at.exception or not at.title or at.title[0].value != "Pipeline":
        raise SystemExit(f"page pipeline failed: {at.exception}")
    figures["page_pipeline_ms"] = round(
        statistics.median(_timed(at.run) * 1000 for _ in range(repeat)), 1
    )
    return figures


def _outbox_figures(engine) -> dict[str, float]:
    """Drain 1,000 queued Telegram messages through the real client over a fake transport.

    `outbox_drain_1000_s` excludes the deliberate rate-limit sleeps (30/s overall, 1/s per chat);
    the sleeps are not taken, only counted, so the figure is the cost of the work itself.
    """
    from datetime import datetime as _datetime
    from datetime import time as _time
    from zoneinfo import ZoneInfo

    from sqlmodel import select

    from app.core import clock
    from app.core.db import session_scope
    from app.identity.models import Institute
    from app.integrations.telegram import TelegramSender
    from app.notify import delivery, service
    from tests.fakes.telegram import FakeTelegram

    with session_scope(system=True, engine=engine) as session:
        institute_id = session.exec(select(Institute.id).order_by(Institute.id)).first()
        tz = ZoneInfo(session.get(Institute, institute_id).timezone)
    # Midday in the institute, so no quiet hours (of the institute or a batch) hold messages
    # back whatever time of day the benchmark runs.
    noon = _datetime.combine(clock.now().astimezone(tz).date(), _time(12), tz)
    with clock.frozen(noon), session_scope(system=True, engine=engine) as session:
        service.save_rules(
            session, actor=_admin_actor(institute_id), quiet_hours_start=None, quiet_hours_end=None
        )
        service.enqueue_many_internal(
            session,
            institute_id=institute_id,
            messages=[
                {
                    "channel": "telegram",
                    "recipient": str(100000 + n),
                    "text": f"Bench message {n}",
                    "dedupe_key": f"bench:{time.time_ns()}:{n}",
                }
                for n in range(1000)
            ],
        )
    sender = TelegramSender("1:BENCH", request=FakeTelegram())
    slept = [0.0]
    with clock.frozen(noon):
        started = time.perf_counter()
        result = delivery.deliver_due(
            engine=engine,
            sender=sender,
            limit=1000,
            sleep=lambda s: slept.__setitem__(0, slept[0] + s),
        )
        elapsed = time.perf_counter() - started
    if result.sent != 1000:
        raise SystemExit(f"outbox drain sent {result.sent} of 1000")
    return {
        "outbox_drain_1000_s": round(elapsed, 3),
        "outbox_drain_1000_rate_limit_s": round(slept[0], 1),
    }


def _telegram_figures(engine: Engine) -> dict[str, float]:
    """1,000 queued Telegram updates processed: stored once each, handled (guardians asking
    /balance, /attendance and /homework, unknown chats, a press of a forged button) and answered
    through the real client over a fake Bot API. Each chat sends at most 4, under the limit."""
    from sqlalchemy import delete
    from sqlmodel import col, select

    from app.academics.models import Guardian
    from app.bot import updates
    from app.bot.models import TelegramUpdate
    from app.core.db import session_scope
    from app.integrations.telegram import TelegramSender
    from tests.fakes.telegram import FakeTelegram

    with session_scope(system=True, engine=engine) as session:
        session.execute(delete(TelegramUpdate))  # the benchmark's own database: start clean
        chats: list[str] = list(
            session.exec(
                select(col(Guardian.telegram_chat_id).label("chat"))
                .where(col(Guardian.telegram_chat_id).is_not(None))
                .distinct()
                .limit(200)
            )
        )
    transport = FakeTelegram()
    api = transport.api
    questions = ("/balance", "/attendance", "/homework", "/help")
    n = 0
    for chat in chats:
        for question in questions:
            if n < 900:
                api.user_says(chat, question)
                n += 1
    for k in range(1000 - n - 20):
        api.user_says(str(900_000 + k), "hello")
    for k in range(20):
        sent = {"message_id": k + 1, "text": "x"}
        api.user_presses(chats[0] if chats else "1", sent, "ir:1:zzzzzz:forged")
    sender = TelegramSender("1:BENCH", request=transport)
    done = 0
    started = time.perf_counter()
    while done < 1000:
        step = updates.listen(0, engine=engine, sender=sender).processed
        if step == 0:
            break
        done += step
    elapsed = time.perf_counter() - started
    if done != 1000:
        raise SystemExit(f"processed {done} of 1000 Telegram updates")
    return {"telegram_updates_1000_s": round(elapsed, 3), "telegram_replies": len(api.messages)}


def _attendance_figures(engine, repeat: int) -> dict[str, float]:
    """Submitting a 40-student sheet (pipeline included), and the Today and sheet pages."""
    from datetime import time as clock_time
    from zoneinfo import ZoneInfo

    from sqlmodel import col, func, select
    from streamlit.testing.v1 import AppTest

    from app.academics import service as academics
    from app.academics.models import Batch, Student
    from app.attendance import service as attendance
    from app.core import clock
    from app.core.db import session_scope
    from app.core.roles import Role
    from app.core.tenancy import Actor
    from app.identity.models import Institute, User

    with session_scope(system=True, engine=engine) as session:
        institute_id = session.exec(
            select(Student.institute_id)
            .group_by(Student.institute_id)
            .order_by(func.count().desc())
        ).first()
        institute = session.get(Institute, institute_id)
        teacher = session.exec(
            select(User)
            .where(
                User.institute_id == institute_id, User.role == "teacher", User.status == "active"
            )
            .order_by(User.id)
        ).first()
        subject_id = session.exec(
            select(Batch.subject_id).where(Batch.institute_id == institute_id)
        ).first()
        student_ids = list(
            session.exec(
                select(Student.id)
                .where(Student.institute_id == institute_id)
                .order_by(col(Student.id).desc())
                .limit(40)
            )
        )
    admin = Actor(
        user_id=None, role=Role.ADMIN, institute_id=institute_id, name="bench", source="bench"
    )
    teacher_actor = Actor(
        user_id=teacher.id,
        role=Role.TEACHER,
        institute_id=institute_id,
        name=teacher.name,
        source="bench",
    )
    with session_scope(admin, engine=engine) as session:
        batch = academics.create_batch(
            session,
            actor=admin,
            name=f"Bench {time.time_ns()}",
            subject_id=subject_id,
            teacher_user_id=teacher.id,
            capacity=40,
        )
        for sid in student_ids:
            academics.join_batch(session, actor=admin, batch_id=batch.id, student_id=sid)
        topics = [t.id for t in academics.syllabus(session, actor=admin, subject_id=subject_id)[:1]]
    today = clock.today_in(institute.timezone)
    hour = clock.now().astimezone(ZoneInfo(institute.timezone)).hour
    samples, session_ids = [], []
    for n in range(max(repeat, 5) * 2):
        # Sessions that started within the last hour (open now), on today's local date.
        start = clock_time(hour=max(0, hour - 1) if hour else 0, minute=(n * 2) % 60)
        with session_scope(teacher_actor, engine=engine) as session:
            row = attendance.create_adhoc_session(
                session,
                actor=teacher_actor,
                batch_id=batch.id,
                day=today,
                start_time=start,
                duration_minutes=120,
            )
            session_ids.append(row.id)
        marks = {sid: "absent" for sid in student_ids[:3]}
        started = time.perf_counter()
        with session_scope(teacher_actor, engine=engine, immediate=True) as session:
            attendance.submit_attendance(
                session,
                actor=teacher_actor,
                session_id=row.id,
                marks=marks,
                expected_version=0,
                topics=topics,
            )
        samples.append((time.perf_counter() - started) * 1000)
    figures = {"attendance_submit_ms": round(statistics.median(samples), 1)}

    for name, sheet in [("today", None), ("attendance_sheet", session_ids[-1])]:
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
        at.user = {"is_logged_in": True, "email": teacher.email, "email_verified": True}
        at.run()
        if sheet is not None:
            at.session_state["sheet_session"] = sheet
            at.switch_page("pages/teacher/attendance.py")
        figures[f"page_{name}_cold_ms"] = round(_timed(at.run) * 1000, 1)
        if at.exception:
            raise SystemExit(f"page {name} failed: {at.exception[0].message}")
        figures[f"page_{name}_ms"] = round(
            statistics.median(_timed(at.run) * 1000 for _ in range(repeat)), 1
        )
    return figures


def _fee_figures(engine, repeat: int, size: str) -> dict[str, float]:
    """An invoice run for 1,000 students (4 items, ledger included), recording a payment, and the
    trial balance of the biggest institute."""
    from sqlmodel import func, select

    from app.academics.models import Student
    from app.core.db import session_scope
    from app.fees import ledger
    from app.fees import service as fees

    with session_scope(system=True, engine=engine) as session:
        institute_id = session.exec(
            select(Student.institute_id)
            .group_by(Student.institute_id)
            .order_by(func.count().desc())
        ).first()
        students = list(
            session.exec(
                select(Student.id)
                .where(Student.institute_id == institute_id)
                .order_by(Student.id)
                .limit(1000)
            )
        )
    admin = _admin_actor(institute_id)
    with session_scope(admin, engine=engine) as session:
        structure = fees.create_structure(
            session,
            actor=admin,
            name=f"Bench {time.time_ns()}",
            items=[
                {"name": "Tuition", "amount_minor": 1000_00},
                {"name": "Lab", "amount_minor": 200_00},
                {"name": "Library", "amount_minor": 50_00},
                {"name": "Sports", "amount_minor": 75_00},
            ],
        )
    started = time.perf_counter()
    with session_scope(admin, engine=engine) as session:
        plan = fees.invoice_run(
            session, actor=admin, structure_id=structure.id, student_ids=students
        )
    figures = {
        "invoice_run_1000_s": round(time.perf_counter() - started, 3),
        "invoice_run_created": len(plan.students),
    }
    samples = []
    for n in range(max(repeat, 5) * 4):
        started = time.perf_counter()
        with session_scope(admin, engine=engine, immediate=True) as session:
            fees.record_payment(
                session,
                actor=admin,
                student_id=students[n % len(students)],
                amount_minor=500_00,
                method="upi",
                reference=f"BENCH-{time.time_ns()}-{n}",
                allow_credit=True,
            )
        samples.append((time.perf_counter() - started) * 1000)
    figures["payment_record_ms"] = round(statistics.median(samples), 1)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        with session_scope(admin, engine=engine) as session:
            ledger.trial_balance(session, actor=admin)
        samples.append((time.perf_counter() - started) * 1000)
    figures["trial_balance_ms"] = round(statistics.median(samples), 1)
    figures[f"trial_balance_{size}_ms"] = figures["trial_balance_ms"]
    return figures


def _risk_figures(engine, repeat: int) -> dict[str, float]:
    """The daily risk job over every institute, against one raw GROUP BY student over the same
    attendance window (the floor any set-based engine pays), and the Risk page."""
    from datetime import timedelta

    from sqlalchemy import text
    from sqlmodel import col, delete, select, update
    from streamlit.testing.v1 import AppTest

    from app.core import clock
    from app.core.db import session_scope
    from app.core.roles import Role
    from app.identity.models import User
    from app.inbox.models import PendingAction
    from app.risk import jobs as risk_jobs
    from app.risk.models import StudentRiskEvent, StudentRiskProfile

    figures: dict[str, float] = {}
    first, full, quiet = [], [], []
    since = clock.now()  # what these runs add is taken out again below
    for _ in range(max(1, min(repeat, 3))):
        # First: no profile exists (a new installation): every profile is computed and written,
        # and every student gets a first level event.
        with session_scope(system=True, engine=engine) as session:
            session.exec(delete(StudentRiskProfile))
        started = time.perf_counter()
        out = risk_jobs.student_risk_recompute(engine=engine)
        first.append(time.perf_counter() - started)
        # Full: every profile is stale (as after a change of settings or of the engine), so
        # every student is scored and every profile rewritten; events only where levels move.
        with session_scope(system=True, engine=engine) as session:
            session.exec(update(StudentRiskProfile).values(digest=None))
        started = time.perf_counter()
        written = risk_jobs.student_risk_recompute(engine=engine)["written"]
        full.append(time.perf_counter() - started)
        # Quiet: the same day again, nothing changed: everything read, nothing written.
        started = time.perf_counter()
        risk_jobs.student_risk_recompute(engine=engine)
        quiet.append(time.perf_counter() - started)
    # The first-run passes wrote a level event per student (and opened HIGH actions) each time;
    # take them out, so a later run on the same database (--reuse) is not measuring our debris.
    with session_scope(system=True, engine=engine) as session:
        session.exec(delete(StudentRiskEvent).where(col(StudentRiskEvent.created_at) >= since))
        session.exec(
            delete(PendingAction).where(
                col(PendingAction.type) == "student_risk", col(PendingAction.created_at) >= since
            )
        )
    figures["risk_recompute_first_s"] = round(statistics.median(first), 3)
    figures["risk_recompute_full_s"] = round(statistics.median(full), 3)
    figures["risk_recompute_full_written"] = written
    figures["risk_recompute_quiet_s"] = round(statistics.median(quiet), 3)
    figures["risk_students"] = out["students"]
    start = clock.now().date() - timedelta(days=29)
    baseline = text(
        "SELECT r.student_id, count(*), "
        "sum(CASE WHEN r.status IN ('present', 'late') THEN 1 ELSE 0 END) "
        "FROM attendance_records r JOIN class_sessions s ON s.id = r.session_id "
        "WHERE s.date >= :start GROUP BY r.student_id"
    )
    samples = []
    for _ in range(max(1, min(repeat, 3))):
        started = time.perf_counter()
        with session_scope(system=True, engine=engine) as session:
            session.execute(baseline, {"start": start}).all()
        samples.append(time.perf_counter() - started)
    figures["risk_baseline_groupby_s"] = round(statistics.median(samples), 3)
    floor = max(figures["risk_baseline_groupby_s"], 1e-6)
    figures["risk_first_vs_baseline"] = round(figures["risk_recompute_first_s"] / floor, 2)
    figures["risk_full_vs_baseline"] = round(figures["risk_recompute_full_s"] / floor, 2)
    figures["risk_quiet_vs_baseline"] = round(figures["risk_recompute_quiet_s"] / floor, 2)
    with session_scope(system=True, engine=engine) as session:
        big = session.exec(
            select(StudentRiskProfile.institute_id)
            .group_by(StudentRiskProfile.institute_id)
            .order_by(col(StudentRiskProfile.institute_id).desc())
            .limit(1)
        ).first()
        email = session.exec(
            select(User.email)
            .where(User.institute_id == big, User.role == Role.ADMIN.value, User.status == "active")
            .order_by(User.id)
        ).first()
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    at.run()
    at.switch_page("pages/common/risk.py")
    figures["page_risk_cold_ms"] = round(_timed(at.run) * 1000, 1)
    if at.exception:
        raise SystemExit(f"page risk failed: {at.exception[0].message}")
    figures["page_risk_ms"] = round(
        statistics.median(_timed(at.run) * 1000 for _ in range(repeat)), 1
    )
    return figures


def _badge_figures(engine, repeat: int, size: str) -> dict[str, float]:
    """All automatic badge rules over the biggest institute, and a student's badge wall.

    The catalog is built through the service: one program whose skills hold rules of each kind
    (topic competency, assessment percentage per subject, attendance per batch) and a capstone
    with an attendance rule. Each threshold is the median of what the institute's students
    reach (the capstone's the lower quartile), so some but not all meet it. Every automatic
    rule of the institute is evaluated (the demo's own program too), as the nightly job does.
    The first evaluation, which inserts the awards with their progression, audit rows and
    messages, is `badge_rules_eval_{size}_s`; replays that award nothing are
    `badge_rules_replay_s`. `page_badge_wall_ms` is the wall of the student (with a sign-in)
    who holds the most badges, each with its signed credential.
    """
    from collections import defaultdict

    from sqlalchemy import case
    from sqlmodel import col, func, select
    from streamlit.testing.v1 import AppTest

    from app.academics.models import Batch, Student
    from app.attendance.models import AttendanceRecord, ClassSession, TopicProgress
    from app.badges import rules
    from app.badges import service as badges
    from app.badges.models import BadgeAward
    from app.core.db import session_scope
    from app.coursework.models import Assessment, AssessmentResult
    from app.identity.models import User

    def median(values, *, low=False) -> float:
        values = sorted(values)
        return values[len(values) // 4] if low else statistics.median(values)

    with session_scope(system=True, engine=engine) as session:
        big = session.exec(
            select(Student.institute_id)
            .group_by(Student.institute_id)
            .order_by(func.count().desc())
        ).first()
        # Topic competency: the best-covered topics, in pairs; a student's level is the lower.
        topics = list(
            session.exec(
                select(TopicProgress.topic_id)
                .where(TopicProgress.institute_id == big)
                .group_by(TopicProgress.topic_id)
                .order_by(func.count().desc(), TopicProgress.topic_id)
                .limit(6)
            )
        )
        level: dict[int, dict[int, float]] = defaultdict(dict)
        for student_id, topic_id, competency in session.exec(
            select(
                TopicProgress.student_id, TopicProgress.topic_id, TopicProgress.competency
            ).where(TopicProgress.institute_id == big, col(TopicProgress.topic_id).in_(topics))
        ):
            level[student_id][topic_id] = competency or 0
        # Assessment percentage: a student's average per subject.
        percent = func.coalesce(
            AssessmentResult.percentage, AssessmentResult.marks * 100.0 / Assessment.max_marks
        )
        by_subject: dict[int, list[float]] = defaultdict(list)
        for _, subject_id, average in session.exec(
            select(AssessmentResult.student_id, Assessment.subject_id, func.avg(percent))
            .join(Assessment, Assessment.id == AssessmentResult.assessment_id)
            .where(
                AssessmentResult.institute_id == big,
                col(AssessmentResult.absent).is_(False),
                col(Assessment.subject_id).is_not(None),
            )
            .group_by(AssessmentResult.student_id, Assessment.subject_id)
        ):
            if average is not None:
                by_subject[subject_id].append(float(average))
        # Attendance: a student's share of a batch's held sessions (excused not counted).
        attended = func.sum(
            case((col(AttendanceRecord.status).in_(("present", "late")), 1), else_=0)
        )
        by_batch: dict[int, list[float]] = defaultdict(list)
        for _, batch_id, present, total in session.exec(
            select(
                AttendanceRecord.student_id,
                ClassSession.batch_id,
                attended,
                func.count(AttendanceRecord.id),
            )
            .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
            .join(Batch, Batch.id == ClassSession.batch_id)
            .where(
                AttendanceRecord.institute_id == big,
                col(ClassSession.status).in_(("submitted", "closed")),
                AttendanceRecord.status != "excused",
                ~col(Batch.name).startswith("Bench "),  # the attendance figures' own batch
            )
            .group_by(AttendanceRecord.student_id, ClassSession.batch_id)
        ):
            if total:
                by_batch[batch_id].append(100.0 * float(present or 0) / total)
        population = session.exec(
            select(func.count(Student.id)).where(Student.institute_id == big)
        ).one()

    def pct(value: float) -> float:
        return float(min(100, max(1, round(value))))

    topic_rules = [
        {
            "kind": "topic_competency",
            "topic_ids": pair,
            "threshold": min(
                5.0,
                max(
                    0.1, round(median(min(lv.get(t, 0) for t in pair) for lv in level.values()), 1)
                ),
            ),
        }
        for pair in (topics[n : n + 2] for n in range(0, len(topics) - 1, 2))
    ]
    subjects = sorted(by_subject, key=lambda k: (-len(by_subject[k]), k))[:3]
    assessment_rules = [
        {"kind": "assessment_percent", "subject_id": k, "threshold": pct(median(by_subject[k]))}
        for k in subjects
    ]
    batches = sorted(by_batch, key=lambda k: (-len(by_batch[k]), k))[:3]
    attendance_rules = [
        {"kind": "attendance_percent", "batch_id": k, "threshold": pct(median(by_batch[k]))}
        for k in batches
    ]
    admin = _admin_actor(big)
    with session_scope(admin, engine=engine) as session:
        program = badges.create_badge(
            session, actor=admin, kind="program", name=f"Bench badges {time.time_ns()}"
        )
        for skill_name, group in [
            ("Topic mastery", topic_rules),
            ("Assessments", assessment_rules),
            ("Attendance", attendance_rules),
        ]:
            if not group:
                continue
            skill = badges.create_badge(
                session, actor=admin, kind="skill", name=skill_name, parent_id=program.id
            )
            for n, rule in enumerate(group):
                badges.create_badge(
                    session,
                    actor=admin,
                    kind="mini",
                    name=f"{skill_name} {n + 1}",
                    parent_id=skill.id,
                    rule=rule,
                )
        if batches:
            badges.create_badge(
                session,
                actor=admin,
                kind="capstone",
                name="Regular attendance",
                parent_id=program.id,
                rule={
                    "kind": "attendance_percent",
                    "batch_id": batches[0],
                    "threshold": pct(median(by_batch[batches[0]], low=True)),
                },
            )

    def evaluate() -> dict[str, int]:
        with session_scope(institute_id=big, engine=engine) as session:
            return rules.evaluate_rules_internal(session, institute_id=big)

    started = time.perf_counter()
    counts = evaluate()
    first = time.perf_counter() - started
    figures: dict[str, float] = {
        f"badge_rules_eval_{size}_s": round(first, 3),
        "badge_rules_eval_s": round(first, 3),
        "badge_rules": counts["rules"],
        "badge_rule_students": population,
        "badge_rule_awards": counts["rule_awards"],
        "badge_progression_awards": counts["progression_awards"],
    }
    samples = []
    for _ in range(max(1, min(repeat, 3))):
        started = time.perf_counter()
        again = evaluate()
        samples.append(time.perf_counter() - started)
        if again["rule_awards"] or again["progression_awards"]:
            raise SystemExit(f"badge rules replay awarded again: {again}")
    figures["badge_rules_replay_s"] = round(statistics.median(samples), 3)

    # The wall of the signed-in-able student holding the most badges.
    with session_scope(system=True, engine=engine) as session:
        email = session.exec(
            select(User.email)
            .join(Student, Student.user_id == User.id)
            .join(BadgeAward, BadgeAward.student_id == Student.id)
            .where(
                BadgeAward.institute_id == big,
                User.status == "active",
                col(User.email).is_not(None),
            )
            .group_by(User.id, User.email)
            .order_by(func.count(BadgeAward.id).desc(), User.id)
        ).first()
        held = session.exec(
            select(func.count(BadgeAward.id))
            .join(Student, Student.id == BadgeAward.student_id)
            .join(User, User.id == Student.user_id)
            .where(User.email == email, BadgeAward.institute_id == big)
        ).one()
    if email is None:
        raise SystemExit("no student with a sign-in holds a badge: the rules awarded none")
    figures["page_badge_wall_awards"] = held
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    at.run()
    at.switch_page("pages/student/badges.py")
    figures["page_badge_wall_cold_ms"] = round(_timed(at.run) * 1000, 1)
    if at.exception:
        raise SystemExit(f"page badge wall failed: {at.exception[0].message}")
    figures["page_badge_wall_ms"] = round(
        statistics.median(_timed(at.run) * 1000 for _ in range(repeat)), 1
    )
    return figures


def _student_dashboard_figures(engine, repeat: int) -> dict[str, float]:
    """The student's landing page (My dashboard), as the student of the biggest institute with
    the most attendance marks. The cold run is the first one, which also signs the student in."""
    from sqlmodel import func, select
    from streamlit.testing.v1 import AppTest

    from app.academics.models import Student
    from app.attendance.models import AttendanceRecord
    from app.core.db import session_scope
    from app.identity.models import User

    with session_scope(system=True, engine=engine) as session:
        big = session.exec(
            select(Student.institute_id)
            .group_by(Student.institute_id)
            .order_by(func.count().desc())
        ).first()
        email = session.exec(
            select(User.email)
            .join(Student, Student.user_id == User.id)
            .join(AttendanceRecord, AttendanceRecord.student_id == Student.id)
            .where(Student.institute_id == big, User.status == "active")
            .group_by(User.id, User.email)
            .order_by(func.count(AttendanceRecord.id).desc(), User.id)
        ).first()
    if email is None:
        raise SystemExit("no student with a sign-in has attendance in the biggest institute")
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    figures = {"page_student_dashboard_cold_ms": round(_timed(at.run) * 1000, 1)}
    if at.exception:
        raise SystemExit(f"page student dashboard failed: {at.exception[0].message}")
    if at.title[0].value != "My dashboard":
        raise SystemExit(f"the student landed on {at.title[0].value!r}, not My dashboard")
    figures["page_student_dashboard_ms"] = round(
        statistics.median(_timed(at.run) * 1000 for _ in range(repeat)), 1
    )
    return figures


def _admin_actor(institute_id: int):
    from app.core.roles import Role
    from app.core.tenancy import Actor

    return Actor(
        user_id=None, role=Role.ADMIN, institute_id=institute_id, name="bench", source="bench"
    )


if __name__ == "__main__":
    raise SystemExit(main())
