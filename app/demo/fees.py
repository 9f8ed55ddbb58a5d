"""Demo fees: a term fee structure, two terms invoiced to every active student, and payments from
most of them (full, partial, a few overpaying), through the real services."""

from __future__ import annotations

import random
from collections.abc import Collection
from datetime import timedelta

from sqlmodel import Session, select

from app.academics.models import Student
from app.core import clock
from app.core.tenancy import Actor
from app.fees import service as fees

# What the fee services write while the demo is built.
FEE_TABLES = [
    "invoices",
    "invoice_lines",
    "invoice_instalments",
    "journal_entries",
    "journal_lines",
    "payments",
    "payment_allocations",
]


def seed_fees(
    session: Session,
    *,
    rng: random.Random,
    institute_id: int,
    timezone: str,
    unpaid: Collection[int] = frozenset(),
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
    # The last term and this one, each named by the one billing-period rule: the last term's
    # bill went out ~150 days ago (long overdue), this term's ~40 days ago (or when it began).
    current = fees.current_period(session, actor=actor, structure_id=structure.id)
    term_start = fees.term_bounds(session, actor=actor, period=current)[0]
    last_issued = min(today - timedelta(days=150), term_start - timedelta(days=1))
    for issued in (last_issued, max(today - timedelta(days=40), term_start)):
        fees.invoice_run(
            session,
            actor=actor,
            structure_id=structure.id,
            period=fees.current_period(
                session, actor=actor, structure_id=structure.id, on_date=issued
            ),
            student_ids=students,
            issued_on=issued,
        )
    from app.demo.bulk import analyze

    analyze(session, FEE_TABLES)
    # Most families pay: the first term in full for ~85%, the second term in full for most of
    # those; some pay part, a few overpay, ~7% have paid nothing, nor have the families of the
    # students in `unpaid`. One bulk pass books them all.
    batch = []
    t1 = 14_300_00  # the first term's bill (optional transport not chosen)
    for student_id in students:
        roll = rng.random()
        paid = []
        if roll < 0.85:
            paid.append((t1, rng.randrange(100, 150)))
            second = rng.random()
            if second < 0.75:
                paid.append((t1, rng.randrange(1, 40)))
            elif second < 0.88:
                paid.append((rng.randrange(2_000_00, 12_000_00, 100), rng.randrange(1, 40)))
            elif second < 0.9:
                paid.append((30_000_00, rng.randrange(1, 40)))  # pays ahead: held as credit
        elif roll < 0.93:
            paid.append((rng.randrange(2_000_00, 14_000_00, 100), rng.randrange(60, 140)))
        if student_id in unpaid:
            continue  # the generator still rolled for them: everyone else's payments stay
        for amount, days_ago in paid:
            batch.append(
                {
                    "student_id": student_id,
                    "amount_minor": amount,
                    "method": rng.choice(["cash", "bank", "upi", "mpesa", "card"]),
                    "reference": f"DEMO-{institute_id}-{len(batch)}",
                    "received_on": today - timedelta(days=days_ago),
                }
            )
    batch.sort(key=lambda p: (p["received_on"], p["reference"]))
    # A few families pay ahead on purpose: the demo confirms their advance credit.
    payments = fees.record_payments_bulk(session, actor=actor, payments=batch, allow_credit=True)
    return {"students_invoiced": len(students), "payments": payments}
