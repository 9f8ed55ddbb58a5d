"""CRM jobs: overdue follow-ups into the counselors' inboxes, and the daily lead-score pass."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.core import clock, phones
from app.crm import leadscore
from app.crm.models import OPEN_STATUSES, FollowUp, FollowUpStatus, FollowUpType, Inquiry
from app.identity.models import Institute
from app.inbox import service as inbox
from app.worker.registry import daily_job, for_each_institute

_HOW = {
    FollowUpType.CALL.value: "call",
    FollowUpType.EMAIL.value: "email",
    FollowUpType.VISIT.value: "visit",
    FollowUpType.SMS.value: "SMS",
    FollowUpType.WHATSAPP.value: "WhatsApp message",
}


def open_due_actions_internal(session: Session, *, institute_id: int) -> int:
    """One `follow_up_due` action per planned follow-up whose day has passed (open inquiries
    only), for its counselor; a follow-up already raised is never raised again. Two queries."""
    timezone, currency = session.exec(
        select(Institute.timezone, Institute.currency).where(Institute.id == institute_id)
    ).one()
    today = clock.today_in(timezone)
    region = phones.region_for(currency)
    rows = session.exec(
        select(
            FollowUp.id,
            FollowUp.follow_up_date,
            FollowUp.follow_up_type,
            FollowUp.counselor_user_id,
            Inquiry.counselor_user_id,
            Inquiry.student_name,
            Inquiry.phone,
        )
        .join(Inquiry, Inquiry.id == FollowUp.inquiry_id)
        .where(
            FollowUp.institute_id == institute_id,
            Inquiry.institute_id == institute_id,
            FollowUp.status == FollowUpStatus.PENDING.value,
            FollowUp.follow_up_date < today,
            col(Inquiry.status).in_([s.value for s in OPEN_STATUSES]),
        )
        .order_by(FollowUp.follow_up_date, FollowUp.id)
    ).all()
    return inbox.open_actions_bulk_internal(
        session,
        institute_id=institute_id,
        actions=[
            {
                "type": "follow_up_due",
                "owner_user_id": owner or inquiry_owner,
                "reason": f"Follow-up {_HOW.get(kind, kind)} with {name}"
                + (f" ({phones.format_phone(phone, region)})" if phone else "")
                + f" was due on {due:%d %b %Y} and has not been logged.",
                "dedupe_key": f"follow_up_due:{fid}",
            }
            for fid, due, kind, owner, inquiry_owner, name, phone in rows
        ],
    )


def crm_follow_ups_due(*, engine=None) -> dict:
    """Every institute: overdue follow-ups into their counselors' inboxes (once each)."""

    def work(session, institute):
        return {"actions": open_due_actions_internal(session, institute_id=institute.id)}

    return {"actions": 0} | for_each_institute(work, engine=engine)


def crm_lead_scores(*, engine=None) -> dict:
    """Every institute: rescore all inquiries, writing only the changed ones."""

    def work(session, institute):
        changed = leadscore.recompute_institute_internal(session, institute_id=institute.id)
        return {"changed": changed}

    return {"changed": 0} | for_each_institute(work, engine=engine)


JOBS = [
    daily_job(
        "crm_follow_ups_due",
        crm_follow_ups_due,
        hour=6,
        minute=30,
        description="Overdue CRM follow-ups become follow_up_due actions for their counselor",
    ),
    daily_job(
        "crm_lead_scores",
        crm_lead_scores,
        hour=4,
        minute=15,
        description="Recompute every inquiry's lead score and reasons",
    ),
]
