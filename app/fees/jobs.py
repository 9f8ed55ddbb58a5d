"""Fee jobs: daily reminders and overdue actions; monthly coaching fees for active batch members."""

from __future__ import annotations

from sqlmodel import col, select

from app.core.db import session_scope
from app.core.roles import Role
from app.core.tenancy import Actor
from app.fees import alerts, service
from app.fees.models import FeeStructure
from app.identity.models import Institute
from app.worker.registry import Job, day_period


def fee_alerts(*, engine=None) -> dict:
    totals = {"institutes": 0, "reminders": 0, "actions": 0}
    with session_scope(system=True, engine=engine) as session:
        ids = list(session.exec(select(Institute.id)))
    for institute_id in ids:
        with session_scope(institute_id=institute_id, engine=engine) as session:
            counts = alerts.send_fee_alerts_internal(session, institute_id=institute_id)
        totals["institutes"] += 1
        totals["reminders"] += counts["reminders"]
        totals["actions"] += counts["actions"]
    return totals


def monthly_fees(*, engine=None) -> dict:
    """Invoice every active batch member for this month under each active monthly structure
    (idempotent: a month is invoiced once per student and structure)."""
    created = 0
    with session_scope(system=True, engine=engine) as session:
        plans = session.exec(
            select(FeeStructure.institute_id, FeeStructure.id)
            .join(Institute, Institute.id == FeeStructure.institute_id)
            .where(FeeStructure.period_kind == "month", col(FeeStructure.active).is_(True))
        ).all()
    for institute_id, structure_id in plans:
        actor = Actor(
            user_id=None,
            role=Role.ADMIN,
            institute_id=institute_id,
            name="monthly fees",
            source="worker",
        )
        with session_scope(actor, engine=engine) as session:
            members = service.active_batch_members_internal(session, institute_id=institute_id)
            if members:
                created += len(
                    service.invoice_run(
                        session,
                        actor=actor,
                        structure_id=structure_id,
                        period=None,  # the month containing the institute's today
                        student_ids=members,
                    ).students
                )
    return {"structures": len(plans), "created": created}


JOBS = [
    Job(
        name="fee_alerts",
        run=fee_alerts,
        trigger={"trigger": "cron", "hour": 3, "minute": 0},
        period=day_period,
        description="Staged fee reminders to guardians and fee_overdue actions",
    ),
    Job(
        name="monthly_fees",
        run=monthly_fees,
        trigger={"trigger": "cron", "hour": 2, "minute": 0},
        period=day_period,
        description="Invoice active batch members under monthly fee structures (once per month)",
    ),
]
