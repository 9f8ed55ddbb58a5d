"""Mark absent: preview the class and students, then save the marks."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from app.attendance import service as attendance
from app.attendance.models import Mark, SessionStatus
from app.core.errors import Conflict, NotFound, ValidationError
from app.core.roles import Role
from app.core.tenancy import Actor
from app.core.text import plural
from app.opsdesk import parser as rules
from app.opsdesk.common import AskUser, Context, Reply
from app.opsdesk.models import DeskStatus, Kind
from app.opsdesk.resolve import batch_names_of, resolve_student


def preview(ctx: Context, args: dict[str, Any]) -> Reply:
    intent = rules.MARK_ABSENT
    cards = attendance.sessions_for_day(ctx.session, actor=ctx.actor, day=ctx.today)
    student = resolve_student(ctx, args, intent)
    args = {**args, "student_id": student.id}
    if args.get("session_id"):
        cards = [c for c in cards if c.id == args["session_id"]]
    else:
        mine = {n.lower() for n in batch_names_of(ctx, student.id)}
        cards = [c for c in cards if c.batch.lower() in mine]
        if args.get("batch"):
            wanted = args["batch"].lower()
            cards = [c for c in cards if wanted in c.batch.lower()]
    if not cards:
        where = f" in {args['batch']}" if args.get("batch") else ""
        raise NotFound(
            f"{student.name} has no class{where} today ({ctx.today:%d %b %Y}) that you can take "
            "attendance for."
        )
    tz = ZoneInfo(ctx.institute.timezone)
    if len(cards) > 1:
        raise AskUser(
            f"{student.name} has {len(cards)} classes today. Which one?",
            intent,
            args,
            ["session"],
            options=[
                {
                    "field": "session_id",
                    "id": c.id,
                    "label": f"{c.batch} {c.starts_at.astimezone(tz):%H:%M}",
                    "keys": [c.batch],
                }
                for c in cards
            ],
            rows=[
                {"#": n, "Batch": c.batch, "Starts": f"{c.starts_at.astimezone(tz):%H:%M}"}
                for n, c in enumerate(cards, start=1)
            ],
        )
    card = cards[0]
    sheet = attendance.attendance_sheet(ctx.session, actor=ctx.actor, session_id=card.id)
    when = f"{sheet.batch} ({sheet.starts_at.astimezone(tz):%H:%M})"
    if not sheet.accepts_marks and sheet.status != SessionStatus.SUBMITTED:
        raise ValidationError(
            f"Attendance for {when} can no longer be taken (it is {sheet.status})."
        )
    if sheet.status == SessionStatus.SUBMITTED and ctx.actor.role != Role.ADMIN:
        raise Conflict(
            f"Attendance for {when} was already submitted"
            f"{' by ' + sheet.submitted_by if sheet.submitted_by else ''}; only an admin can change it now."
        )
    if student.id not in {s.id for s in sheet.students}:
        raise NotFound(f"{student.name} is not on the sheet for {when}.")
    now_mark = sheet.marks.get(student.id)
    if now_mark == Mark.ABSENT.value:
        return Reply(
            Kind.ANSWER, f"{student.name} is already marked absent for {when}.", intent=intent
        )
    others = len(sheet.students) - 1
    if sheet.taken:
        text = (
            f"I will change **{student.name}**'s mark for {when} from {now_mark or 'present'} to "
            "**absent** on the submitted sheet; the other marks stay as they are."
        )
    else:
        text = (
            f"Attendance for {when} has not been taken yet. I will submit today's sheet with "
            f"**{student.name} absent** and the other {plural(others, 'student')} present — just as the "
            "Attendance page would (guardians get the usual absence message if your rules send one)."
        )
    return Reply(
        Kind.PREVIEW,
        text,
        intent=intent,
        rows=[
            {
                "Student": student.name,
                "Enrollment": student.enrollment_no,
                "Class": when,
                "Now": now_mark or "not taken",
                "After": "absent",
            }
        ],
        payload={
            "intent": intent,
            "session_id": sheet.session_id,
            "student_id": student.id,
            "expected_version": sheet.version,
            "label": when,
            "student": student.name,
        },
        status=DeskStatus.PENDING,
    )


def execute(session: Session, actor: Actor, payload: dict[str, Any]) -> Reply:
    sheet = attendance.attendance_sheet(session, actor=actor, session_id=payload["session_id"])
    if sheet.version != payload["expected_version"]:
        raise Conflict(
            f"The attendance sheet for {payload['label']} changed since the preview. "
            "Ask again to see it as it is now."
        )
    on_sheet = {s.id for s in sheet.students}
    marks = {sid: mark for sid, mark in sheet.marks.items() if sid in on_sheet}
    marks[payload["student_id"]] = Mark.ABSENT.value
    attendance.submit_attendance(
        session,
        actor=actor,
        session_id=sheet.session_id,
        marks=marks,
        expected_version=payload["expected_version"],
        topics=sheet.covered or None,
        understanding={k: v for k, v in sheet.understanding.items() if k in on_sheet} or None,
        notes=sheet.notes,
    )
    return Reply(
        Kind.RESULT,
        f"Done: {payload['student']} is marked absent for {payload['label']}.",
        intent=rules.MARK_ABSENT,
    )
