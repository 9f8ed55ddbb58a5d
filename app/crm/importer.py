"""Inquiry import: leads from a CSV or Excel file (a fair, a website export, a campaign list).

The same two steps as the student import (`app.academics.importer`): `validate` checks every row
and returns a preview with per-row errors, writing nothing; `commit_import` validates again and,
only when no row has an error, inserts them all in the caller's transaction. Rows that look like
an inquiry already on record (same phone number, however it was written, or same email) are flagged in the
preview; the person confirming chooses to skip them (the default) or to import them anyway.
Two rows of the same file about the same person are an error to fix. Every look-up is one query
for the whole file.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from app.academics.models import Subject
from app.core import audit, clock, sheets
from app.core.errors import ValidationError
from app.core.phones import normalize_phone
from app.core.roles import Role
from app.core.tenancy import Actor
from app.core.validation import normalize_email
from app.crm import leadscore
from app.crm.models import FollowUp, FollowUpStatus, FollowUpType, Inquiry, Priority, Source, Status
from app.identity import service as identity
from app.identity.models import Institute, User, UserStatus

TEMPLATE_COLUMNS = [
    "student_name",
    "phone",
    "email",
    "interested_subjects",
    "source",
    "priority",
    "tags",
    "next_follow_up_date",
    "counselor_email",
    "notes",
]
COLUMN_HELP = {
    "student_name": "Required. The prospective student's name.",
    "phone": "Phone or email is required. A number of the institute's country (a leading 0 is fine), or any number with + and its country code.",
    "email": "Phone or email is required.",
    "interested_subjects": "Optional. Subject names separated by ; such as Physics; Chemistry.",
    "source": "Optional (default website): " + ", ".join(s.value for s in Source) + ".",
    "priority": "Optional (default medium): low, medium or high.",
    "tags": "Optional. Words separated by commas, such as weekend, scholarship.",
    "next_follow_up_date": "Optional. YYYY-MM-DD, today or later: a call is planned that day.",
    "counselor_email": "Optional. The email of the counselor who takes the lead.",
    "notes": "Optional.",
}
MAX_ROWS = 5000
IMPORT_ROLES = (Role.ADMIN, Role.COUNSELOR)


class ImportPreview(sheets.ImportPreview):
    """The cleaned rows, every problem found, and rows that match an inquiry on record."""

    @property
    def duplicates(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["duplicate_of"]]


TEMPLATE = sheets.Template(
    title="Inquiries",
    columns=tuple(TEMPLATE_COLUMNS),
    help=COLUMN_HELP,
    required=("student_name",),
    text_columns=("phone",),  # a phone keeps its leading 0 in Excel
    missing_hint="every inquiry needs one, with a phone or an email",
)


template_csv = TEMPLATE.csv
template_xlsx = TEMPLATE.xlsx
read_rows = TEMPLATE.read  # the file's data rows keyed by template column


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").replace(";", ",").split(",") if p.strip()]


def _clean(
    number: int, raw: dict[str, Any], errors: list[sheets.RowError], today: date, region: str
) -> dict:
    def fail(column: str, message: str) -> None:
        errors.append(sheets.RowError(number, column, message))

    row: dict[str, Any] = {"row_number": number, "duplicate_of": None}
    name = " ".join((sheets.cell_text(raw.get("student_name")) or "").split())
    if not name:
        fail("student_name", "The name is required.")
    elif len(name) > 200:
        fail("student_name", "Too long: at most 200 characters.")
    row["student_name"] = name[:200]
    try:
        row["phone"] = normalize_phone(sheets.cell_text(raw.get("phone")), region)
    except ValidationError as exc:
        fail("phone", exc.message)
        row["phone"] = None
    try:
        row["email"] = normalize_email(sheets.cell_text(raw.get("email")))
    except ValidationError as exc:
        fail("email", exc.message)
        row["email"] = None
    if not row["phone"] and not row["email"] and not any(e.row_number == number for e in errors):
        fail("phone", "Give a phone number or an email, so someone can follow up.")
    source = (
        (sheets.cell_text(raw.get("source")) or "website")
        .lower()
        .replace(" ", "_")
        .replace("-", "_")
    )
    if source not in {s.value for s in Source}:
        fail("source", f"Unknown source {raw.get('source')}; use one of {', '.join(Source)}.")
        source = Source.WEBSITE.value
    row["source"] = source
    priority = (sheets.cell_text(raw.get("priority")) or "medium").lower()
    if priority not in {p.value for p in Priority}:
        fail("priority", f"Unknown priority {raw.get('priority')}; use low, medium or high.")
        priority = Priority.MEDIUM.value
    row["priority"] = priority
    tags = list(dict.fromkeys(t.lower() for t in _split(sheets.cell_text(raw.get("tags")))))
    if any(len(t) > 40 for t in tags):
        fail("tags", "A tag is at most 40 characters.")
    row["tags"] = tags[:20]
    row["subject_names"] = _split(sheets.cell_text(raw.get("interested_subjects")))
    row["counselor_email"] = (sheets.cell_text(raw.get("counselor_email")) or "").lower() or None
    row["notes"] = (sheets.cell_text(raw.get("notes")) or "")[:2000] or None
    raw_date = raw.get("next_follow_up_date")
    row["next_follow_up_date"] = None
    if isinstance(raw_date, datetime):
        raw_date = raw_date.date()
    if isinstance(raw_date, date):
        row["next_follow_up_date"] = raw_date
    elif sheets.cell_text(raw_date):
        try:
            row["next_follow_up_date"] = datetime.strptime(
                sheets.cell_text(raw_date), "%Y-%m-%d"
            ).date()
        except ValueError:
            fail(
                "next_follow_up_date",
                f"'{sheets.cell_text(raw_date)}' is not a date; write it as YYYY-MM-DD.",
            )
    if row["next_follow_up_date"] is not None and row["next_follow_up_date"] < today:
        fail("next_follow_up_date", f"{row['next_follow_up_date']} is in the past.")
        row["next_follow_up_date"] = None
    return row


def validate(session: Session, *, actor: Actor, rows: list[dict[str, Any]]) -> ImportPreview:
    """Check every row of an inquiry file, list each problem by row number and flag rows that
    match an inquiry on record; writes nothing."""
    actor.require(*IMPORT_ROLES)
    institute_id = actor.institute_scope()
    numbered = sheets.numbered_rows(TEMPLATE, rows, most=MAX_ROWS, noun="inquiries")
    preview = ImportPreview()
    if not numbered:
        preview.errors.append(
            sheets.RowError(1, "", "The file has no inquiries below the header row.")
        )
        return preview
    timezone = session.exec(select(Institute.timezone).where(Institute.id == institute_id)).one()
    today = clock.today_in(timezone)
    errors = preview.errors
    region = identity.phone_region_internal(session, institute_id)
    cleaned = [_clean(number, raw, errors, today, region) for number, raw in numbered]

    # The same person twice in the file.
    first_row: dict[tuple[str, str], int] = {}
    for row in cleaned:
        for kind, value in (("phone", row["phone"]), ("email", row["email"])):
            if not value:
                continue
            seen = first_row.setdefault((kind, value), row["row_number"])
            if seen != row["row_number"]:
                errors.append(
                    sheets.RowError(
                        row["row_number"], kind, f"Same {kind} as row {seen} of this file."
                    )
                )

    # Subjects by name, counselors by email: one query each.
    names = {n.lower() for row in cleaned for n in row["subject_names"]}
    subjects = {
        name.lower(): sid
        for sid, name in session.exec(
            select(Subject.id, Subject.name).where(
                Subject.institute_id == institute_id, func.lower(Subject.name).in_(sorted(names))
            )
        ).all()
    }
    emails = {row["counselor_email"] for row in cleaned if row["counselor_email"]}
    counselors = {
        email.lower(): uid
        for uid, email in session.exec(
            select(User.id, User.email).where(
                User.institute_id == institute_id,
                col(User.role).in_([Role.COUNSELOR.value, Role.ADMIN.value]),
                User.status != UserStatus.DISABLED.value,
                func.lower(User.email).in_(sorted(emails)),
            )
        ).all()
    }
    for row in cleaned:
        missing = [n for n in row["subject_names"] if n.lower() not in subjects]
        if missing:
            errors.append(
                sheets.RowError(
                    row["row_number"],
                    "interested_subjects",
                    f"No subject called {', '.join(missing)}; use names from the Syllabus page.",
                )
            )
        row["interested_subjects"] = sorted(
            {subjects[n.lower()] for n in row["subject_names"] if n.lower() in subjects}
        )
        row["counselor_user_id"] = None
        if row["counselor_email"]:
            row["counselor_user_id"] = counselors.get(row["counselor_email"])
            if row["counselor_user_id"] is None:
                errors.append(
                    sheets.RowError(
                        row["row_number"],
                        "counselor_email",
                        f"{row['counselor_email']} is not an active counselor of this institute.",
                    )
                )
        elif actor.role == Role.COUNSELOR:
            row["counselor_user_id"] = actor.user_id

    # Already on record: flagged, not refused.
    keys = {row["phone"] for row in cleaned if row["phone"]}
    mails = {row["email"] for row in cleaned if row["email"]}
    by_key: dict[str, list[int]] = defaultdict(list)
    by_mail: dict[str, list[int]] = defaultdict(list)
    if keys or mails:
        for iid, key, mail in session.exec(
            select(Inquiry.id, Inquiry.phone, Inquiry.email).where(
                Inquiry.institute_id == institute_id,
                col(Inquiry.phone).in_(sorted(keys)) | col(Inquiry.email).in_(sorted(mails)),
            )
        ).all():
            if key:
                by_key[key].append(iid)
            if mail:
                by_mail[mail].append(iid)
    for row in cleaned:
        hits = by_key.get(row["phone"] or "", []) + by_mail.get(row["email"] or "", [])
        row["duplicate_of"] = min(hits) if hits else None
    errors.sort(key=lambda e: (e.row_number, e.column))
    preview.rows = cleaned
    return preview


def commit_import(
    session: Session, *, actor: Actor, rows: list[dict[str, Any]], skip_duplicates: bool = True
) -> int:
    """Add every inquiry of a clean file (skipping, by default, those already on record); all
    or nothing. Returns how many were added."""
    actor.require(*IMPORT_ROLES)
    institute_id = actor.institute_scope()
    preview = validate(session, actor=actor, rows=rows)
    if not preview.ok:
        raise sheets.problems_error(len(preview.errors))
    chosen = [r for r in preview.rows if not (skip_duplicates and r["duplicate_of"])]
    if not chosen:
        return 0
    now = clock.now()
    created = session.execute(
        insert(Inquiry).returning(Inquiry.id, sort_by_parameter_order=True),
        [
            {
                "institute_id": institute_id,
                "counselor_user_id": r["counselor_user_id"],
                "student_name": r["student_name"],
                "phone": r["phone"],
                "email": r["email"],
                "interested_subjects": r["interested_subjects"],
                "source": r["source"],
                "status": Status.FOLLOW_UP_SCHEDULED.value
                if r["next_follow_up_date"]
                else Status.NEW.value,
                "priority": r["priority"],
                "next_follow_up_date": r["next_follow_up_date"],
                "notes": r["notes"],
                "tags": r["tags"],
                "lead_score": 0,
                "score_reasons": [],
                "scheduled_at": now if r["next_follow_up_date"] else None,
                "contacted_at": now if r["next_follow_up_date"] else None,
                "created_by": actor.user_id,
                "created_at": now,
                "updated_at": now,
            }
            for r in chosen
        ],
    ).all()
    ids = [row[0] for row in created]
    planned = [
        {
            "institute_id": institute_id,
            "inquiry_id": iid,
            "counselor_user_id": r["counselor_user_id"],
            "follow_up_date": r["next_follow_up_date"],
            "follow_up_type": FollowUpType.CALL.value,
            "status": FollowUpStatus.PENDING.value,
            "created_at": now,
            "updated_at": now,
        }
        for iid, r in zip(ids, chosen, strict=True)
        if r["next_follow_up_date"]
    ]
    if planned:
        session.execute(insert(FollowUp), planned)
    leadscore.recompute_institute_internal(session, institute_id=institute_id, inquiry_ids=ids)
    audit.record(
        session,
        actor=actor,
        action="crm.import",
        target_type="inquiry",
        detail={
            "count": len(ids),
            "skipped_duplicates": len(preview.rows) - len(chosen),
            "follow_ups": len(planned),
        },
    )
    return len(ids)
