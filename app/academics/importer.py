"""Student import: students, guardians and batch membership from a CSV or Excel file.

Two steps, so nothing is written until the whole file is clean and a person has confirmed:
`validate` checks every row and returns a preview with a per-row error list (it writes nothing);
`commit_import` validates again and, only when there is no error, inserts every row in the
caller's transaction. Row numbers are the spreadsheet's: the header is row 1, the first student
is row 2. All look-ups against the database are set-based (one query for every enrollment
number, one for every batch), never one per row.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.academics.enrolments import enrol_new_students_internal
from app.academics.models import Batch, BatchMembership, Guardian, Student, StudentStatus
from app.core import audit, clock, events, sheets
from app.core.errors import Conflict, ValidationError
from app.core.phones import normalize_phone
from app.core.roles import Role
from app.core.tenancy import Actor
from app.core.validation import normalize_email
from app.identity import service as identity
from app.identity.models import Institute

TEMPLATE_COLUMNS: list[str] = [
    "enrollment_no",
    "name",
    "phone",
    "email",
    "date_of_birth",
    "status",
    "learning_style",
    "guardian_name",
    "guardian_phone",
    "guardian_relationship",
    "guardian_telegram_chat_id",
    "batch",
]
REQUIRED_COLUMNS = ("enrollment_no", "name")
GUARDIAN_COLUMNS = (
    "guardian_name",
    "guardian_phone",
    "guardian_relationship",
    "guardian_telegram_chat_id",
)
COLUMN_HELP: dict[str, str] = {
    "enrollment_no": "Required. Unique in the institute, such as ADM-2026-001.",
    "name": "Required. The student's full name.",
    "phone": "Optional. A number of the institute's country (a leading 0 is fine), or any number with + and its country code.",
    "email": "Optional.",
    "date_of_birth": "Optional. YYYY-MM-DD, such as 2010-04-23.",
    "status": "Optional (default active): " + ", ".join(s.value for s in StudentStatus) + ".",
    "learning_style": "Optional, such as visual, auditory, reading or kinesthetic.",
    "guardian_name": "Needed when any guardian column is filled.",
    "guardian_phone": "Optional. Like phone.",
    "guardian_relationship": "Optional (default guardian), such as mother or father.",
    "guardian_telegram_chat_id": "Optional. A number, such as 123456789.",
    "batch": "Optional. The name of an open batch the student joins.",
}
MAX_ROWS = 5000
IMPORT_ROLES = (Role.ADMIN, Role.COUNSELOR)
# Longest values the tables hold (see app.academics.models).
_MAX_LENGTH = {
    "enrollment_no": 40,
    "name": 200,
    "email": 254,
    "learning_style": 40,
    "guardian_name": 200,
    "guardian_relationship": 40,
    "guardian_telegram_chat_id": 64,
}
_TEXT_COLUMNS = ("enrollment_no", "phone", "guardian_phone", "guardian_telegram_chat_id")


RowError = sheets.RowError
ImportPreview = sheets.ImportPreview


# ------------------------------------------------------------------ templates and reading files


TEMPLATE = sheets.Template(
    title="Students",
    columns=tuple(TEMPLATE_COLUMNS),
    help=COLUMN_HELP,
    required=REQUIRED_COLUMNS,
    text_columns=_TEXT_COLUMNS,
    missing_hint="every student needs one",
)


template_csv = TEMPLATE.csv
template_xlsx = TEMPLATE.xlsx
read_rows = TEMPLATE.read  # the file's data rows keyed by template column


# ------------------------------------------------------------------ validation


def validate(session: Session, *, actor: Actor, rows: list[dict[str, Any]]) -> ImportPreview:
    """Check every row of an import file and list each problem by row number; writes nothing."""
    actor.require(*IMPORT_ROLES)
    institute_id = actor.institute_scope()
    numbered = sheets.numbered_rows(TEMPLATE, rows, most=MAX_ROWS, noun="students")
    preview = ImportPreview()
    if not numbered:
        preview.errors.append(RowError(1, "", "The file has no students below the header row."))
        return preview
    errors = preview.errors
    today = clock.today_in(_timezone(session, institute_id))
    region = identity.phone_region_internal(session, institute_id)
    cleaned = [_clean_row(number, raw, errors, today, region) for number, raw in numbered]

    # Enrollment numbers repeated inside the file: every row that repeats one is reported.
    rows_by_number: dict[str, list[int]] = defaultdict(list)
    for row in cleaned:
        if row["enrollment_no"]:
            rows_by_number[row["enrollment_no"]].append(row["row_number"])
    for row in cleaned:
        same = rows_by_number.get(row["enrollment_no"] or "", [])
        if len(same) > 1:
            errors.append(
                RowError(
                    row["row_number"],
                    "enrollment_no",
                    f"Enrollment number {row['enrollment_no']} appears more than once in this "
                    f"file (rows {_row_list(same)}).",
                )
            )

    # Enrollment numbers already in the institute: one query for all of them.
    if rows_by_number:
        taken = set(
            session.exec(
                select(Student.enrollment_no).where(
                    Student.institute_id == institute_id,
                    col(Student.enrollment_no).in_(list(rows_by_number)),
                )
            )
        )
        for row in cleaned:
            if row["enrollment_no"] in taken:
                errors.append(
                    RowError(
                        row["row_number"],
                        "enrollment_no",
                        f"Enrollment number {row['enrollment_no']} is already used by a "
                        "student of this institute.",
                    )
                )

    _check_batches(session, institute_id, cleaned, errors)
    errors.sort(key=lambda e: (e.row_number, _column_order(e.column)))
    preview.rows = cleaned
    return preview


def _check_batches(
    session: Session, institute_id: int, cleaned: list[dict[str, Any]], errors: list[RowError]
) -> None:
    """Resolve batch names (case-insensitive) and check capacity, in one query for all batches."""
    wanted = {row["batch"].lower() for row in cleaned if row["batch"]}
    if not wanted:
        return
    members = (
        select(BatchMembership.batch_id, func.count().label("n"))
        .where(
            BatchMembership.institute_id == institute_id,
            col(BatchMembership.left_on).is_(None),
        )
        .group_by(BatchMembership.batch_id)
        .subquery()
    )
    found = session.exec(
        select(Batch.id, Batch.name, Batch.active, Batch.capacity, members.c.n)
        .outerjoin(members, members.c.batch_id == Batch.id)
        .where(Batch.institute_id == institute_id, func.lower(Batch.name).in_(sorted(wanted)))
    ).all()
    batches = {
        name.lower(): (bid, name, active, cap, int(n or 0)) for bid, name, active, cap, n in found
    }
    placed: Counter[int] = Counter()
    wanted_total = Counter(
        batches[row["batch"].lower()][0]
        for row in cleaned
        if row["batch"] and row["batch"].lower() in batches
    )
    for row in cleaned:
        if not row["batch"]:
            continue
        match = batches.get(row["batch"].lower())
        if match is None:
            errors.append(
                RowError(
                    row["row_number"],
                    "batch",
                    f"There is no batch called {row['batch']}. Use a batch name from the "
                    "Batches page, or leave the cell empty.",
                )
            )
            continue
        batch_id, name, active, capacity, current = match
        if not active:
            errors.append(
                RowError(
                    row["row_number"],
                    "batch",
                    f"{name} is closed; reopen it or choose another batch.",
                )
            )
            continue
        row["batch"], row["batch_id"] = name, batch_id
        placed[batch_id] += 1
        if capacity is not None and current + placed[batch_id] > capacity:
            free = max(capacity - current, 0)
            errors.append(
                RowError(
                    row["row_number"],
                    "batch",
                    f"{name} would be over capacity: it has room for {free} more "
                    f"student{'' if free == 1 else 's'} and this file adds {wanted_total[batch_id]}. "
                    "Choose another batch or raise its capacity.",
                )
            )


def _clean_row(
    number: int, raw: dict[str, Any], errors: list[RowError], today: date, region: str
) -> dict:
    """One row's values, trimmed and parsed; problems are appended to `errors`."""

    def fail(column: str, message: str) -> None:
        errors.append(RowError(number, column, message))

    row: dict[str, Any] = {"row_number": number}
    for name in TEMPLATE_COLUMNS:
        row[name] = sheets.cell_text(raw.get(name)) if name != "date_of_birth" else raw.get(name)
    for name, limit in _MAX_LENGTH.items():
        if row[name] is not None and len(row[name]) > limit:
            fail(name, f"Too long: at most {limit} characters.")
            row[name] = row[name][:limit]
    if not row["enrollment_no"]:
        fail("enrollment_no", "Enrollment number is required.")
    if not row["name"]:
        fail("name", "Name is required.")
    for name in ("phone", "guardian_phone"):
        try:
            row[name] = normalize_phone(row[name], region, field=name)
        except ValidationError as exc:
            fail(name, exc.message)
            row[name] = None
    try:
        row["email"] = normalize_email(row["email"])
    except ValidationError as exc:
        fail("email", exc.message)
        row["email"] = None
    row["date_of_birth"] = _parse_birth_date(row["date_of_birth"], today, fail)
    status = (row["status"] or StudentStatus.ACTIVE.value).lower().replace(" ", "_")
    if status not in {s.value for s in StudentStatus}:
        fail(
            "status",
            f"Unknown status {row['status']}; use one of "
            + ", ".join(s.value for s in StudentStatus)
            + ".",
        )
        status = StudentStatus.ACTIVE.value
    row["status"] = status
    chat = row["guardian_telegram_chat_id"]
    if chat is not None and not chat.lstrip("-").isdigit():
        fail("guardian_telegram_chat_id", "A Telegram chat id is a number, such as 123456789.")
    if any(row[name] for name in GUARDIAN_COLUMNS) and not row["guardian_name"]:
        fail(
            "guardian_name", "The guardian's name is needed when other guardian columns are filled."
        )
    row["guardian_relationship"] = (row["guardian_relationship"] or "guardian").lower()
    row["batch_id"] = None
    return row


def _parse_birth_date(value: Any, today: date, fail) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value.date()
    elif isinstance(value, date):
        parsed = value
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            parsed = datetime.strptime(text, "%Y-%m-%d").date()
        except ValueError:
            fail(
                "date_of_birth",
                f"'{text}' is not a date; write it as YYYY-MM-DD, such as 2010-04-23.",
            )
            return None
    if parsed > today:
        fail("date_of_birth", f"{parsed.isoformat()} is in the future.")
        return None
    if parsed.year < 1900:
        fail("date_of_birth", f"{parsed.isoformat()} is too long ago; check the year.")
        return None
    return parsed


def _row_list(numbers: list[int], shown: int = 10) -> str:
    text = ", ".join(map(str, numbers[:shown]))
    return text + (f" and {len(numbers) - shown} more" if len(numbers) > shown else "")


def _column_order(column: str) -> int:
    return TEMPLATE_COLUMNS.index(column) if column in TEMPLATE_COLUMNS else -1


def _timezone(session: Session, institute_id: int) -> str:
    return session.exec(select(Institute.timezone).where(Institute.id == institute_id)).one()


# ------------------------------------------------------------------ commit


def commit_import(session: Session, *, actor: Actor, rows: list[dict[str, Any]]) -> int:
    """Add every student of a clean import file, with guardians and batches; all or nothing.

    Validates again first and refuses the whole file when any row has a problem. Returns the
    number of students added.
    """
    actor.require(*IMPORT_ROLES)
    institute_id = actor.institute_scope()
    _lock_batches(session, institute_id, rows)
    preview = validate(session, actor=actor, rows=rows)
    if not preview.ok:
        raise sheets.problems_error(len(preview.errors))
    now = clock.now()
    today = clock.today_in(_timezone(session, institute_id))
    try:
        with session.begin_nested():
            created = session.execute(
                insert(Student).returning(Student.id, Student.enrollment_no),
                [
                    {
                        "institute_id": institute_id,
                        "user_id": None,
                        "enrollment_no": row["enrollment_no"],
                        "name": row["name"],
                        "phone": row["phone"],
                        "email": row["email"],
                        "date_of_birth": row["date_of_birth"],
                        "status": row["status"],
                        "learning_style": row["learning_style"],
                        "counselor_user_id": None,
                        "created_at": now,
                    }
                    for row in preview.rows
                ],
            ).all()
            ids = {enrollment_no: student_id for student_id, enrollment_no in created}
            guardians = [
                {
                    "institute_id": institute_id,
                    "student_id": ids[row["enrollment_no"]],
                    "name": row["guardian_name"],
                    "phone": row["guardian_phone"],
                    "telegram_chat_id": row["guardian_telegram_chat_id"],
                    "relationship": row["guardian_relationship"],
                }
                for row in preview.rows
                if row["guardian_name"]
            ]
            if guardians:
                session.execute(insert(Guardian), guardians)
            memberships = [
                {
                    "institute_id": institute_id,
                    "batch_id": row["batch_id"],
                    "student_id": ids[row["enrollment_no"]],
                    "joined_on": today,
                    "left_on": None,
                }
                for row in preview.rows
                if row["batch_id"] is not None
            ]
            if memberships:
                session.execute(insert(BatchMembership), memberships)
                enrol_new_students_internal(
                    session,
                    institute_id=institute_id,
                    joins=[(m["student_id"], m["batch_id"]) for m in memberships],
                    on=today,
                )
                joined: dict[int, list[int]] = defaultdict(list)
                for m in memberships:
                    joined[m["batch_id"]].append(m["student_id"])
                for batch_id, student_ids in joined.items():
                    events.publish(
                        session,
                        events.StudentsJoinedBatch(
                            institute_id=institute_id,
                            batch_id=batch_id,
                            student_ids=tuple(student_ids),
                            on=today,
                        ),
                    )
    except IntegrityError as exc:
        raise Conflict(
            "Some of these enrollment numbers were added by someone else meanwhile; "
            "nothing was imported. Upload the file again to see which."
        ) from exc
    audit.record(
        session,
        actor=actor,
        action="student.import",
        target_type="student",
        detail={
            "count": len(ids),
            "guardians": len(guardians),
            "memberships": len(memberships),
        },
    )
    return len(ids)


def _lock_batches(session: Session, institute_id: int, rows: list[dict[str, Any]]) -> None:
    """Hold the named batches until the import commits, so two imports cannot overfill one.

    PostgreSQL: row locks (FOR UPDATE). SQLite has one writer at a time (the page opens the
    transaction with BEGIN IMMEDIATE), so there is nothing to add there.
    """
    names = sorted({text.lower() for row in rows if (text := sheets.cell_text(row.get("batch")))})
    if names and session.get_bind().dialect.name == "postgresql":
        session.exec(
            select(Batch.id)
            .where(Batch.institute_id == institute_id, func.lower(Batch.name).in_(names))
            .order_by(Batch.id)
            .with_for_update()
        ).all()
