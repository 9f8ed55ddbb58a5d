"""The daily teacher brief: one summary per teacher of their own batches, built for every
teacher of an institute in a handful of grouped queries; sent each morning through the outbox
and shown on the teacher's Today page.

Sections: today's classes, yesterday's absentees, open pending actions, fee dues this month
(open invoices due by the month's end, overdue ones included) of their students, homework due
in the next two days with how many have not handed it in, and students at HIGH risk.
"""

from __future__ import annotations

from calendar import monthrange
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple, cast
from zoneinfo import ZoneInfo

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from app.academics.models import Batch, BatchMembership, Student, StudentStatus, Subject
from app.attendance import service as attendance
from app.attendance.models import ABSENT_MARKS, NOT_HELD, AttendanceRecord, ClassSession
from app.core import clock
from app.core.config import get_settings
from app.core.money import format_money
from app.core.roles import Role
from app.core.tenancy import Actor
from app.coursework.models import Homework, HomeworkSubmission, SubmissionStatus
from app.fees.models import OPEN_INVOICE_VALUES, Invoice
from app.identity.models import Institute, User, UserStatus
from app.inbox.models import ActionStatus, PendingAction
from app.notify import service as notify
from app.notify.models import Notification
from app.risk.models import StudentRiskProfile

HOMEWORK_DAYS = 2  # homework due today and in the next two days
LIST_LIMIT = 10  # lines per section in the message; the rest are counted
OPEN_INVOICE = tuple(OPEN_INVOICE_VALUES)
ACTION_LABELS = {
    "student_risk": "student risk",
    "missed_session": "missed session",
    "absence_streak": "absence streak",
    "fee_overdue": "fee overdue",
    "badge_request": "badge request",
    "follow_up_due": "follow-up due",
    "negative_feedback": "negative feedback",
    "extra_class_request": "extra class request",
}


@dataclass(frozen=True)
class BriefClass:
    batch: str
    subject: str
    starts_at: datetime  # UTC
    ends_at: datetime


@dataclass(frozen=True)
class BriefAbsence:
    student: str
    enrollment_no: str
    batch: str


@dataclass(frozen=True)
class BriefDue:
    student: str
    enrollment_no: str
    owed_minor: int
    due_on: date  # the earliest open due date
    overdue: bool


@dataclass(frozen=True)
class BriefHomework:
    batch: str
    title: str
    due_on: date
    not_handed_in: int


@dataclass(frozen=True)
class BriefRisk:
    student: str
    enrollment_no: str
    reason: str | None


@dataclass
class TeacherBrief:
    teacher_user_id: int
    teacher: str
    day: date
    timezone: str
    currency: str
    classes: list[BriefClass] = field(default_factory=list)
    absentees: list[BriefAbsence] = field(default_factory=list)
    actions: dict[str, int] = field(default_factory=dict)  # open pending actions by type
    fee_dues: list[BriefDue] = field(default_factory=list)
    homework: list[BriefHomework] = field(default_factory=list)
    high_risk: list[BriefRisk] = field(default_factory=list)

    @property
    def open_actions(self) -> int:
        return sum(self.actions.values())

    @property
    def fee_due_minor(self) -> int:
        return sum(d.owed_minor for d in self.fee_dues)

    @property
    def subject(self) -> str:
        return f"Your brief for {self.day:%a %d %b}"

    def text(self) -> str:
        """The brief as a plain message (Telegram and in-app)."""
        tz = ZoneInfo(self.timezone)
        lines = [f"Good morning, {self.teacher}. {self.subject}."]

        def section(title: str, items: list[str], empty: str) -> None:
            lines.append("")
            lines.append(f"{title}: {empty}" if not items else f"{title} ({len(items)}):")
            lines.extend(f"- {item}" for item in items[:LIST_LIMIT])
            if len(items) > LIST_LIMIT:
                lines.append(f"- and {len(items) - LIST_LIMIT} more")

        section(
            "Today's classes",
            [
                f"{c.starts_at.astimezone(tz):%H:%M}–{c.ends_at.astimezone(tz):%H:%M} "
                f"{c.batch} ({c.subject})"
                for c in self.classes
            ],
            "none",
        )
        section(
            "Absent yesterday",
            [f"{a.student} ({a.enrollment_no}), {a.batch}" for a in self.absentees],
            "nobody",
        )
        lines.append("")
        lines.append(
            "Open actions: "
            + (
                f"{self.open_actions} ("
                + ", ".join(
                    f"{n} {ACTION_LABELS.get(t, t)}" for t, n in sorted(self.actions.items())
                )
                + ")"
                if self.actions
                else "none"
            )
        )
        section(
            "Fee dues this month",
            [
                f"{d.student} ({d.enrollment_no}): {format_money(d.owed_minor, self.currency)}"
                f" {'overdue since' if d.overdue else 'due'} {d.due_on:%d %b}"
                for d in self.fee_dues
            ],
            "none",
        )
        section(
            "Homework due soon",
            [
                f"{h.title}, {h.batch}: due {h.due_on:%a %d %b}, {h.not_handed_in} not handed in"
                for h in self.homework
            ],
            "none",
        )
        section(
            "High-risk students",
            [
                f"{r.student} ({r.enrollment_no})" + (f": {r.reason}" if r.reason else "")
                for r in self.high_risk
            ],
            "none",
        )
        return "\n".join(lines)


Briefs = dict[int, "TeacherBrief"]
Batches = dict[int, tuple[int, str, str]]  # batch id -> (teacher id, batch name, subject name)


class BriefScope(NamedTuple):
    """What every step of building the briefs works on."""

    session: Session
    institute_id: int
    day: date
    briefs: Briefs
    batches: Batches
    owner: dict[int, int]  # batch id -> its teacher


def build_briefs_internal(
    session: Session, *, institute_id: int, day: date, teacher_ids: set[int] | None = None
) -> dict[int, TeacherBrief]:
    """The brief of every active teacher of an institute who has an active batch (or of the
    given teachers only), for a local day. A fixed handful of grouped queries, whatever the
    number of teachers and students."""
    institute = session.get(Institute, institute_id)
    teachers_q = select(User.id, User.name).where(
        User.institute_id == institute_id,
        User.role == Role.TEACHER.value,
        User.status == UserStatus.ACTIVE.value,
    )
    if teacher_ids is not None:
        if not teacher_ids:
            return {}
        teachers_q = teachers_q.where(col(User.id).in_(teacher_ids))
    teachers = dict(session.exec(teachers_q).all())
    if not teachers:
        return {}
    # (Ids read from the database are never None; the models type them optional.)
    batches = cast(
        Batches,
        {
            b_id: (teacher_id, name, subject)
            for b_id, teacher_id, name, subject in session.exec(
                select(Batch.id, Batch.teacher_user_id, Batch.name, Subject.name)
                .join(Subject, Subject.id == Batch.subject_id)
                .where(
                    Batch.institute_id == institute_id,
                    col(Batch.active).is_(True),
                    col(Batch.teacher_user_id).in_(list(teachers)),
                )
            ).all()
        },
    )
    briefs: Briefs = {
        t: TeacherBrief(
            teacher_user_id=t,
            teacher=teachers[t],
            day=day,
            timezone=institute.timezone,
            currency=institute.currency,
        )
        for t in sorted({teacher for teacher, _n, _s in batches.values()})
    }
    if not briefs:
        return {}
    owner: dict[int, int] = {b: teacher for b, (teacher, _n, _s) in batches.items()}
    scope = BriefScope(session, institute_id, day, briefs, batches, owner)
    _add_classes(scope, institute.timezone)
    _add_absentees(scope)
    _add_actions(scope)
    members = _members(scope)
    _add_fee_dues(scope, members)
    _add_homework(scope)
    _add_high_risk(scope, members)
    for brief in briefs.values():
        brief.fee_dues.sort(key=lambda d: (d.due_on, d.student))
        brief.high_risk.sort(key=lambda r: r.student)
        brief.classes.sort(key=lambda c: (c.starts_at, c.batch))
    return briefs


def _add_classes(scope: BriefScope, timezone: str) -> None:
    """1. Today's classes (created sessions plus any the weekly schedule still plans)."""
    session, institute_id, day, briefs, batches, owner = scope
    batch_ids = set(batches)
    for slot in attendance.classes_between_internal(
        session,
        institute_id=institute_id,
        batch_ids=batch_ids,
        start=day,
        end=day,
        tz=timezone,
    ):
        if slot.status in NOT_HELD:  # cancelled or moved: not on today's schedule
            continue
        _t, name, subject = batches[slot.batch_id]
        briefs[owner[slot.batch_id]].classes.append(
            BriefClass(batch=name, subject=subject, starts_at=slot.starts_at, ends_at=slot.ends_at)
        )


def _add_absentees(scope: BriefScope) -> None:
    """2. Yesterday's absentees: the day's sessions first (a handful, by the date index), then
    their records by session (the unique index) — never the institute's whole attendance."""
    session, institute_id, day, briefs, batches, owner = scope
    batch_ids = set(batches)
    yesterday = {
        sid: (batch_id, starts_at)
        for sid, batch_id, starts_at in session.exec(
            select(ClassSession.id, ClassSession.batch_id, ClassSession.starts_at).where(
                ClassSession.institute_id == institute_id,
                ClassSession.date == day - timedelta(days=1),
                col(ClassSession.batch_id).in_(batch_ids),
            )
        ).all()
    }
    absent = (
        session.exec(
            select(AttendanceRecord.session_id, Student.name, Student.enrollment_no)
            .join(Student, Student.id == AttendanceRecord.student_id)
            .where(
                AttendanceRecord.institute_id == institute_id,
                col(AttendanceRecord.session_id).in_(list(yesterday)),
                col(AttendanceRecord.status).in_(ABSENT_MARKS),
            )
        ).all()
        if yesterday
        else []
    )
    for session_id, name, enrollment_no in sorted(
        absent,
        key=lambda r: (yesterday[r[0]][1], r[1]),  # by class time, then name
    ):
        batch_id = yesterday[session_id][0]
        briefs[owner[batch_id]].absentees.append(
            BriefAbsence(student=name, enrollment_no=enrollment_no, batch=batches[batch_id][1])
        )


def _add_actions(scope: BriefScope) -> None:
    """3. Open pending actions: of their batches, or owned by them (as the inbox shows them)."""
    session, institute_id, day, briefs, batches, owner = scope
    batch_ids = set(batches)
    for batch_id, owner_id, kind, n in session.exec(
        select(
            PendingAction.batch_id, PendingAction.owner_user_id, PendingAction.type, func.count()
        )
        .where(
            PendingAction.institute_id == institute_id,
            PendingAction.status == ActionStatus.OPEN.value,
            col(PendingAction.batch_id).in_(batch_ids)
            | col(PendingAction.owner_user_id).in_(list(briefs)),
        )
        .group_by(PendingAction.batch_id, PendingAction.owner_user_id, PendingAction.type)
    ).all():
        for teacher in {owner.get(batch_id), owner_id} & set(briefs):
            briefs[teacher].actions[kind] = briefs[teacher].actions.get(kind, 0) + int(n)


def _members(scope: BriefScope) -> dict[int, set[int]]:
    """Current members of the teachers' batches (active students): whose dues and risk to
    show, each with the teachers it concerns."""
    session, institute_id, day, briefs, batches, owner = scope
    batch_ids = set(batches)
    members: dict[int, set[int]] = defaultdict(set)  # student id -> teachers
    in_batches = (
        select(BatchMembership.batch_id, BatchMembership.student_id)
        .join(Student, Student.id == BatchMembership.student_id)
        .where(
            BatchMembership.institute_id == institute_id,
            col(BatchMembership.batch_id).in_(batch_ids),
            col(BatchMembership.left_on).is_(None),
            Student.status == StudentStatus.ACTIVE.value,
        )
    )
    for batch_id, student_id in session.exec(in_batches).all():
        members[student_id].add(owner[batch_id])
    return members


def _add_fee_dues(scope: BriefScope, members: dict[int, set[int]]) -> None:
    """4. Fee dues this month (open invoices due by the end of the month, overdue included)."""
    session, institute_id, day, briefs, batches, owner = scope
    student_ids = list(members)
    month_end = day.replace(day=monthrange(day.year, day.month)[1])
    for start in range(0, len(student_ids), 900):
        chunk = student_ids[start : start + 900]
        for student_id, name, enrollment_no, owed, first_due in session.exec(
            select(
                Invoice.student_id,
                Student.name,
                Student.enrollment_no,
                func.sum(Invoice.total_minor - Invoice.paid_minor),
                func.min(Invoice.due_on),
            )
            .join(Student, Student.id == Invoice.student_id)
            .where(
                Invoice.institute_id == institute_id,
                col(Invoice.status).in_(OPEN_INVOICE),
                Invoice.due_on <= month_end,
                col(Invoice.student_id).in_(chunk),
            )
            .group_by(Invoice.student_id, Student.name, Student.enrollment_no)
        ).all():
            if not owed:
                continue
            due = BriefDue(
                student=name,
                enrollment_no=enrollment_no,
                owed_minor=int(owed),
                due_on=first_due,
                overdue=first_due < day,
            )
            for teacher in members[student_id]:
                briefs[teacher].fee_dues.append(due)


def _add_homework(scope: BriefScope) -> None:
    """5. Homework due today and in the next two days, with how many have not handed it in."""
    session, institute_id, day, briefs, batches, owner = scope
    batch_ids = set(batches)
    not_in = func.count(case((HomeworkSubmission.status == SubmissionStatus.ASSIGNED.value, 1)))
    for batch_id, title, due_on, pending in session.exec(
        select(Homework.batch_id, Homework.title, Homework.due_on, not_in)
        .outerjoin(
            HomeworkSubmission,
            (HomeworkSubmission.homework_id == Homework.id)
            & (HomeworkSubmission.institute_id == institute_id),
        )
        .where(
            Homework.institute_id == institute_id,
            col(Homework.batch_id).in_(batch_ids),
            Homework.due_on >= day,
            Homework.due_on <= day + timedelta(days=HOMEWORK_DAYS),
        )
        .group_by(Homework.id, Homework.batch_id, Homework.title, Homework.due_on)
        .order_by(Homework.due_on, Homework.title)
    ).all():
        briefs[owner[batch_id]].homework.append(
            BriefHomework(
                batch=batches[batch_id][1], title=title, due_on=due_on, not_handed_in=int(pending)
            )
        )


def _add_high_risk(scope: BriefScope, members: dict[int, set[int]]) -> None:
    """6. Students at HIGH risk."""
    session, institute_id, day, briefs, batches, owner = scope
    student_ids = list(members)
    for start in range(0, len(student_ids), 900):
        chunk = student_ids[start : start + 900]
        for student_id, name, enrollment_no, reasons in session.exec(
            select(
                StudentRiskProfile.student_id,
                Student.name,
                Student.enrollment_no,
                StudentRiskProfile.reasons,
            )
            .join(Student, Student.id == StudentRiskProfile.student_id)
            .where(
                StudentRiskProfile.institute_id == institute_id,
                StudentRiskProfile.level == "HIGH",
                col(StudentRiskProfile.student_id).in_(chunk),
            )
        ).all():
            risk = BriefRisk(
                student=name, enrollment_no=enrollment_no, reason=(reasons or [None])[0]
            )
            for teacher in members[student_id]:
                briefs[teacher].high_risk.append(risk)


def my_brief(session: Session, *, actor: Actor) -> TeacherBrief:
    """The signed-in teacher's brief for today (institute time), as the morning message has it."""
    actor.require(Role.TEACHER)
    institute_id = actor.institute_scope()
    institute = session.get(Institute, institute_id)
    day = clock.today_in(institute.timezone)
    built = build_briefs_internal(
        session, institute_id=institute_id, day=day, teacher_ids={actor.user_id}
    )
    return built.get(actor.user_id) or TeacherBrief(
        teacher_user_id=actor.user_id,
        teacher=actor.name,
        day=day,
        timezone=institute.timezone,
        currency=institute.currency,
    )


def brief_time() -> time:
    """DAILY_TEACHER_BRIEF_TIME as a time of day (institute time)."""
    hours, minutes = get_settings().DAILY_TEACHER_BRIEF_TIME.split(":")
    return time(int(hours), int(minutes))


def dedupe_key(teacher_user_id: int, day: date, channel: str) -> str:
    return f"teacher_brief:{day.isoformat()}:{teacher_user_id}:{channel}"


def send_briefs_internal(
    session: Session, *, institute_id: int, now: datetime | None = None
) -> dict:
    """Queue today's brief for each teacher of an institute once its local time has passed the
    brief time: in the app, and by Telegram when the teacher linked a chat. Each teacher gets it
    once per local day (dedupe key per teacher and date), however often this runs."""
    now = now or clock.now()
    institute = session.get(Institute, institute_id)
    local = now.astimezone(ZoneInfo(institute.timezone))
    day = local.date()
    if local.time() < brief_time() or institute.subscription_expired(day):
        return {"due": 0, "teachers": 0, "messages": 0}
    pending = set(
        session.exec(
            select(User.id).where(
                User.institute_id == institute_id,
                User.role == Role.TEACHER.value,
                User.status == UserStatus.ACTIVE.value,
            )
        ).all()
    )
    keys = {dedupe_key(t, day, "in_app"): t for t in pending}
    for key in session.exec(
        select(Notification.dedupe_key).where(
            Notification.institute_id == institute_id,
            col(Notification.dedupe_key).in_(list(keys)),
        )
    ).all():
        pending.discard(keys[key])
    if not pending:
        return {"due": 1, "teachers": 0, "messages": 0}
    briefs = build_briefs_internal(session, institute_id=institute_id, day=day, teacher_ids=pending)
    chats = dict(
        session.exec(
            select(User.id, User.telegram_chat_id).where(
                col(User.id).in_(list(briefs)), col(User.telegram_chat_id).is_not(None)
            )
        ).all()
    )
    messages = []
    for teacher_id, brief in briefs.items():
        text = brief.text()
        messages.append(
            {
                "channel": "in_app",
                "recipient": str(teacher_id),
                "recipient_user_id": teacher_id,
                "subject": brief.subject,
                "text": text,
                "dedupe_key": dedupe_key(teacher_id, day, "in_app"),
            }
        )
        if chats.get(teacher_id):
            messages.append(
                {
                    "channel": "telegram",
                    "recipient": chats[teacher_id],
                    "recipient_user_id": teacher_id,
                    "text": text,
                    "dedupe_key": dedupe_key(teacher_id, day, "telegram"),
                }
            )
    queued = notify.enqueue_many_internal(session, institute_id=institute_id, messages=messages)
    return {"due": 1, "teachers": len(briefs), "messages": queued}
