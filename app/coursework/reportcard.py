"""The report card of one student and period: attendance, homework, assessments and topic progress, gathered in a handful of queries; its PDF."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from app.academics import service as academics
from app.academics.models import Batch, BatchMembership, Enrollment, Student, Subject, Topic
from app.attendance.models import AttendanceRecord, ClassSession, Mark, TopicProgress
from app.core.errors import NotFound, PermissionDenied, ValidationError
from app.core.ownership import owned
from app.core.roles import Role
from app.core.rows import carry
from app.core.tenancy import Actor
from app.coursework import reportcard_pdf
from app.coursework.common import HANDED_IN, STAFF, today_internal
from app.coursework.models import (
    Assessment,
    AssessmentResult,
    Homework,
    HomeworkSubmission,
    SubmissionStatus,
)
from app.identity.models import Institute


@dataclass(frozen=True)
class AttendanceSummary:
    sessions: int = 0  # classes whose attendance was taken with the student on the sheet
    present: int = 0
    late: int = 0
    absent: int = 0
    excused: int = 0

    @property
    def percent(self) -> float | None:
        """Classes attended (present or late) out of those not excused."""
        counted = self.sessions - self.excused
        return round(100 * (self.present + self.late) / counted, 1) if counted else None


@dataclass(frozen=True)
class HomeworkRecord:
    set: int = 0  # homework due in the period
    on_time: int = 0
    late: int = 0
    missing: int = 0
    pending: int = 0  # not handed in yet, not yet due
    mean_percent: float | None = None  # mean of marks / max marks over marked homework


@dataclass(frozen=True)
class AssessmentLine:
    date: date
    kind: str
    title: str
    subject: str | None
    marks: float | None
    max_marks: float
    percentage: float | None
    grade: str | None
    absent: bool


@dataclass(frozen=True)
class TopicLine:
    subject: str
    topic: str
    status: str
    competency: float


@dataclass(frozen=True)
class EnrolmentLine:
    subject: str
    status: str  # active, paused, dropped, completed
    completion_pct: float
    started_on: date
    expected_completion: date | None
    completed_on: date | None


@dataclass(frozen=True)
class ReportCard:
    student_id: int
    student: str
    enrollment_no: str
    institute: str
    start: date
    end: date
    batches: list[str]
    attendance: AttendanceSummary
    homework: HomeworkRecord
    assessments: list[AssessmentLine]
    topics: list[TopicLine]
    enrolments: list[EnrolmentLine] = field(default_factory=list)

    @property
    def mean_percent(self) -> float | None:
        """Mean percentage over the assessments sat in the period."""
        marked = [a.percentage for a in self.assessments if a.percentage is not None]
        return round(sum(marked) / len(marked), 2) if marked else None


def my_student(session: Session, *, actor: Actor) -> Student | None:
    """The student record of the signed-in student (None when none is linked yet)."""
    try:
        return academics.my_student(session, actor=actor)
    except NotFound:
        return None


def report_student(session: Session, *, actor: Actor, student_id: int | None) -> Student:
    """The student whose report card `actor` asks for, if they may see it (staff: a student of
    the institute, a teacher: of their batches; a student: themselves); raises otherwise."""
    return _report_student(session, actor, student_id)


def _report_student(session: Session, actor: Actor, student_id: int | None) -> Student:
    """Who the report card is of, if the actor may see it."""
    actor.require(*STAFF, Role.STUDENT)
    institute_id = actor.institute_scope()
    if actor.role == Role.STUDENT:
        student = my_student(session, actor=actor)
        if student is None:
            raise NotFound("Your account is not linked to a student record yet; ask the institute.")
        if student_id is not None and student_id != student.id:
            raise PermissionDenied("You can see only your own report card.")
        return student
    if student_id is None:
        raise ValidationError("Choose a student.")
    student = owned(session, Student, student_id, institute_id, "student")
    if actor.role == Role.TEACHER:
        taught = session.exec(
            select(BatchMembership.id)
            .join(Batch, Batch.id == BatchMembership.batch_id)
            .where(
                BatchMembership.institute_id == institute_id,
                BatchMembership.student_id == student.id,
                Batch.teacher_user_id == actor.user_id,
            )
        ).first()
        if taught is None:
            raise PermissionDenied("This student is not in one of your batches.")
    return student


def report_card(
    session: Session,
    *,
    actor: Actor,
    start: date,
    end: date,
    student_id: int | None = None,
) -> ReportCard:
    """One student's report card for a period: enrolments (status, completion), attendance,
    homework, assessments and topic progress. Staff see any student they may (a teacher: of their batches); a student sees
    only their own (student_id may be left out). A handful of grouped queries."""
    student = _report_student(session, actor, student_id)
    if start is None or end is None or end < start:
        raise ValidationError("The period ends before it starts.")
    institute_id = student.institute_id
    period = (session, institute_id, student.id, start, end)
    return ReportCard(
        student_id=student.id,
        student=student.name,
        enrollment_no=student.enrollment_no,
        institute=session.get(Institute, institute_id).name,
        start=start,
        end=end,
        batches=_batches_between(*period),
        attendance=_attendance_between(*period),
        homework=_homework_between(*period),
        assessments=_assessments_between(*period),
        topics=_topics_of(*period),
        enrolments=_enrolments_by(*period),
    )


def _batches_between(
    session: Session, institute_id: int, student_id: int | None, start: date, end: date
) -> list[str]:
    """The batches the student was in at some time in the period, by name."""
    batches = list(
        session.exec(
            select(Batch.name)
            .join(BatchMembership, BatchMembership.batch_id == Batch.id)
            .where(
                BatchMembership.institute_id == institute_id,
                BatchMembership.student_id == student_id,
                BatchMembership.joined_on <= end,
                (col(BatchMembership.left_on).is_(None)) | (BatchMembership.left_on >= start),
            )
            .distinct()
            .order_by(Batch.name)
        )
    )
    return batches


def _attendance_between(
    session: Session, institute_id: int, student_id: int | None, start: date, end: date
) -> AttendanceSummary:
    """The student's marks in the period, counted by kind."""
    marks = dict(
        session.exec(
            select(AttendanceRecord.status, func.count())
            .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
            .where(
                AttendanceRecord.institute_id == institute_id,
                AttendanceRecord.student_id == student_id,
                ClassSession.date >= start,
                ClassSession.date <= end,
            )
            .group_by(AttendanceRecord.status)
        ).all()
    )
    attendance = AttendanceSummary(
        sessions=sum(marks.values()),
        present=marks.get(Mark.PRESENT.value, 0),
        late=marks.get(Mark.LATE.value, 0),
        absent=marks.get(Mark.ABSENT.value, 0) + marks.get(Mark.NO_SHOW.value, 0),
        excused=marks.get(Mark.EXCUSED.value, 0),
    )
    return attendance


def _homework_between(
    session: Session, institute_id: int, student_id: int | None, start: date, end: date
) -> HomeworkRecord:
    """Homework due in the period: set, on time, late, missing, pending, and the mean mark."""
    scored = col(HomeworkSubmission.marks).is_not(None) & col(Homework.max_marks).is_not(None)
    homework_rows = session.exec(
        select(
            HomeworkSubmission.status,
            HomeworkSubmission.on_time,
            func.count(),
            func.sum(case((scored, HomeworkSubmission.marks * 100.0 / Homework.max_marks))),
            func.count(case((scored, 1))),
        )
        .join(Homework, Homework.id == HomeworkSubmission.homework_id)
        .where(
            HomeworkSubmission.institute_id == institute_id,
            HomeworkSubmission.student_id == student_id,
            Homework.due_on >= start,
            Homework.due_on <= end,
        )
        .group_by(HomeworkSubmission.status, HomeworkSubmission.on_time)
    ).all()
    tally = {"set": 0, "on_time": 0, "late": 0, "missing": 0, "pending": 0}
    total_percent, marked = 0.0, 0
    for status, on_time, n, percent_sum, n_marked in homework_rows:
        tally["set"] += n
        if status in HANDED_IN:
            tally["on_time" if on_time else "late"] += n
        elif status == SubmissionStatus.MISSING.value:
            tally["missing"] += n
        else:
            tally["pending"] += n
        total_percent += float(percent_sum or 0)
        marked += int(n_marked or 0)
    homework = HomeworkRecord(
        **tally, mean_percent=round(total_percent / marked, 2) if marked else None
    )
    return homework


def _assessments_between(
    session: Session, institute_id: int, student_id: int | None, start: date, end: date
) -> list[AssessmentLine]:
    """Tests and exams sat in the period, in order."""
    sat_on = func.coalesce(AssessmentResult.scheduled_on, Assessment.held_on)
    assessments = [
        AssessmentLine(
            date=day,
            kind=kind,
            title=title,
            subject=subject,
            marks=result_marks,
            max_marks=max_marks,
            percentage=percentage,
            grade=grade,
            absent=bool(absent),
        )
        for day, kind, title, subject, result_marks, max_marks, percentage, grade, absent in (
            session.exec(
                select(
                    sat_on,
                    Assessment.kind,
                    Assessment.title,
                    Subject.name,
                    AssessmentResult.marks,
                    Assessment.max_marks,
                    AssessmentResult.percentage,
                    AssessmentResult.grade,
                    AssessmentResult.absent,
                )
                .join(Assessment, Assessment.id == AssessmentResult.assessment_id)
                .outerjoin(Subject, Subject.id == Assessment.subject_id)
                .where(
                    AssessmentResult.institute_id == institute_id,
                    AssessmentResult.student_id == student_id,
                    sat_on >= start,
                    sat_on <= end,
                )
                .order_by(sat_on, Assessment.id)
            ).all()
        )
    ]
    return assessments


def _topics_of(
    session: Session, institute_id: int, student_id: int | None, start: date, end: date
) -> list[TopicLine]:
    """Topic progress (all of it: the report shows where the student stands now)."""
    topics = [
        TopicLine(subject=subject, topic=topic, status=status, competency=float(competency))
        for subject, topic, status, competency in session.exec(
            select(Subject.name, Topic.name, TopicProgress.status, TopicProgress.competency)
            .join(Topic, Topic.id == TopicProgress.topic_id)
            .join(Subject, Subject.id == Topic.subject_id)
            .where(
                TopicProgress.institute_id == institute_id,
                TopicProgress.student_id == student_id,
            )
            .order_by(Subject.name, Topic.position)
        ).all()
    ]
    return topics


def _enrolments_by(
    session: Session, institute_id: int, student_id: int | None, start: date, end: date
) -> list[EnrolmentLine]:
    """Enrolments started by the end of the period, by subject."""
    enrolments = [
        carry(
            EnrolmentLine,
            e,
            subject=subject,
            completion_pct=float(e.completion_pct),
        )
        for e, subject in session.exec(
            select(Enrollment, Subject.name)
            .join(Subject, col(Subject.id) == Enrollment.subject_id)
            .where(
                Enrollment.institute_id == institute_id,
                Enrollment.student_id == student_id,
                Enrollment.started_on <= end,
            )
            .order_by(col(Subject.name))
        ).all()
    ]
    return enrolments


def report_card_pdf(
    session: Session,
    *,
    actor: Actor,
    start: date,
    end: date,
    student_id: int | None = None,
) -> bytes:
    """The report card as a PDF to download (who may see it: as for the report card)."""
    card = report_card(session, actor=actor, start=start, end=end, student_id=student_id)
    return reportcard_pdf.render(card)


def default_period(session: Session, *, actor: Actor) -> tuple[date, date]:
    """The report card's default period: the last 90 days up to today, institute time."""
    actor.require(*STAFF, Role.STUDENT)
    today = today_internal(session, actor.institute_scope())
    return today - timedelta(days=90), today
