"""Deterministic demo data: institutes with users of every role (later issues add their data here).

The same generator feeds first-run demos, tests and benchmarks. Writes are set-based bulk
inserts under the explicit all-institute (system) context.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import Engine, insert
from sqlmodel import Session

from app.core import clock
from app.core.db import session_scope
from app.core.roles import Role
from app.demo.school import new_phone
from app.identity.models import Institute, User, UserStatus
from app.identity.onboarding import CONSENT_VERSION

Size = Literal["small", "medium", "large"]

FIRST = [
    "Aarav",
    "Vivaan",
    "Aditya",
    "Ananya",
    "Diya",
    "Ishaan",
    "Kavya",
    "Meera",
    "Rohan",
    "Saanvi",
    "Arjun",
    "Priya",
    "Kabir",
    "Nisha",
    "Rahul",
    "Sneha",
    "Vikram",
    "Zara",
    "Amani",
    "Baraka",
    "Wanjiru",
    "Kamau",
    "Achieng",
    "Otieno",
    "Neema",
    "Juma",
    "Faith",
    "Brian",
    "Mercy",
    "Kevin",
    "Fatima",
    "Yusuf",
    "Grace",
    "Daniel",
    "Leah",
    "Samuel",
    "Ruth",
    "Joseph",
    "Esther",
    "David",
]
LAST = [
    "Sharma",
    "Patel",
    "Iyer",
    "Reddy",
    "Nair",
    "Gupta",
    "Khan",
    "Singh",
    "Das",
    "Menon",
    "Mwangi",
    "Odhiambo",
    "Kariuki",
    "Wafula",
    "Njoroge",
    "Mutua",
    "Chebet",
    "Kiptoo",
    "Onyango",
    "Ali",
]

INSTITUTE_NAMES = [
    "Demo Coaching Centre",
    "Sunrise Academy",
    "Lakeside Computer Institute",
    "Greenfield School",
    "Northstar Tutorials",
    "Pinnacle Classes",
    "Harbor Learning Hub",
    "Cedar Grove Institute",
    "Bright Minds Coaching",
    "Summit Science Academy",
    "Riverbend School",
    "Orchid Tutorials",
    "Meridian Institute",
    "Acacia Learning Centre",
    "Skyline Classes",
    "Baobab Academy",
    "Horizon Coaching",
    "Maple Leaf School",
    "Coral Reef Institute",
    "Savanna Tutorials",
]


@dataclass(frozen=True)
class SizeSpec:
    institutes: int
    biggest_students: int
    other_students: int
    teachers: int
    counselors: int


SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec(
        institutes=2, biggest_students=40, other_students=20, teachers=4, counselors=1
    ),
    "medium": SizeSpec(
        institutes=5, biggest_students=500, other_students=120, teachers=12, counselors=3
    ),
    "large": SizeSpec(
        institutes=20, biggest_students=10_000, other_students=300, teachers=60, counselors=6
    ),
}


@dataclass
class SeedResult:
    """What was built: ids per institute, for tests and benchmarks to find their way."""

    size: str
    super_admin_id: int = 0
    institute_ids: list[int] = field(default_factory=list)
    users_by_institute: dict[int, dict[str, list[int]]] = field(default_factory=dict)
    history: dict[int, dict] = field(default_factory=dict)

    def first(self, role: Role | str, institute_index: int = 0) -> int:
        return self.users_by_institute[self.institute_ids[institute_index]][Role(role).value][0]


def _slug(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def seed_demo(
    *, size: Size = "small", seed: int = 7, engine: Engine | None = None, history: bool = True
) -> SeedResult:
    """Build the demo institutes, their people and (with `history`) a year of classes, recent
    coursework and fees, in one transaction; returns their ids."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}")
    spec = SIZES[size]
    rng = random.Random(seed)
    result = SeedResult(size=size)
    today = clock.now().date()
    with session_scope(system=True, engine=engine) as session:
        super_admin = User(
            institute_id=None,
            name="Sam Superadmin",
            email="super@cohort.example",
            role=Role.SUPER_ADMIN.value,
            status=UserStatus.ACTIVE.value,
            consent_version=CONSENT_VERSION,
        )
        session.add(super_admin)
        institutes = [
            Institute(
                name=INSTITUTE_NAMES[i],
                timezone="Africa/Nairobi" if i % 4 == 1 else "Asia/Kolkata",
                currency="KES" if i % 4 == 1 else "INR",
                subscription_end=today + timedelta(days=365),
                max_teachers=spec.teachers + 5,
            )
            for i in range(spec.institutes)
        ]
        session.add_all(institutes)
        session.flush()
        result.super_admin_id = super_admin.id
        rows = _user_rows(rng, institutes, spec)
        for start in range(0, len(rows), 5000):
            session.execute(insert(User), rows[start : start + 5000])
        session.flush()
        _collect_ids(session, result, institutes)
        if history:
            _seed_history(session, rng, seed=seed, size=size, institutes=institutes, result=result)
    if history:
        # One risk recompute, as the worker's morning job would: Student risk and the
        # Overview's risk charts are never empty after seeding.
        from app.risk.jobs import student_risk_recompute

        student_risk_recompute(engine=engine)
        if size == "small":
            # Last month's progress reports, as the job on the 1st would have queued them: the
            # first-start demo's outbox shows what guardians receive. (Not on the benchmark
            # sizes: ten thousand queued reports would be measured by the outbox figures.)
            from app.reports.jobs import monthly_progress_reports

            monthly_progress_reports(engine=engine)
    return result


def _user_rows(rng: random.Random, institutes: list[Institute], spec: Any) -> list[dict[str, Any]]:
    """An admin, the teachers, counselors and students of each institute, as user rows (a few
    still invited or disabled, as in real life)."""
    rows: list[dict] = []
    for index, institute in enumerate(institutes):
        domain = f"{_slug(institute.name)}.example"
        students = spec.biggest_students if index == 0 else spec.other_students
        plan = [
            (Role.ADMIN, 1),
            (Role.TEACHER, spec.teachers),
            (Role.COUNSELOR, spec.counselors),
            (Role.STUDENT, students),
        ]
        phones: set[str] = set()
        for role, count in plan:
            for n in range(count):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                if role == Role.ADMIN:
                    email, name = f"admin@{domain}", f"{first} {last}"
                else:
                    email, name = f"{role.value}{n + 1}@{domain}", f"{first} {last}"
                phone = new_phone(rng, phones)
                # A few of everyone but the admin are still invited or disabled, as in real life.
                roll = rng.random()
                status = UserStatus.ACTIVE.value
                if role != Role.ADMIN and n > 0:
                    status = (
                        UserStatus.INVITED.value
                        if roll < 0.04
                        else UserStatus.DISABLED.value
                        if roll < 0.06
                        else status
                    )
                rows.append(
                    {
                        "institute_id": institute.id,
                        "name": name,
                        "email": email,
                        "phone": f"+91{phone}",  # E.164, as the app stores phones
                        "role": role.value,
                        "status": status,
                        # Demo people have been through onboarding already.
                        "consent_version": CONSENT_VERSION
                        if status == UserStatus.ACTIVE.value
                        else None,
                        "created_at": clock.now(),
                        "updated_at": clock.now(),
                    }
                )
    return rows


def _seed_history(
    session: Session,
    rng: random.Random,
    *,
    seed: int,
    size: Size,
    institutes: list[Institute],
    result: SeedResult,
) -> None:
    """A year of classes and coursework in every institute, fees and badges in the first five,
    then CRM, feedback and points everywhere, each from its own generator where it can be."""
    from app.demo.academics import ACADEMIC_TABLES, seed_academics
    from app.demo.bulk import analyze, checks_deferred
    from app.demo.coursework import COURSEWORK_TABLES, seed_coursework
    from app.demo.fees import FEE_TABLES, seed_fees

    people = _people(session, result.institute_ids)
    # Keys and indexes are checked and built once after the bulk loads, not row by row.
    with checks_deferred(session, ACADEMIC_TABLES + COURSEWORK_TABLES):
        years = [
            seed_academics(
                session,
                rng=rng,
                institute_id=institute.id,
                timezone=institute.timezone,
                users=people[institute.id],
                term_starts=institute.term_starts,
            )
            for institute in institutes
        ]
        # Coursework draws from its own generator, so the fees below stay as they were.
        coursework = seed_coursework(session, rng=random.Random(f"coursework-{seed}"), years=years)
    for year in years:
        result.history[year.institute_id] = year.summary | coursework[year.institute_id]
    # Statistics once for all institutes (not per institute: the tables grow to millions).
    analyze(session, ACADEMIC_TABLES + COURSEWORK_TABLES)
    # Fees for the first five institutes (all of small and medium), through the real
    # services (payments in one bulk pass per institute). The services query by their
    # unique keys, so only foreign keys wait.
    with checks_deferred(session, FEE_TABLES, foreign_keys_only=True):
        for institute, year in zip(institutes[:5], years, strict=False):
            result.history[institute.id] |= seed_fees(
                session,
                rng=rng,
                institute_id=institute.id,
                timezone=institute.timezone,
                unpaid=year.lost,
            )
    # A badge program in the same five, awarded by the real rules over that history.
    from app.demo.badges import seed_badges

    badge_rng = random.Random(f"badges-{seed}")
    for institute in institutes[:5]:
        result.history[institute.id] |= seed_badges(
            session, rng=badge_rng, institute_id=institute.id
        )
    # A year of CRM inquiries and follow-ups in every institute, then their lead scores.
    from app.demo.crm import CRM_TABLES, finish_crm, seed_crm

    crm_rng = random.Random(f"crm-{seed}")
    with checks_deferred(session, CRM_TABLES):
        for index, institute in enumerate(institutes):
            staff = people[institute.id]
            result.history[institute.id] |= seed_crm(
                session,
                rng=crm_rng,
                institute_id=institute.id,
                timezone=institute.timezone,
                counselors=[u[0] for u in staff[Role.COUNSELOR.value]]
                or [u[0] for u in staff[Role.ADMIN.value]],
                size=size,
                biggest=index == 0,
            )
    finish_crm(session, institute_ids=result.institute_ids)
    # A year of feedback and points in every institute (its own generator, bulk-loaded).
    from app.demo.feedback import FEEDBACK_TABLES, seed_feedback

    feedback_rng = random.Random(f"feedback-{seed}")
    with checks_deferred(session, FEEDBACK_TABLES):
        for institute in institutes:
            result.history[institute.id] |= seed_feedback(
                session,
                rng=feedback_rng,
                institute_id=institute.id,
                timezone=institute.timezone,
            )


def _people(
    session: Session, institute_ids: list[int]
) -> dict[int, dict[str, list[tuple[int, str, str | None]]]]:
    from sqlmodel import select

    out: dict[int, dict[str, list]] = {i: {r.value: [] for r in Role} for i in institute_ids}
    for user_id, institute_id, role, name, phone, status in session.exec(
        select(User.id, User.institute_id, User.role, User.name, User.phone, User.status)
        .where(User.institute_id.in_(institute_ids))
        .order_by(User.id)
    ):
        if status != UserStatus.DISABLED.value or role == Role.STUDENT.value:
            out[institute_id][role].append((user_id, name, phone))
    return out


def _collect_ids(session: Session, result: SeedResult, institutes: list[Institute]) -> None:
    from sqlmodel import select

    result.institute_ids = [i.id for i in institutes]
    for inst in institutes:
        result.users_by_institute[inst.id] = {r.value: [] for r in Role if r != Role.SUPER_ADMIN}
    for user_id, institute_id, role in session.exec(
        select(User.id, User.institute_id, User.role)
        .where(User.institute_id.in_(result.institute_ids))
        .order_by(User.id)
    ):
        result.users_by_institute[institute_id][role].append(user_id)
