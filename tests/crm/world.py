"""A small CRM world: an institute with an admin, two counselors, a student who refers friends,
Physics taught in an open batch (room for 2), Chemistry asked about but not taught, and a fee
structure for the first invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from app.academics import service as academics
from app.core import clock
from app.core.roles import Role
from app.core.tenancy import Actor
from app.fees import service as fees
from tests import factories as f

# 10:00 in Kolkata on Friday 20 Nov 2026.
NOW = datetime(2026, 11, 20, 4, 30, tzinfo=UTC)
TODAY = date(2026, 11, 20)


@dataclass
class World:
    institute: object
    admin: Actor
    counselor: Actor
    other_counselor: Actor
    physics: int
    chemistry: int
    batch: int
    structure: int
    referrer: int  # a current student


def build(db, *, capacity: int = 2) -> World:
    inst = f.institute(db, name="CRM Institute")
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    counselor = f.actor_for(f.user(db, inst, Role.COUNSELOR, name="Carla Counselor"))
    other = f.actor_for(f.user(db, inst, Role.COUNSELOR, name="Omar Counselor"))
    with clock.frozen(NOW), db.scope(admin) as s:
        physics = academics.create_subject(s, actor=admin, name="Physics").id
        chemistry = academics.create_subject(s, actor=admin, name="Chemistry").id
        batch = academics.create_batch(
            s, actor=admin, name="Physics A", subject_id=physics, capacity=capacity
        ).id
        structure = fees.create_structure(
            s,
            actor=admin,
            name="Monthly fees",
            period_kind="month",
            items=[
                {"name": "Tuition", "amount_minor": 5_000_00},
                {"name": "Lab", "amount_minor": 500_00},
            ],
        ).id
        referrer = academics.create_student(
            s, actor=admin, enrollment_no="ADM-00001", name="Riya Referrer"
        ).id
    return World(inst, admin, counselor, other, physics, chemistry, batch, structure, referrer)
