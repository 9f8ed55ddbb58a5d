"""Institutes (super admin): creating them, subscriptions, limits and their first admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case
from sqlmodel import Session, col, func, select

from app.core import audit, clock, phones
from app.core.config import get_settings
from app.core.errors import Conflict, NotFound, ValidationError
from app.core.roles import Role
from app.core.rows import carry
from app.core.tenancy import Actor
from app.identity.models import Institute, User, UserStatus


@dataclass(frozen=True)
class InstituteSummary:
    id: int
    name: str
    timezone: str
    currency: str
    subscription_end: date | None
    max_teachers: int | None
    expired: bool
    admins: int
    teachers: int
    counselors: int
    students: int
    active_users: int


def _clean_institute_fields(
    *, name: str | None, timezone: str | None, currency: str | None, max_teachers: int | None
) -> dict:
    out: dict = {}
    if name is not None:
        if not name.strip():
            raise ValidationError("The institute needs a name.", field="name")
        out["name"] = name.strip()
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(
                f"'{timezone}' is not a known timezone (for example Asia/Kolkata).",
                field="timezone",
            ) from exc
        out["timezone"] = timezone
    if currency is not None:
        code = currency.strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise ValidationError(
                "Currency is a 3-letter code such as INR, KES or USD.", field="currency"
            )
        out["currency"] = code
    if max_teachers is not None and max_teachers < 0:
        raise ValidationError("The teacher limit cannot be negative.", field="max_teachers")
    return out


def create_institute(
    session: Session,
    *,
    actor: Actor,
    name: str,
    timezone: str | None = None,
    currency: str | None = None,
    subscription_end: date | None = None,
    max_teachers: int | None = None,
) -> Institute:
    """Create a new institute (super_admin only)."""
    actor.require(Role.SUPER_ADMIN)
    from app.core.config import get_settings

    settings = get_settings()
    fields = _clean_institute_fields(
        name=name,
        timezone=timezone or settings.DEFAULT_TIMEZONE,
        currency=currency or settings.DEFAULT_CURRENCY,
        max_teachers=max_teachers,
    )
    clash = session.exec(
        select(Institute.id).where(func.lower(Institute.name) == fields["name"].lower())
    ).first()
    if clash is not None:
        raise Conflict(f"An institute called '{fields['name']}' already exists.", field="name")
    institute = Institute(**fields, subscription_end=subscription_end, max_teachers=max_teachers)
    audit.save_audited(
        session,
        institute,
        "institute.create",
        actor=actor,
        institute_id=institute.id,
        detail={"name": institute.name, "subscription_end": str(subscription_end)},
    )
    return institute


def update_institute(
    session: Session,
    *,
    actor: Actor,
    institute_id: int,
    name: str | None = None,
    timezone: str | None = None,
    currency: str | None = None,
    subscription_end: date | None = None,
    clear_subscription_end: bool = False,
    max_teachers: int | None = None,
    clear_max_teachers: bool = False,
) -> Institute:
    """Change an institute's name, timezone, currency, subscription end or teacher cap (super_admin)."""
    actor.require(Role.SUPER_ADMIN)
    institute = session.get(Institute, institute_id)
    if institute is None:
        raise NotFound("That institute does not exist.")
    fields = _clean_institute_fields(
        name=name, timezone=timezone, currency=currency, max_teachers=max_teachers
    )
    if "name" in fields and fields["name"].lower() != institute.name.lower():
        clash = session.exec(
            select(Institute.id).where(func.lower(Institute.name) == fields["name"].lower())
        ).first()
        if clash is not None:
            raise Conflict(f"An institute called '{fields['name']}' already exists.", field="name")
    before = {
        "name": institute.name,
        "timezone": institute.timezone,
        "currency": institute.currency,
        "subscription_end": str(institute.subscription_end),
        "max_teachers": institute.max_teachers,
    }
    for key, value in fields.items():
        setattr(institute, key, value)
    if subscription_end is not None or clear_subscription_end:
        institute.subscription_end = None if clear_subscription_end else subscription_end
    if max_teachers is not None or clear_max_teachers:
        institute.max_teachers = None if clear_max_teachers else max_teachers
    session.add(institute)
    session.flush()
    after = {
        "name": institute.name,
        "timezone": institute.timezone,
        "currency": institute.currency,
        "subscription_end": str(institute.subscription_end),
        "max_teachers": institute.max_teachers,
    }
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    audit.on(session, actor, "institute.update", institute.id, changes, institute_id=institute.id)
    return institute


def list_institutes(session: Session, *, actor: Actor) -> list[InstituteSummary]:
    """Every institute with its user counts (super_admin), in one grouped query."""
    actor.require(Role.SUPER_ADMIN)

    def n(role: Role):
        return func.sum(case((User.role == role.value, 1), else_=0))

    counts = (
        select(
            User.institute_id,
            n(Role.ADMIN).label("admins"),
            n(Role.TEACHER).label("teachers"),
            n(Role.COUNSELOR).label("counselors"),
            n(Role.STUDENT).label("students"),
            func.sum(case((User.status == UserStatus.ACTIVE.value, 1), else_=0)).label("active"),
        )
        .where(col(User.institute_id).is_not(None))
        .group_by(User.institute_id)
        .subquery()
    )
    rows = session.exec(
        select(Institute, counts)
        .outerjoin(counts, counts.c.institute_id == Institute.id)
        .order_by(Institute.name)
    ).all()
    out = []
    for row in rows:
        inst: Institute = row[0]
        today = clock.today_in(inst.timezone)
        out.append(
            carry(
                InstituteSummary,
                inst,
                expired=inst.subscription_expired(today),
                admins=int(row.admins or 0),
                teachers=int(row.teachers or 0),
                counselors=int(row.counselors or 0),
                students=int(row.students or 0),
                active_users=int(row.active or 0),
            )
        )
    return out


def get_institute(session: Session, *, actor: Actor, institute_id: int | None = None) -> Institute:
    """The actor's institute (or, for super_admin, the one asked for)."""
    scope = actor.institute_scope(institute_id)
    institute = session.get(Institute, scope)
    if institute is None:
        raise NotFound("That institute does not exist.")
    return institute


def phone_region_internal(session: Session, institute_id: int | None) -> str:
    """The region a phone typed without a country code is read in at this institute (from its
    currency, like its money locale); the deployment's default currency's when there is none."""
    if institute_id is None:
        return phones.region_for(get_settings().DEFAULT_CURRENCY)
    currency = session.exec(select(Institute.currency).where(Institute.id == institute_id)).first()
    return phones.region_for(currency)


def phone_regions_internal(session: Session, *, first: str) -> list[str]:
    """Every region some institute reads phone numbers in, `first` first (for sign-in, which
    does not know the institute yet)."""
    currencies = session.exec(select(Institute.currency).distinct()).all()
    others = sorted({phones.region_for(c) for c in currencies} - {first})
    return [first, *others]


def enter_public_institute_internal(
    session: Session, *, institute_id: int | None, message: str
) -> Institute:
    """For a public form (no sign-in): the institute a visitor chose, if it takes visitors (it
    exists and its subscription has not ended), with the transaction narrowed to it from here
    on (row-level security); otherwise a ValidationError with `message` on the institute."""
    from app.core.db import set_tenant

    if institute_id is None:
        raise ValidationError(message, field="institute")
    set_tenant(session, institute_id=institute_id, super_access=False)
    institute = session.get(Institute, institute_id)
    if institute is None or institute.subscription_expired(clock.today_in(institute.timezone)):
        raise ValidationError(message, field="institute")
    return institute
