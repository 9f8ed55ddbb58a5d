"""Demo fees: a term fee structure, two terms invoiced to every active student, payments from a
sample of them (full, partial, a few overpaying), through the real services."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlmodel import Session, select

from app.academics.models import Student
from app.core import clock
from app.core.tenancy import Actor
from app.fees import service as fees

PAYERS_PER_INSTITUTE = 120


def seed_fees(
    session: Session,
    *,
    rng: random.Random,
    institute_id: int,
    timezone: str,
    payers: int = PAYERS_PER_INSTITUTE,
) -> dict:
    actor = Actor.system(institute_id, source="seed")
    structure = fees.create_structure(
        session,
        actor=actor,
        name="Term fees",
        items=[
            {"name": "Tuition", "amount_minor": 12_000_00},
            {"name": "Activity", "amount_minor": 1_500_00},
            {"name": "Exam", "amount_minor": 800_00},
            {"name": "Transport", "amount_minor": 2_500_00, "optional": True},
        ],
    )
    today = clock.today_in(timezone)
    students = list(
        session.exec(
            select(Student.id)
            .where(Student.institute_id == institute_id, Student.status == "active")
            .order_by(Student.id)
        )
    )
    for term, issued in (("T1", today - timedelta(days=150)), ("T2", today - timedelta(days=40))):
        fees.invoice_run(
            session,
            actor=actor,
            structure_id=structure.id,
            period=f"{today.year}-{term}",
            student_ids=students,
            issued_on=issued,
        )
    from app.demo.academics import analyze

    analyze(session, ["invoices", "invoice_lines", "journal_entries", "journal_lines", "payments"])
    payments = 0
    for n, student_id in enumerate(rng.sample(students, min(payers, len(students)))):
        roll = rng.random()
        amount = (
            14_300_00
            if roll < 0.5
            else rng.randrange(2_000_00, 14_000_00, 100)
            if roll < 0.9
            else 30_000_00
        )
        fees.record_payment(
            session,
            actor=actor,
            student_id=student_id,
            amount_minor=amount,
            method=rng.choice(["cash", "bank", "upi", "mpesa", "card"]),
            reference=f"DEMO-{institute_id}-{n}",
            received_on=today - timedelta(days=rng.randrange(1, 140)),
        )
        payments += 1
    return {"students_invoiced": len(students), "payments": payments}
