"""A guardian says a student will be away: each class of that day gets a notice for its teacher.

The guardian presses "Will be absent tomorrow" under an absence alert on Telegram (app.bot has
already proven the chat is that guardian's). Each class the student has that day opens an
inbox action for the batch's teacher, and the sheet of that class marks the student "excused"
unless the teacher changes it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_
from sqlmodel import Session, col, or_, select

from app.academics.models import Batch, BatchMembership, Student
from app.attendance.models import NOT_HELD, ClassSession
from app.core.ownership import find_owned
from app.inbox import service as inbox
from app.inbox.models import ActionType, PendingAction


def absence_notice_internal(
    session: Session, *, institute_id: int, student_id: int | None, day: date, said_by: str
) -> list[str]:
    """Open a notice for the teacher of each of the student's classes on `day` (once per class);
    returns the names of the batches told (empty: no class that day)."""
    student = find_owned(session, Student, student_id, institute_id)
    if student is None:
        return []
    classes = session.exec(
        select(ClassSession.id, Batch.id, Batch.name, Batch.teacher_user_id)
        .join(Batch, col(Batch.id) == col(ClassSession.batch_id))
        .join(
            BatchMembership,
            and_(
                col(BatchMembership.batch_id) == col(Batch.id),
                col(BatchMembership.student_id) == student_id,
                col(BatchMembership.institute_id) == institute_id,
            ),
        )
        .where(
            ClassSession.institute_id == institute_id,
            ClassSession.date == day,
            col(ClassSession.status).not_in(NOT_HELD),
            BatchMembership.joined_on <= day,
            or_(col(BatchMembership.left_on).is_(None), col(BatchMembership.left_on) >= day),
        )
        .order_by(col(ClassSession.starts_at))
    ).all()
    for class_id, batch_id, _name, teacher in classes:
        inbox.open_action_internal(
            session,
            institute_id=institute_id,
            type=ActionType.ABSENCE_NOTICE.value,
            reason=f"{said_by} says {student.name} will be absent on {day:%A %d %B}.",
            dedupe_key=f"absence_notice:{class_id}:{student_id}",
            student_id=student_id,
            batch_id=batch_id,
            session_id=class_id,
            owner_user_id=teacher,
        )
    return [name for _c, _b, name, _t in classes]


def excused_in_advance_internal(
    session: Session, *, institute_id: int, session_id: int | None
) -> set[int]:
    """The students a guardian said would be away from this class (the sheet's default)."""
    return {
        sid
        for sid in session.exec(
            select(PendingAction.student_id).where(
                PendingAction.institute_id == institute_id,
                PendingAction.type == ActionType.ABSENCE_NOTICE.value,
                PendingAction.session_id == session_id,
            )
        )
        if sid is not None
    }
