"""Users of an institute: inviting, roles, status, Telegram chats, and the look-ups sign-in needs (system context)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, or_
from sqlmodel import Session, col, func, select

from app.core import audit, clock, db, phones
from app.core.config import get_settings
from app.core.errors import AccessRevoked, Conflict, NotFound, PermissionDenied, ValidationError
from app.core.ownership import owned, reach
from app.core.roles import Role, manageable_roles
from app.core.rows import carry
from app.core.tenancy import Actor
from app.core.validation import normalize_email, telegram_chat_id
from app.identity.common import NOT_AUTHORIZED, SUBSCRIPTION_EXPIRED
from app.identity.institutes import phone_region_internal, phone_regions_internal
from app.identity.models import AuthSession, Institute, User, UserStatus


def check_manageable(actor: Actor, role: str) -> None:
    if Role(role) not in manageable_roles(actor.role):
        allowed = ", ".join(sorted(r.value for r in manageable_roles(actor.role))) or "nobody"
        raise PermissionDenied(
            f"A {actor.role.label.lower()} cannot manage {Role(role).label.lower()} accounts "
            f"(you may manage: {allowed})."
        )


def _user_in_scope(session: Session, actor: Actor, user_id: int) -> User:
    # Never confirms that another institute's user exists.
    return owned(session, User, user_id, reach(actor), "user")


def _check_teacher_cap(session: Session, institute: Institute, *, adding: int = 1) -> None:
    if institute.max_teachers is None:
        return
    seats = db.count(
        session,
        User,
        User.institute_id == institute.id,
        User.role == Role.TEACHER.value,
        col(User.status).in_([UserStatus.INVITED.value, UserStatus.ACTIVE.value]),
    )
    if seats + adding > institute.max_teachers:
        raise Conflict(
            f"{institute.name} may have at most {institute.max_teachers} teachers and already has "
            f"{seats} (invited or active). Deactivate a teacher or ask for a higher limit.",
            field="role",
        )


def _check_unique_contact(
    session: Session,
    institute_id: int | None,
    *,
    email: str | None,
    phone: str | None,
    exclude: int | None = None,
) -> None:
    if email:
        q = select(User.id).where(User.institute_id == institute_id, User.email == email)
        if exclude:
            q = q.where(User.id != exclude)
        if session.exec(q).first() is not None:
            raise Conflict(f"{email} is already on this institute's allowlist.", field="email")
    if phone:
        q = select(User.id).where(User.institute_id == institute_id, User.phone == phone)
        if exclude:
            q = q.where(User.id != exclude)
        if session.exec(q).first() is not None:
            raise Conflict(
                f"The phone number {phone} is already on this institute's allowlist.", field="phone"
            )


def invite_user(
    session: Session,
    *,
    actor: Actor,
    name: str,
    role: str,
    email: str | None = None,
    phone: str | None = None,
    institute_id: int | None = None,
) -> User:
    """Put a person on the allowlist with a role; they can sign in and become active."""
    try:
        role = Role(role)
    except ValueError as exc:
        raise ValidationError(f"'{role}' is not a role.", field="role") from exc
    check_manageable(actor, role)
    scope = actor.institute_scope(institute_id)
    institute = session.get(Institute, scope)
    if institute is None:
        raise NotFound("That institute does not exist.")
    if not name or not name.strip():
        raise ValidationError("Name is required.", field="name")
    email_n = normalize_email(email)
    phone_n = phones.normalize_phone(phone, phone_region_internal(session, scope))
    if not email_n and not phone_n:
        raise ValidationError(
            "Give an email address or a phone number so the person can sign in.", field="email"
        )
    _check_unique_contact(session, scope, email=email_n, phone=phone_n)
    if role == Role.TEACHER:
        _check_teacher_cap(session, institute)
    user = User(
        institute_id=scope,
        name=name.strip(),
        email=email_n,
        phone=phone_n,
        role=role.value,
        status=UserStatus.INVITED.value,
        invited_by=actor.user_id,
    )
    audit.save_audited(
        session,
        user,
        "user.invite",
        actor=actor,
        institute_id=scope,
        detail={"role": role.value, "email": email_n, "phone": phone_n, "name": user.name},
    )
    return user


def set_user_status(session: Session, *, actor: Actor, user_id: int, status: str) -> User:
    """Activate or deactivate a user the actor manages."""
    try:
        status = UserStatus(status)
    except ValueError as exc:
        raise ValidationError(f"'{status}' is not a user status.") from exc
    user = _user_in_scope(session, actor, user_id)
    if user.id == actor.user_id:
        raise PermissionDenied("You cannot change your own status.")
    check_manageable(actor, user.role)
    if user.status == status.value:
        return user
    if status == UserStatus.INVITED:
        raise ValidationError("A user can be activated or deactivated, not re-invited.")
    if (
        status == UserStatus.ACTIVE
        and user.role == Role.TEACHER
        and user.status == UserStatus.DISABLED
    ):
        _check_teacher_cap(session, session.get(Institute, user.institute_id))
    previous = user.status
    user.status = status.value
    _save_user_change(
        session,
        actor,
        user,
        "user.activate" if status == UserStatus.ACTIVE else "user.deactivate",
        {"from": previous, "to": status.value},
    )
    if status == UserStatus.DISABLED:
        end_user_sessions(session, user_id=user.id, reason="disabled")
    return user


def change_role(session: Session, *, actor: Actor, user_id: int, role: str) -> User:
    """Give a user another role the actor manages (teacher cap applies)."""
    try:
        role = Role(role)
    except ValueError as exc:
        raise ValidationError(f"'{role}' is not a role.", field="role") from exc
    user = _user_in_scope(session, actor, user_id)
    if user.id == actor.user_id:
        raise PermissionDenied("You cannot change your own role.")
    check_manageable(actor, user.role)
    check_manageable(actor, role)
    if user.role == role.value:
        return user
    if role == Role.TEACHER and user.status != UserStatus.DISABLED:
        _check_teacher_cap(session, session.get(Institute, user.institute_id))
    previous = user.role
    user.role = role.value
    _save_user_change(
        session, actor, user, "user.change_role", {"from": previous, "to": role.value}
    )
    return user


def list_users(
    session: Session,
    *,
    actor: Actor,
    role: str | None = None,
    status: str | None = None,
    search: str | None = None,
    institute_id: int | None = None,
    limit: int = 500,
) -> list[User]:
    """Users the actor may manage in their institute, filtered, newest first."""
    visible = manageable_roles(actor.role)
    if not visible:
        raise PermissionDenied()
    scope = actor.institute_scope(institute_id)
    query = select(User).where(
        User.institute_id == scope, col(User.role).in_([r.value for r in visible])
    )
    if role:
        query = query.where(User.role == role)
    if status:
        query = query.where(User.status == status)
    if search and search.strip():
        like = f"%{search.strip().lower()}%"
        terms = [func.lower(User.name).like(like), func.lower(User.email).like(like)]
        if digits := phones.search_digits(search):
            terms.append(col(User.phone).like(f"%{digits}%"))
        query = query.where(or_(*terms))
    return list(session.exec(query.order_by(col(User.id).desc()).limit(limit)))


def user_counts(
    session: Session, *, actor: Actor, institute_id: int | None = None
) -> dict[tuple[str, str], int]:
    """Users of the actor's institute counted by (role, status) in one grouped query."""
    actor.require(Role.ADMIN, Role.SUPER_ADMIN)
    scope = actor.institute_scope(institute_id)
    rows = session.exec(
        select(User.role, User.status, func.count())
        .where(User.institute_id == scope)
        .group_by(User.role, User.status)
    ).all()
    return {(role, status): int(n) for role, status, n in rows}


def update_my_account(session: Session, *, actor: Actor, name: str, phone: str | None) -> User:
    """Let anyone correct their own name and phone."""
    user = session.get(User, actor.user_id) if actor.user_id else None
    if user is None:
        raise NotFound("Your account no longer exists.")
    if not name or not name.strip():
        raise ValidationError("Name is required.", field="name")
    phone_n = phones.normalize_phone(phone, phone_region_internal(session, user.institute_id))
    if phone_n and phone_n != user.phone:
        _check_unique_contact(
            session, user.institute_id, email=None, phone=phone_n, exclude=user.id
        )
    if not phone_n and not user.email:
        raise ValidationError(
            "Keep a phone number: your account has no email to sign in with.", field="phone"
        )
    changes = {}
    if name.strip() != user.name:
        changes["name"] = [user.name, name.strip()]
    if phone_n != user.phone:
        changes["phone"] = [user.phone, phone_n]
    if not changes:
        return user
    user.name = name.strip()
    user.phone = phone_n
    _save_user_change(session, actor, user, "user.update_self", changes)
    return user


def _save_user_change(
    session: Session, actor: Actor, user: User, action: str, detail: dict[str, Any]
) -> None:
    """Stamp and save a change to a user, and audit it as `action` with `detail`."""
    user.updated_at = clock.now()
    audit.save_audited(
        session,
        user,
        actor=actor,
        action=action,
        target_type="user",
        institute_id=user.institute_id,
        detail=detail,
    )


def end_user_sessions(session: Session, *, user_id: int, reason: str) -> int:
    """End every open session of a user (disabling, password change); returns how many."""
    open_sessions = session.exec(
        select(AuthSession).where(
            AuthSession.user_id == user_id, col(AuthSession.ended_at).is_(None)
        )
    ).all()
    for row in open_sessions:
        row.ended_at = clock.now()
        row.end_reason = reason
        session.add(row)
    session.flush()
    return len(open_sessions)


def set_telegram_chat(session: Session, *, actor: Actor, user_id: int, chat_id: str | None) -> User:
    """Link (or unlink) the Telegram chat that receives a user's sign-in codes."""
    user = _user_in_scope(session, actor, user_id)
    if user.id != actor.user_id:
        check_manageable(actor, user.role)
    chat = telegram_chat_id(chat_id)
    if chat == user.telegram_chat_id:
        return user
    user.telegram_chat_id = chat
    _save_user_change(session, actor, user, "user.telegram_chat", {"linked": chat is not None})
    return user


@dataclass(frozen=True)
class SessionUser:
    """What the app knows about the signed-in person, re-read from the database on every run."""

    id: int
    name: str
    email: str | None
    phone: str | None
    role: Role
    status: str
    institute_id: int | None
    institute_name: str | None
    institute_timezone: str
    institute_currency: str
    consent_version: str | None = None
    bootstrap_warning: bool = False

    def actor(self, source: str = "web") -> Actor:
        return Actor(
            user_id=self.id,
            role=self.role,
            institute_id=self.institute_id,
            name=self.name,
            source=source,
        )


def load_session_user(session: Session, *, user_id: int) -> SessionUser:
    """Re-read a signed-in user; refuse a disabled user or an expired institute (system context)."""
    row = session.exec(
        select(User, Institute)
        .outerjoin(Institute, Institute.id == User.institute_id)
        .where(User.id == user_id)
    ).first()
    if row is None:
        raise AccessRevoked(NOT_AUTHORIZED)
    return session_user_of(*row)


def session_user_of(user: User, institute: Institute | None) -> SessionUser:
    """The signed-in user from its row and institute row; AccessRevoked when access has ended."""
    if user.status == UserStatus.DISABLED.value:
        raise AccessRevoked(NOT_AUTHORIZED)
    if institute is not None and institute.subscription_expired(clock.today_in(institute.timezone)):
        raise AccessRevoked(SUBSCRIPTION_EXPIRED)
    return carry(
        SessionUser,
        user,
        role=Role(user.role),
        institute_name=institute.name if institute else None,
        institute_timezone=institute.timezone if institute else "UTC",
        institute_currency=institute.currency if institute else "INR",
        bootstrap_warning=bool(institute.bootstrap_warning) if institute else False,
    )


def users_for_email(session: Session, *, email: str) -> list[User]:
    """Allowlisted, not disabled users with this email across institutes (system context)."""
    normalized = (email or "").strip().lower()
    if not normalized:
        return []
    return list(
        session.exec(
            select(User)
            .where(User.email == normalized, User.status != UserStatus.DISABLED.value)
            .order_by(User.id)
        )
    )


def phone_sign_in_numbers(session: Session, *, phone: str) -> dict[str, str]:
    """What a phone typed at sign-in may mean: region → E.164, the deployment's region first.

    Sign-in does not know the institute, so a number typed without its country code is read in
    every region an institute here uses; `users_for_phone` keeps only the users whose own
    institute reads it as their number. Blank gives {}; a number valid nowhere raises
    ValidationError with an example of the deployment's region."""
    first = phones.region_for(get_settings().DEFAULT_CURRENCY)
    numbers = phones.phone_candidates(phone, phone_regions_internal(session, first=first))
    if phone and phone.strip() and not numbers:
        phones.normalize_phone(phone, first)  # raises the message people can act on
    return numbers


def users_for_phone(session: Session, *, numbers: dict[str, str]) -> list[User]:
    """Allowlisted, not disabled users whose stored phone is what `numbers` (from
    `phone_sign_in_numbers`) means in their own institute's region (system context)."""
    if not numbers:
        return []
    default = phones.region_for(get_settings().DEFAULT_CURRENCY)
    rows = session.exec(
        select(User, Institute.currency)
        .outerjoin(Institute, col(Institute.id) == User.institute_id)
        .where(
            col(User.phone).in_(sorted(set(numbers.values()))),
            User.status != UserStatus.DISABLED.value,
        )
        .order_by(col(User.id))
    ).all()
    return [
        user
        for user, currency in rows
        if numbers.get(phones.region_for(currency) if currency else default) == user.phone
    ]


def mark_signed_in(session: Session, *, user: User, method: str, source: str) -> User:
    """Record a successful sign-in: an invited user becomes active."""
    actor = Actor(
        user_id=user.id,
        role=Role(user.role),
        institute_id=user.institute_id,
        name=user.name,
        source=source,
    )
    if user.status == UserStatus.INVITED.value:
        user.status = UserStatus.ACTIVE.value
        audit.on(
            session,
            actor,
            "user.activate",
            user.id,
            {"from": "invited", "to": "active", "via": "first sign-in"},
        )
    user.last_sign_in_at = clock.now()
    audit.save_audited(
        session, user, "auth.sign_in", actor=actor, target_type="user", detail={"method": method}
    )
    return user


def record_denied_sign_in(
    session: Session, *, identity: str, method: str, reason: str, source: str
) -> None:
    """Audit a refused sign-in (the identity is what was typed or asserted; no secrets)."""
    audit.on(
        session,
        None,
        "auth.sign_in_refused",
        identity[:80],
        {"method": method, "reason": reason},
        target_type="identity",
        source=source,
    )


def dev_sign_in_candidates(
    session: Session, *, students_per_institute: int = 5
) -> list[tuple[int, str]]:
    """Users a developer may impersonate with dev sign-in: (id, label).

    Every staff member of every institute, and the first few students of each, in role order;
    the super admins first.
    """
    rank = (
        func.row_number()
        .over(partition_by=(User.institute_id, User.role), order_by=User.id)
        .label("rank")
    )
    ranked = select(User.id, rank).where(User.status != UserStatus.DISABLED.value).subquery()
    role_order = case({r.value: i for i, r in enumerate(Role)}, value=User.role)
    rows = session.exec(
        select(User, Institute)
        .join(ranked, ranked.c.id == User.id)
        .outerjoin(Institute, Institute.id == User.institute_id)
        .where(or_(User.role != Role.STUDENT.value, ranked.c.rank <= students_per_institute))
        .order_by(
            case((col(User.institute_id).is_(None), 0), else_=1),
            Institute.name,
            role_order,
            User.name,
        )
    ).all()
    out = []
    for user, institute in rows:
        place = institute.name if institute else "all institutes"
        out.append((user.id, f"{user.name} · {Role(user.role).label} · {place}"))
    return out


def count_users(session: Session) -> int:
    """How many users exist at all (system context; used to decide first-run seeding)."""
    return int(session.exec(select(func.count()).select_from(User)).one())
