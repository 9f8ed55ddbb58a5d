"""Students hand homework in: text and/or files (kept in the materials storage, with the same
type checks and size limit as shared materials), replaceable until the teacher marks it. A
hand-in after the due date (the institute's day) is late. The teacher of the batch and admins
read hand-ins and download their files; a student only their own."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.academics import service as academics
from app.academics.models import Student
from app.core import audit, clock
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.core.roles import Role
from app.core.tenancy import Actor
from app.coursework.common import TEACHING, homework_in_scope, today_internal
from app.coursework.models import HandInFile, Homework, HomeworkSubmission, SubmissionStatus
from app.materials.service import checked_file
from app.materials.storage import Storage, get_storage, new_key

MAX_TEXT = 5000
MAX_FILES = 5
MARKED = "Your teacher has marked this homework; it can no longer be changed."


@dataclass(frozen=True)
class HandedFile:
    id: int
    name: str
    size_bytes: int
    content_type: str


@dataclass(frozen=True)
class HandIn:
    """What one student handed in for one homework."""

    submission_id: int
    student_id: int
    student: str
    status: str
    late: bool
    handed_in_at: datetime | None
    text: str | None
    files: list[HandedFile]
    times: int  # how many times it was handed in (replaced until marked)


def _files_of(session: Session, submission_ids: list[int]) -> dict[int, list[HandedFile]]:
    out: dict[int, list[HandedFile]] = {sid: [] for sid in submission_ids}
    if not submission_ids:
        return out
    for f in session.exec(
        select(HandInFile)
        .where(col(HandInFile.submission_id).in_(submission_ids))
        .order_by(col(HandInFile.id))
    ):
        out[f.submission_id].append(
            HandedFile(int(f.id or 0), f.original_name, f.size_bytes, f.content_type)
        )
    return out


def _my_submission(
    session: Session, actor: Actor, homework_id: int
) -> tuple[HomeworkSubmission, Homework, Student]:
    actor.require(Role.STUDENT)
    student = academics.my_student(session, actor=actor)
    if student is None:
        raise NotFound("Your account is not linked to a student record yet; ask the institute.")
    row = session.exec(
        select(HomeworkSubmission, Homework)
        .join(Homework, col(Homework.id) == col(HomeworkSubmission.homework_id))
        .where(
            HomeworkSubmission.institute_id == student.institute_id,
            HomeworkSubmission.homework_id == homework_id,
            HomeworkSubmission.student_id == student.id,
        )
    ).first()
    if row is None:
        raise NotFound("That homework is not yours.")
    return row[0], row[1], student


def hand_in(
    session: Session,
    *,
    actor: Actor,
    homework_id: int,
    text: str | None = None,
    files: list[tuple[str, bytes]] | None = None,
    storage: Storage | None = None,
) -> HandIn:
    """Hand homework in, or replace what was handed in, until the teacher marks it. Files are
    checked (type by content, size) before anything is stored or written."""
    submission, homework, student = _my_submission(session, actor, homework_id)
    if submission.status == SubmissionStatus.GRADED.value:
        raise Conflict(MARKED)
    words = (text or "").strip() or None
    if words and len(words) > MAX_TEXT:
        raise ValidationError(
            f"Keep the text under {MAX_TEXT} characters (it has {len(words)}).", field="text"
        )
    files = list(files or [])
    if not words and not files:
        raise ValidationError("Write your answer or attach a file to hand in.", field="text")
    if len(files) > MAX_FILES:
        raise ValidationError(f"Hand in at most {MAX_FILES} files.", field="files")
    checked = []
    for raw_name, data in files:
        name, kind = checked_file(raw_name, data, field="files")
        checked.append((name, data, kind))
    now = clock.now()
    today = today_internal(session, homework.institute_id)
    late = today > homework.due_on
    store = storage or get_storage()
    replaced = session.exec(
        select(HandInFile.storage_key).where(HandInFile.submission_id == submission.id)
    ).all()
    # Files first: if the transaction fails after this, they are orphans the storage cleanup
    # removes; the replaced ones become orphans the same way once no row names them.
    rows = []
    for name, data, kind in checked:
        key = new_key(homework.institute_id)
        store.put(key, data, content_type=kind.content_type)
        rows.append(
            HandInFile(
                institute_id=homework.institute_id,
                submission_id=int(submission.id or 0),
                original_name=name,
                size_bytes=len(data),
                content_type=kind.content_type,
                sha256=hashlib.sha256(data).hexdigest(),
                storage_key=key,
                uploaded_at=now,
            )
        )
    session.exec(delete(HandInFile).where(col(HandInFile.submission_id) == submission.id))
    session.add_all(rows)
    submission.hand_in_text = words
    submission.handed_in_at = now
    submission.hand_ins = (submission.hand_ins or 0) + 1
    submission.status = (SubmissionStatus.LATE if late else SubmissionStatus.SUBMITTED).value
    submission.on_time = not late
    submission.submitted_on = today
    submission.updated_at = now
    session.add(submission)
    session.flush()
    audit.on(
        session,
        actor,
        "homework.hand_in",
        homework.id,
        {
            "files": [r.original_name for r in rows],
            "late": late,
            "times": submission.hand_ins,
            "replaced_files": len(replaced),
        },
    )
    return _hand_in_row(session, submission, student)


def _hand_in_row(session: Session, submission: HomeworkSubmission, student: Student) -> HandIn:
    sid = int(submission.id or 0)
    return HandIn(
        submission_id=sid,
        student_id=int(student.id or 0),
        student=student.name,
        status=submission.status,
        late=submission.status == SubmissionStatus.LATE.value
        or (submission.handed_in_at is not None and not submission.on_time),
        handed_in_at=submission.handed_in_at,
        text=submission.hand_in_text,
        files=_files_of(session, [sid])[sid],
        times=submission.hand_ins or 0,
    )


def my_hand_in(session: Session, *, actor: Actor, homework_id: int) -> HandIn:
    """What the signed-in student handed in for a homework (nothing yet: no text, no files)."""
    submission, _homework_row, student = _my_submission(session, actor, homework_id)
    return _hand_in_row(session, submission, student)


def hand_ins(session: Session, *, actor: Actor, homework_id: int) -> list[HandIn]:
    """Every hand-in of a homework, for its batch's teacher and admins: two queries."""
    actor.require(*TEACHING)
    homework, _batch = homework_in_scope(session, actor, homework_id)
    rows = session.exec(
        select(HomeworkSubmission, Student)
        .join(Student, col(Student.id) == col(HomeworkSubmission.student_id))
        .where(
            HomeworkSubmission.institute_id == homework.institute_id,
            HomeworkSubmission.homework_id == homework.id,
            col(HomeworkSubmission.handed_in_at).is_not(None),
        )
        .order_by(col(Student.name), col(Student.id))
    ).all()
    files = _files_of(session, [int(sub.id or 0) for sub, _ in rows])
    return [
        HandIn(
            submission_id=int(sub.id or 0),
            student_id=int(st.id or 0),
            student=st.name,
            status=sub.status,
            late=not sub.on_time,
            handed_in_at=sub.handed_in_at,
            text=sub.hand_in_text,
            files=files[int(sub.id or 0)],
            times=sub.hand_ins or 0,
        )
        for sub, st in rows
    ]


def download_hand_in(
    session: Session, *, actor: Actor, file_id: int, storage: Storage | None = None
) -> tuple[str, str, bytes]:
    """(file name, content type, bytes) of a handed-in file: for the student who handed it in,
    the teacher of the homework's batch and admins; anyone else is told it does not exist."""
    found = session.exec(
        select(HandInFile, HomeworkSubmission)
        .join(HomeworkSubmission, col(HomeworkSubmission.id) == col(HandInFile.submission_id))
        .where(HandInFile.institute_id == actor.institute_scope(), HandInFile.id == file_id)
    ).first()
    if found is None:
        raise NotFound("That file does not exist.")
    stored, submission = found
    if actor.role == Role.STUDENT:
        student = academics.my_student(session, actor=actor)
        if student is None or student.id != submission.student_id:
            raise NotFound("That file does not exist.")
    else:
        actor.require(*TEACHING)
        try:
            homework_in_scope(session, actor, submission.homework_id)
        except PermissionDenied:
            raise NotFound("That file does not exist.") from None
    data = (storage or get_storage()).get(stored.storage_key)
    return stored.original_name, stored.content_type, data


def hand_in_keys_internal(session: Session, *, keys: list[str]) -> set[str]:
    """Which of these storage keys are handed-in files (the storage cleanup keeps them)."""
    if not keys:
        return set()
    return set(
        session.exec(
            select(HandInFile.storage_key).where(col(HandInFile.storage_key).in_(keys))
        ).all()
    )
