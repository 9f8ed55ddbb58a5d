"""Load test: N virtual users speaking Streamlit's websocket protocol to a real `streamlit run`.

    uv run python scripts/loadtest.py --users 20 --seconds 120 [--size medium]
        [--database-url URL] [--processes N] [--json]

No browser: each virtual user is one websocket session sending the same BackMsg/ForwardMsg
protobufs a browser sends (page changes, button clicks, segmented-control taps inside the sheet's
fragment), so what is measured is the server. The mix, with 1–3 s think time between actions:
teachers (Today, open a class's sheet, tap 1–3 marks, submit), admins (Overview, Fees) and
students (dashboard, badges). Users are signed in through the app's session cookie: each gets a
real server-side session (app.identity.sessions.start_session) before the run.

Without --database-url a fresh SQLite file is migrated and seeded with the demo of --size; with
one, an empty database is migrated and seeded, a seeded one used as it is. Prints actions/s,
p50/p95/max per action, errors, the server's CPU and RSS (from /proc), and checks that every
submitted mark is in the database (exit status 1 when any action failed or a mark is missing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.serve import free_port, healthy  # noqa: E402  (only settings behind it, no streamlit)

COOKIE = "cohort_session"  # app.ui.auth.COOKIE (not imported: that would import streamlit's app)
ACTION_TIMEOUT = 60.0
MARKS = {"Present": "present", "Absent": "absent", "Late": "late", "Excused": "excused"}


# ----------------------------------------------------------------------------- protocol client


@dataclass
class Element:
    kind: str
    id: str
    label: str
    fragment_id: str
    proto: object
    disabled: bool = False


@dataclass
class RunResult:
    elements: list[Element]
    exceptions: list[str]
    fragment_only: bool
    seconds: float


class StreamlitSession:
    """One browser tab's worth of protocol: connect, rerun with widget states, read elements."""

    def __init__(self, url: str, cookie: str | None, extra_cookies: str = "") -> None:
        self.url = url.rstrip("/").replace("http", "ws", 1) + "/_stcore/stream"
        self.cookie = cookie
        self.extra_cookies = extra_cookies  # e.g. a proxy's stickiness cookie "name=value"
        self.ws = None
        self.pages: dict[str, str] = {}  # url path -> page script hash
        self.page_hash = ""
        self.widgets: dict[str, object] = {}  # persistent widget values, as the browser keeps
        self.cache: dict[str, object] = {}
        self.elements: dict[tuple, Element] = {}

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        cookies = [f"{COOKIE}={self.cookie}"] if self.cookie else []
        cookies += [self.extra_cookies] if self.extra_cookies else []
        headers = {"Cookie": "; ".join(cookies)} if cookies else {}
        self.ws = await connect(
            self.url,
            subprotocols=["streamlit"],
            additional_headers=headers,
            max_size=None,
            open_timeout=30,
        )

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    def _state(self, trigger: str | None, values: dict[str, object]):
        from streamlit.proto.WidgetStates_pb2 import WidgetStates

        self.widgets.update(values)
        states = WidgetStates()
        for widget_id, value in self.widgets.items():
            state = states.widgets.add()
            state.id = widget_id
            if isinstance(value, list):
                state.string_array_value.data.extend(value)
            elif isinstance(value, bool):
                state.bool_value = value
            elif isinstance(value, int):
                state.int_value = value
            else:
                state.string_value = str(value)
        if trigger:
            state = states.widgets.add()
            state.id = trigger
            state.trigger_value = True
        return states

    async def rerun(
        self,
        *,
        page: str | None = None,
        trigger: str | None = None,
        values: dict[str, object] | None = None,
        fragment_id: str = "",
    ) -> RunResult:
        """Send one rerun and read until the script (or fragment) finishes for good."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if page is not None:
            self.page_hash = self.pages.get(page, "")
            self.widgets.clear()
            self.elements.clear()
        msg = BackMsg()
        client = msg.rerun_script
        client.query_string = ""
        client.page_script_hash = self.page_hash
        if page is not None and not self.page_hash:
            client.page_name = page
        client.fragment_id = fragment_id
        client.widget_states.CopyFrom(self._state(trigger, values or {}))
        if not fragment_id:
            self.elements.clear()
        started = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        exceptions: list[str] = []
        fragment_only = bool(fragment_id)
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), ACTION_TIMEOUT)
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if os.environ.get("LOADTEST_DEBUG"):  # the message kinds, to see the protocol
                print(
                    "<-",
                    kind,
                    fwd.script_finished if kind == "script_finished" else "",
                    file=sys.stderr,
                )
            if kind == "ref_hash":
                cached = self.cache.get(fwd.ref_hash)
                if cached is None:
                    continue
                cached_copy = ForwardMsg()
                cached_copy.CopyFrom(cached)
                cached_copy.metadata.CopyFrom(fwd.metadata)
                fwd, kind = cached_copy, cached.WhichOneof("type")
            elif fwd.hash:
                self.cache[fwd.hash] = fwd
            if kind == "new_session":
                if not fragment_only:  # a full run starts (asked for, or after st.rerun)
                    self.elements.clear()
                self.page_hash = fwd.new_session.page_script_hash or self.page_hash
            elif kind == "navigation":
                for app_page in fwd.navigation.app_pages:
                    # the default page's url path is "": find it by its title too
                    title = app_page.page_name.lower().replace(" ", "-")
                    self.pages[title] = app_page.page_script_hash
                    if app_page.url_pathname:
                        self.pages[app_page.url_pathname] = app_page.page_script_hash
                self.page_hash = fwd.navigation.page_script_hash or self.page_hash
            elif kind == "delta":
                self._element(fwd, exceptions)
            elif kind == "page_not_found":
                exceptions.append(f"page not found: {fwd.page_not_found.page_name}")
            elif kind == "script_finished":
                status = fwd.script_finished
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    fragment_only = False
                    continue  # st.rerun / switch_page: a new (full) run follows
                if status == ForwardMsg.FINISHED_SUCCESSFULLY:
                    fragment_only = False
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    exceptions.append("compile error")
                break
        return RunResult(
            elements=list(self.elements.values()),
            exceptions=exceptions,
            fragment_only=fragment_only,
            seconds=time.perf_counter() - started,
        )

    def _element(self, fwd, exceptions: list[str]) -> None:
        delta = fwd.delta
        if delta.WhichOneof("type") != "new_element":
            return
        el = delta.new_element
        kind = el.WhichOneof("type")
        if kind is None:
            return
        proto = getattr(el, kind)
        if kind == "exception":
            exceptions.append(f"{proto.type}: {proto.message}")
        label = getattr(proto, "label", "") or getattr(proto, "body", "")
        self.elements[tuple(fwd.metadata.delta_path)] = Element(
            kind=kind,
            id=getattr(proto, "id", ""),
            label=str(label),
            fragment_id=delta.fragment_id,
            proto=proto,
            disabled=bool(getattr(proto, "disabled", False)),
        )


def find(result: RunResult, kind: str, startswith: str = "") -> list[Element]:
    return [e for e in result.elements if e.kind == kind and e.label.startswith(startswith)]


def texts(result: RunResult) -> str:
    return "\n".join(e.label for e in result.elements)


# ----------------------------------------------------------------------------- virtual users


@dataclass
class Stats:
    timings: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    rss_samples: list[tuple[int, float]] = field(default_factory=list)  # (seconds in, MB)
    nothing_to_take: int = 0  # sheets opened that took no marks (submitted, not open yet)
    conflicts: int = 0  # submits refused because the sheet was submitted meanwhile elsewhere
    submitted: dict[int, dict[int, str]] = field(default_factory=dict)  # session -> marks

    def record(self, action: str, result: RunResult) -> RunResult:
        self.timings.setdefault(action, []).append(result.seconds)
        for message in result.exceptions:
            self.errors.append(f"{action}: {message}")
        return result


def _mark_widget(element: Element) -> tuple[int, int] | None:
    """(class session id, student id) from a sheet mark's widget id (key mark_<session>_<student>)."""
    tail = element.id.rsplit("-", 1)[-1]
    parts = tail.split("_")
    if len(parts) == 3 and parts[0] == "mark" and parts[1].isdigit() and parts[2].isdigit():
        return int(parts[1]), int(parts[2])
    return None


async def teacher(session: StreamlitSession, stats: Stats, rng: random.Random, until: float):
    while time.monotonic() < until:
        today = stats.record("today", await session.rerun(page="today"))
        await think(rng, until)
        takes = find(today, "button", "Take attendance")
        # A class whose attendance is open draws its button as the primary one: a teacher in the
        # rush takes that one, not a class later in the day that is not open yet.
        open_now = [b for b in takes if getattr(b.proto, "type", "") == "primary"]
        openers = open_now or takes or find(today, "button", "View sheet")
        if not openers or time.monotonic() >= until:
            continue
        opener = rng.choice(openers)
        sheet = stats.record(
            "open_sheet", await session.rerun(trigger=opener.id, fragment_id=opener.fragment_id)
        )
        marks = {m.id: (m, _mark_widget(m)) for m in find(sheet, "button_group")}
        marks = {key: (m, ids) for key, (m, ids) in marks.items() if ids}
        submit = [b for b in find(sheet, "button", "Submit") if not b.disabled]
        if not marks or not submit:
            stats.nothing_to_take += 1
            await think(rng, until)
            continue
        for key in rng.sample(list(marks), k=min(len(marks), rng.randint(1, 3))):
            await think(rng, until)
            element = marks[key][0]
            label = rng.choice(["Absent", "Late", "Present"])
            result = await session.rerun(values={key: [label]}, fragment_id=element.fragment_id)
            stats.record("tap", result)
            if not result.fragment_only:
                stats.errors.append("tap: the whole page reran, not only the sheet's fragment")
        await think(rng, until)
        sheet_now = await session.rerun(fragment_id=submit[0].fragment_id)  # current labels
        submit = [b for b in find(sheet_now, "button", "Submit") if not b.disabled]
        if not submit:
            continue
        session_id = next(iter(marks.values()))[1][0]
        expected = {}
        for key, (_element, ids) in marks.items():
            value = session.widgets.get(key)
            expected[ids[1]] = MARKS[value[0]] if value else None  # None: the saved/preset mark
        result = stats.record(
            "submit", await session.rerun(trigger=submit[0].id, fragment_id=submit[0].fragment_id)
        )
        if "Attendance saved" in texts(result):
            stats.submitted[session_id] = {k: v for k, v in expected.items() if v}
        elif not result.exceptions:
            alerts = " / ".join(e.label for e in result.elements if e.kind == "alert")
            if "submitted" in alerts or "Reload" in alerts:
                stats.conflicts += 1  # the same teacher on two devices: refused, as it should be
            else:
                stats.errors.append("submit: no confirmation: " + (alerts or texts(result)[-300:]))
        await think(rng, until)


async def admin(session: StreamlitSession, stats: Stats, rng: random.Random, until: float):
    while time.monotonic() < until:
        for page in ("overview", "fees"):
            stats.record(page, await session.rerun(page=page))
            await think(rng, until)


async def student(session: StreamlitSession, stats: Stats, rng: random.Random, until: float):
    while time.monotonic() < until:
        for page in ("my-dashboard", "my-badges"):
            stats.record(page, await session.rerun(page=page))
            await think(rng, until)


async def think(rng: random.Random, until: float) -> None:
    await asyncio.sleep(max(0.0, min(rng.uniform(1.0, 3.0), until - time.monotonic())))


ROLES = {"teacher": teacher, "admin": admin, "student": student}


async def run_user(url, role, token, stats, seed, seconds) -> None:
    rng = random.Random(seed)
    session = StreamlitSession(url, token)
    try:
        await session.connect()
        first = await session.rerun()  # the landing page: signed in by the cookie?
        if not find(first, "button", "Sign out"):
            stats.errors.append(f"{role}: not signed in by the session cookie")
            return
        await asyncio.sleep(rng.uniform(0, 1.0))
        await ROLES[role](session, stats, rng, time.monotonic() + seconds)
    except Exception as exc:  # noqa: BLE001 - counted, the run goes on
        stats.errors.append(f"{role}: {type(exc).__name__}: {exc}")
    finally:
        await session.close()


# ----------------------------------------------------------------------------- server and data


def prepare_database(url: str, size: str) -> None:
    from app.core.db import engine_for, session_scope
    from app.core.migrate import upgrade_to_head
    from app.identity import service as identity

    upgrade_to_head(url)
    with session_scope(system=True, engine=engine_for(url)) as session:
        empty = identity.count_users(session) == 0
    if empty:
        from app.demo.seed import seed_demo

        seed_demo(size=size, engine=engine_for(url))


def sign_in_users(url: str, users: int, seed: int) -> list[tuple[str, str]]:
    """(role, session token) for each virtual user: half teachers, a quarter admins, a quarter
    students (at least one teacher). Each teacher gets a class in each of their batches (up to
    three) that began ten minutes ago, when they have none running now, so there is attendance
    to take."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from sqlmodel import or_, select

    from app.academics.models import Batch
    from app.attendance import service as attendance
    from app.attendance.models import ClassSession
    from app.core import clock
    from app.core.db import engine_for, session_scope
    from app.core.roles import Role
    from app.core.tenancy import Actor
    from app.identity import sessions
    from app.identity.models import Institute, User
    from app.identity.onboarding import CONSENT_VERSION

    rng = random.Random(seed)
    engine = engine_for(url)
    with session_scope(system=True, engine=engine) as session:
        teachers = sorted(
            set(
                session.exec(
                    select(Batch.teacher_user_id).where(
                        Batch.active.is_(True), Batch.teacher_user_id.is_not(None)
                    )
                )
            )
        )
        by_role = {  # people who can sign in and land on their pages (onboarded, active)
            role: list(
                session.exec(
                    select(User.id)
                    .join(Institute, Institute.id == User.institute_id)
                    .where(
                        User.role == role,
                        User.status == "active",
                        User.consent_version == CONSENT_VERSION,
                        or_(
                            Institute.subscription_end.is_(None),
                            Institute.subscription_end >= clock.now().date(),
                        ),
                    )
                    .order_by(User.id)
                )
            )
            for role in ("admin", "student", "teacher")
        }
    usable = set(by_role["teacher"])
    by_role["teacher"] = [t for t in teachers if t in usable]
    n_teachers = max(1, users // 2)
    n_admins = (users - n_teachers) // 2
    plan = (
        ["teacher"] * n_teachers
        + ["admin"] * n_admins
        + ["student"] * (users - n_teachers - n_admins)
    )
    picked: list[tuple[str, str]] = []
    for index, role in enumerate(plan):
        pool = by_role[role]
        user_id = pool[index % len(pool)] if role == "teacher" else rng.choice(pool)
        with session_scope(system=True, engine=engine) as session:
            if role == "teacher":
                user = session.get(User, user_id)
                tz = ZoneInfo(session.get(Institute, user.institute_id).timezone)
                local = clock.now().astimezone(tz)
                day = local.date()
                has_class = session.exec(  # one that is open now, from an earlier run
                    select(ClassSession.id)
                    .join(Batch, Batch.id == ClassSession.batch_id)
                    .where(
                        Batch.teacher_user_id == user_id,
                        ClassSession.date == day,
                        ClassSession.starts_at <= clock.now(),
                        ClassSession.ends_at > clock.now(),
                    )
                ).first()
                if not has_class:
                    actor = Actor(
                        user_id=user_id,
                        role=Role.TEACHER,
                        institute_id=user.institute_id,
                        name=user.name,
                        source="loadtest",
                    )
                    begins = max(
                        local - timedelta(minutes=10),
                        datetime.combine(day, datetime.min.time(), tz),
                    )
                    batches = session.exec(
                        select(Batch.id)
                        .where(Batch.teacher_user_id == user_id, Batch.active.is_(True))
                        .order_by(Batch.id)
                        .limit(3)
                    ).all()
                    for n, batch_id in enumerate(batches):
                        attendance.create_adhoc_session(
                            session,
                            actor=actor,
                            batch_id=batch_id,
                            day=day,
                            start_time=(begins + timedelta(minutes=n))
                            .time()
                            .replace(microsecond=0),
                            duration_minutes=90,
                        )
            token = sessions.start_session(
                session, user_id=user_id, method="loadtest", source="loadtest"
            )
        picked.append((role, token))
    return picked


def check_marks(url: str, submitted: dict[int, dict[int, str]]) -> list[str]:
    from sqlmodel import select

    from app.attendance.models import AttendanceRecord
    from app.core.db import engine_for, session_scope

    missing = []
    with session_scope(system=True, engine=engine_for(url)) as session:
        for class_session, marks in submitted.items():
            saved = {
                r.student_id: r.status
                for r in session.exec(
                    select(AttendanceRecord).where(AttendanceRecord.session_id == class_session)
                )
            }
            for student_id, mark in marks.items():
                if saved.get(student_id) != mark:
                    missing.append(
                        f"session {class_session} student {student_id}: submitted {mark}, "
                        f"saved {saved.get(student_id)}"
                    )
    return missing


LOADTEST_ENV = {
    "APP_ENV": "dev",
    "AUTO_MIGRATE": "false",
    "DEMO_SEED_ON_EMPTY": "false",
    "EMBEDDED_WORKER": "0",  # the web process alone is measured; jobs belong to the worker
}


class Server:
    """`streamlit run streamlit_app.py` on a free port, with its CPU and RSS read from /proc."""

    def __init__(self, url: str, *, overrides: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            **(LOADTEST_ENV if overrides is None else overrides),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "streamlit_app.py"),
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
                "--runner.postScriptGC",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if healthy(self.url):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("the Streamlit server did not start")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# ----------------------------------------------------------------------------- the run


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def drive(
    url: str,
    plan: list[tuple[str, str]],
    seconds: float,
    seed: int,
    rss=None,
    every: float = 60.0,
) -> Stats:
    stats = Stats()
    users = asyncio.gather(
        *(
            run_user(url, role, token, stats, seed + i, seconds)
            for i, (role, token) in enumerate(plan)
        )
    )
    if rss is not None:  # the servers' RSS now and then, to see whether memory stays flat
        started = time.monotonic()
        while not users.done():
            stats.rss_samples.append((round(time.monotonic() - started), round(rss(), 1)))
            await asyncio.wait([users], timeout=every)
    await users
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--size", choices=["small", "medium", "large"], default="medium")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rss-every", type=float, default=60, help="seconds between RSS samples")
    parser.add_argument(
        "--processes", type=int, default=1, help="web processes; more than 1 puts HAProxy in front"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    tmp = None
    url = args.database_url
    if not url:
        tmp = tempfile.mkdtemp(prefix="cohort-loadtest-")
        url = f"sqlite:///{tmp}/loadtest.db"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("APP_ENV", "dev")
    from app.core.config import normalize_database_url

    url = normalize_database_url(url)
    prepare_database(url, args.size)
    plan = sign_in_users(url, args.users, args.seed)
    if args.processes > 1:  # N web processes behind HAProxy (scripts/replicas.py)
        from replicas import Replicas

        front = Replicas(url, args.processes, overrides=LOADTEST_ENV).start()
        servers, target = front.servers, front.url
    else:
        front = Server(url)
        servers, target = [front], front.url
    try:
        cpu0, wall0 = sum(s.cpu_seconds() for s in servers), time.monotonic()
        stats = asyncio.run(
            drive(
                target,
                plan,
                args.seconds,
                args.seed,
                rss=lambda: sum(s.rss_mb() for s in servers),
                every=args.rss_every,
            )
        )
        wall = time.monotonic() - wall0
        cpu = (sum(s.cpu_seconds() for s in servers) - cpu0) / wall
        rss = sum(s.rss_mb() for s in servers)
    finally:
        front.stop()
    lost = check_marks(url, stats.submitted)
    if tmp:
        from app.core.db import engine_for

        engine_for(url).dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    actions = sum(len(v) for v in stats.timings.values())
    every = [t for v in stats.timings.values() for t in v]
    report = {
        "users": args.users,
        "processes": args.processes,
        "seconds": round(wall, 1),
        "database": url.split(":", 1)[0],
        "actions": actions,
        "actions_per_s": round(actions / wall, 2),
        "p50_s": round(statistics.median(every), 3) if every else None,
        "p95_s": round(percentile(every, 0.95), 3) if every else None,
        "max_s": round(max(every), 3) if every else None,
        "per_action": {
            name: {
                "n": len(values),
                "p50_s": round(statistics.median(values), 3),
                "p95_s": round(percentile(values, 0.95), 3),
                "max_s": round(max(values), 3),
            }
            for name, values in sorted(stats.timings.items())
        },
        "errors": len(stats.errors),
        "error_samples": stats.errors[:10],
        "submit_conflicts": stats.conflicts,
        "sheets_without_marks": stats.nothing_to_take,
        "sheets_submitted": len(stats.submitted),
        "marks_checked": sum(len(m) for m in stats.submitted.values()),
        "marks_lost": len(lost),
        "lost_samples": lost[:10],
        "server_cpu_percent": round(100 * cpu, 1),  # of one core, all web processes together
        "server_rss_mb": round(rss, 1),
        "server_rss_samples_mb": stats.rss_samples + [(round(wall), round(rss, 1))],
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{report['users']} users, {report['processes']} process(es), "
            f"{report['seconds']} s on {report['database']}: "
            f"{report['actions']} actions ({report['actions_per_s']}/s), p50 {report['p50_s']} s, "
            f"p95 {report['p95_s']} s, max {report['max_s']} s"
        )
        for name, row in report["per_action"].items():
            print(
                f"  {name:<14} n={row['n']:<5} p50 {row['p50_s']:.3f} s  "
                f"p95 {row['p95_s']:.3f} s  max {row['max_s']:.3f} s"
            )
        print(
            f"errors {report['errors']}, submit conflicts {report['submit_conflicts']}, "
            f"sheets submitted {report['sheets_submitted']}, "
            f"marks checked {report['marks_checked']}, lost {report['marks_lost']}; "
            f"server CPU {report['server_cpu_percent']} %, RSS {report['server_rss_mb']} MB"
        )
        print(
            "RSS over the run: "
            + ", ".join(f"{t} s {mb} MB" for t, mb in report["server_rss_samples_mb"])
        )
        for sample in report["error_samples"] + report["lost_samples"]:
            print("  !", sample)
    return 1 if report["errors"] or report["marks_lost"] or not actions else 0


if __name__ == "__main__":
    raise SystemExit(main())
