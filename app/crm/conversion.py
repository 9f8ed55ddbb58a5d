"""Converting an inquiry into a student: the record, batch membership, first invoice and referral reward, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from app.academics import service as academics_service
from app.academics.models import Batch, BatchMembership, Guardian, Student
from app.core import audit, db
from app.core.errors import Conflict, ValidationError
from app.core.ownership import owned
from app.core.tenancy import Actor
from app.core.text import plural
from app.crm.common import CRM_ROLES, drop_pending, get, move_status, touch
from app.crm.models import (
    Inquiry,
    Status,
)
from app.feedback import points as points_service
from app.fees import service as fees_service
from app.fees.models import FeeItem, FeeStructure, Invoice


@dataclass(frozen=True)
class Conversion:
    inquiry: Inquiry
    student: Student
    guardian: Guardian | None
    membership: BatchMembership
    invoice: Invoice
    referral_points: int | None  # points the referrer earned, when there was one


def suggest_enrollment_no(session: Session, *, actor: Actor) -> str:
    """A free enrollment number in the ADM-00001 style, for the conversion form."""
    actor.require(*CRM_ROLES)
    institute_id = actor.institute_scope()
    n = int(db.count(session, Student, Student.institute_id == institute_id))
    while True:
        n += 1
        candidate = f"ADM-{n:05d}"
        taken = session.exec(
            select(Student.id).where(
                Student.institute_id == institute_id, Student.enrollment_no == candidate
            )
        ).first()
        if taken is None:
            return candidate


def convert(
    session: Session,
    *,
    actor: Actor,
    inquiry_id: int,
    enrollment_no: str,
    batch_id: int,
    structure_id: int,
    period: str | None = None,
    guardian_name: str | None = None,
    guardian_phone: str | None = None,
    guardian_relationship: str = "guardian",
    date_of_birth: date | None = None,
    optional_item_ids: list[int] | None = None,
) -> Conversion:
    """Enrol an inquiry in one step: the student (and guardian), a place in the batch and the
    first invoice from the chosen fee structure; the inquiry becomes enrolled and links to the
    student, and a referrer earns their points. All of it, or — on any refusal — none of it.
    The invoice bills the structure's period containing today (the term, for a per-term
    structure) unless `period` names another; it is the same period an invoice run bills, so a
    later run for that period skips the new student."""
    actor.require(*CRM_ROLES)
    inquiry = get(session, actor, inquiry_id)
    institute_id = inquiry.institute_id
    # Check what can be checked before writing anything, so the usual refusals are clear.
    _lock_and_check_open(session, inquiry, batch_id)
    batch = _open_batch_with_room(session, institute_id, batch_id)
    structure = _billable_structure(session, institute_id, structure_id)
    if period is None:
        period = fees_service.current_period(session, actor=actor, structure_id=structure.id)
    elif not period.strip():
        raise ValidationError(
            "Name the billing period, such as 2026-11 or 2026-T1.", field="period"
        )
    if guardian_phone and not (guardian_name or "").strip():
        raise ValidationError("Give the guardian's name with their phone.", field="guardian_name")
    with session.begin_nested():
        student = academics_service.create_student(
            session,
            actor=actor,
            enrollment_no=enrollment_no,
            name=inquiry.student_name,
            phone=inquiry.phone,
            email=inquiry.email,
            date_of_birth=date_of_birth,
            counselor_user_id=inquiry.counselor_user_id,
        )
        guardian = None
        if (guardian_name or "").strip():
            guardian = academics_service.add_guardian(
                session,
                actor=actor,
                student_id=student.id,
                name=guardian_name,
                phone=guardian_phone,
                relationship=(guardian_relationship or "guardian").strip().lower(),
            )
        membership = academics_service.join_batch(
            session, actor=actor, batch_id=batch.id, student_id=student.id
        )
        invoice = fees_service.invoice_student(
            session,
            actor=actor,
            student_id=student.id,
            structure_id=structure.id,
            period=period,
            optional_item_ids=optional_item_ids,
        )
        reward_points = None
        if inquiry.referrer_student_id is not None:
            entry = points_service.record_referral_reward_internal(
                session,
                institute_id=institute_id,
                referrer_student_id=inquiry.referrer_student_id,
                inquiry_id=inquiry.id,
                new_student_name=inquiry.student_name,
                created_by_user_id=actor.user_id,
            )
            reward_points = getattr(entry, "points", None) if entry is not None else None
        previous = inquiry.status
        move_status(inquiry, Status.ENROLLED)
        inquiry.student_id = student.id
        drop_pending(session, inquiry)
        audit.on(
            session,
            actor,
            "crm.convert",
            inquiry.id,
            {
                "from": previous,
                "student_id": student.id,
                "batch_id": batch.id,
                "invoice_id": invoice.id,
                "referrer_student_id": inquiry.referrer_student_id,
            },
            target_type="inquiry",
        )
        touch(session, inquiry)
    return Conversion(inquiry, student, guardian, membership, invoice, reward_points)


def _lock_and_check_open(session: Session, inquiry: Inquiry, batch_id: int) -> None:
    """The inquiry may still be enrolled (and, on PostgreSQL, no one else is converting it or
    filling the batch's last place meanwhile)."""
    institute_id = inquiry.institute_id
    if session.get_bind().dialect.name == "postgresql":
        # Two people converting the same inquiry, or filling the batch's last place, wait for
        # each other (SQLite: the page takes the write lock up front).
        session.exec(select(Inquiry.id).where(Inquiry.id == inquiry.id).with_for_update()).one()
        session.exec(
            select(Batch.id)
            .where(Batch.institute_id == institute_id, Batch.id == batch_id)
            .with_for_update()
        ).all()
        session.refresh(inquiry)
    if inquiry.status == Status.ENROLLED.value:
        raise Conflict(f"{inquiry.student_name} is already enrolled.")
    if inquiry.status == Status.LOST.value:
        raise ValidationError(
            f"{inquiry.student_name}'s inquiry is lost; reopen it (status contacted) before enrolling."
        )


def _open_batch_with_room(session: Session, institute_id: int, batch_id: int) -> Batch:
    """The batch, open and not full."""
    batch = owned(session, Batch, batch_id, institute_id, "batch")
    if not batch.active:
        raise ValidationError(f"{batch.name} is closed; choose another batch.", field="batch_id")
    if batch.capacity is not None:
        members = db.count(
            session,
            BatchMembership,
            BatchMembership.institute_id == institute_id,
            BatchMembership.batch_id == batch.id,
            col(BatchMembership.left_on).is_(None),
        )
        if members >= batch.capacity:
            raise Conflict(
                f"{batch.name} is full ({plural(batch.capacity, 'student')}). Choose another batch or ask "
                "an admin to raise its capacity. Nothing was saved.",
                field="batch_id",
            )
    return batch


def _billable_structure(session: Session, institute_id: int, structure_id: int) -> FeeStructure:
    """The fee structure, of this institute, with items to bill."""
    structure = owned(session, FeeStructure, structure_id, institute_id, "fee structure")
    has_items = session.exec(
        select(FeeItem.id).where(
            FeeItem.institute_id == institute_id, FeeItem.structure_id == structure.id
        )
    ).first()
    if has_items is None:
        raise ValidationError(f"{structure.name} has no fee items to bill.", field="structure_id")
    return structure
