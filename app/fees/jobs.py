"""Fee jobs: daily reminders and overdue actions; monthly coaching fees for active batch members."""

from __future__ import annotations

from sqlmodel import col, select

from app.core.roles import Role
from app.core.tenancy import Actor
from app.fees import alerts, service
from app.fees.models import FeeStructure
from app.worker.registry import daily_job, for_each_institute


def fee_alerts(*, engine=None) -> dict:
    def work(session, institute):
        counts = alerts.send_fee_alerts_internal(session, institute_id=institute.id)
        return {k: counts[k] for k in ("reminders", "actions")}

    return {"reminders": 0, "actions": 0} | for_each_institute(work, engine=engine)


def monthly_fees(*, engine=None) -> dict:
    """Invoice every active batch member for this month under each active monthly structure
    (idempotent: a month is invoiced once per student and structure)."""

    def work(session, institute):
        structures = list(
            session.exec(
                select(FeeStructure.id).where(
                    FeeStructure.institute_id == institute.id,
                    FeeStructure.period_kind == "month",
                    col(FeeStructure.active).is_(True),
                )
            )
        )
        if not structures:
            return {"structures": 0, "created": 0}
        actor = Actor(
            user_id=None,
            role=Role.ADMIN,
            institute_id=institute.id,
            name="monthly fees",
            source="worker",
        )
        members = service.active_batch_members_internal(session, institute_id=institute.id)
        created = 0
        for structure_id in structures if members else []:
            created += len(
                service.invoice_run(
                    session,
                    actor=actor,
                    structure_id=structure_id,
                    period=None,  # the month containing the institute's today
                    student_ids=members,
                ).students
            )
        return {"structures": len(structures), "created": created}

    return {"structures": 0, "created": 0} | for_each_institute(work, engine=engine)


JOBS = [
    daily_job(
        "fee_alerts",
        fee_alerts,
        hour=3,
        minute=0,
        description="Staged fee reminders to guardians and fee_overdue actions",
    ),
    daily_job(
        "monthly_fees",
        monthly_fees,
        hour=2,
        minute=0,
        description="Invoice active batch members under monthly fee structures (once per month)",
    ),
]
