"""The allowlist: invitations, roles, status changes, the teacher cap, isolation and the audit log."""

import pytest
from sqlmodel import func, select

from app.core import audit
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.core.roles import Role
from app.identity import service as identity
from app.identity.models import User, UserStatus
from tests import factories as f


@pytest.fixture
def two(db):
    a = f.institute(db, name="Alpha Academy", max_teachers=2)
    b = f.institute(db, name="Beta School")
    admin_a = f.user(db, a, Role.ADMIN, email="admin@alpha.example")
    admin_b = f.user(db, b, Role.ADMIN, email="admin@beta.example")
    teacher_b = f.user(db, b, Role.TEACHER, email="teacher@beta.example")
    return {
        "a": a,
        "b": b,
        "admin_a": f.actor_for(admin_a),
        "admin_b": f.actor_for(admin_b),
        "teacher_b": teacher_b,
    }


def users_in(db, institute_id) -> int:
    with db.scope(system=True) as s:
        return s.exec(
            select(func.count()).select_from(User).where(User.institute_id == institute_id)
        ).one()


def test_invite_lists_user_as_invited_and_audits(db, two):
    actor = two["admin_a"]
    with db.scope(actor) as s:
        invited = identity.invite_user(
            s, actor=actor, name="Tara Teacher", email="Tara@Alpha.example", role="teacher"
        )
    with db.scope(actor) as s:
        listed = identity.list_users(s, actor=actor, status="invited")
        entries = audit.list_entries(s, actor=actor, action_prefix="user.invite")
    assert [(u.name, u.email, u.status) for u in listed] == [
        ("Tara Teacher", "tara@alpha.example", "invited")
    ]
    assert entries[0].target_id == str(invited.id) and entries[0].actor_user_id == actor.user_id
    assert entries[0].detail["role"] == "teacher"


@pytest.mark.parametrize("role", ["super_admin", "admin"])
def test_admin_cannot_create_super_admin_or_admin(db, two, role):
    actor = two["admin_a"]
    with pytest.raises(PermissionDenied, match="cannot manage"), db.scope(actor) as s:
        identity.invite_user(s, actor=actor, name="Sneaky", email="sneaky@alpha.example", role=role)
    assert users_in(db, two["a"].id) == 1


def test_teacher_may_invite_students_only(db, two):
    teacher = f.actor_for(two["teacher_b"])
    with db.scope(teacher) as s:
        student = identity.invite_user(
            s, actor=teacher, name="Sam Student", phone="98765 43210", role="student"
        )
    assert student.phone == "+919876543210" and student.institute_id == two["b"].id
    with pytest.raises(PermissionDenied), db.scope(teacher) as s:
        identity.invite_user(
            s, actor=teacher, name="Other", email="t2@beta.example", role="teacher"
        )


def test_teacher_cap_refused_with_clear_message_and_nothing_written(db, two):
    actor = two["admin_a"]
    for n in range(2):
        with db.scope(actor) as s:
            identity.invite_user(
                s, actor=actor, name=f"T{n}", email=f"t{n}@alpha.example", role="teacher"
            )
    with pytest.raises(Conflict) as refused, db.scope(actor) as s:
        identity.invite_user(s, actor=actor, name="T3", email="t3@alpha.example", role="teacher")
    assert (
        "at most 2 teachers" in refused.value.message
        and "Deactivate a teacher" in refused.value.message
    )
    assert users_in(db, two["a"].id) == 3
    # Changing a counselor into a teacher counts against the cap too.
    with db.scope(actor) as s:
        counselor = identity.invite_user(
            s, actor=actor, name="C", email="c@alpha.example", role="counselor"
        )
    with pytest.raises(Conflict), db.scope(actor) as s:
        identity.change_role(s, actor=actor, user_id=counselor.id, role="teacher")
    # Deactivating a teacher frees a seat.
    with db.scope(actor) as s:
        t0 = identity.list_users(s, actor=actor, search="t0@")[0]
        identity.set_user_status(s, actor=actor, user_id=t0.id, status="disabled")
        identity.change_role(s, actor=actor, user_id=counselor.id, role="teacher")


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"email": "not-an-email"}, "email", "is not a valid email address"),
        ({"phone": "call me maybe"}, "phone", "is not a phone number"),
        ({"phone": "12345"}, "phone", "Enter a phone number like +91 98765 43210"),
        ({"email": "", "phone": ""}, "email", "Give an email address or a phone number"),
        ({"email": "x@alpha.example", "name": "  "}, "name", "Name is required"),
    ],
)
def test_bad_input_gives_message_and_writes_nothing(db, two, kwargs, field, fragment):
    actor = two["admin_a"]
    args = {"name": "Valid Name", "role": "student", **kwargs}
    with pytest.raises(ValidationError) as refused, db.scope(actor) as s:
        identity.invite_user(s, actor=actor, **args)
    assert fragment in refused.value.message and refused.value.field == field
    assert users_in(db, two["a"].id) == 1


def test_duplicate_email_or_phone_in_same_institute_refused(db, two):
    actor = two["admin_a"]
    with db.scope(actor) as s:
        identity.invite_user(
            s,
            actor=actor,
            name="One",
            email="one@alpha.example",
            phone="+91 98765 43210",
            role="student",
        )
    with (
        pytest.raises(Conflict, match="already on this institute's allowlist"),
        db.scope(actor) as s,
    ):
        identity.invite_user(s, actor=actor, name="Dup", email="ONE@alpha.example", role="student")
    with (
        pytest.raises(Conflict, match="already on this institute's allowlist"),
        db.scope(actor) as s,
    ):
        identity.invite_user(s, actor=actor, name="Dup", phone="9876543210", role="student")
    assert users_in(db, two["a"].id) == 2
    # The same email in another institute is a different allowlist entry.
    other = two["admin_b"]
    with db.scope(other) as s:
        identity.invite_user(s, actor=other, name="One", email="one@alpha.example", role="student")


def test_status_and_role_changes_are_audited(db, two):
    actor = two["admin_a"]
    with db.scope(actor) as s:
        u = identity.invite_user(
            s, actor=actor, name="Cal", email="cal@alpha.example", role="counselor"
        )
    with db.scope(actor) as s:
        identity.set_user_status(s, actor=actor, user_id=u.id, status="active")
        identity.change_role(s, actor=actor, user_id=u.id, role="student")
        identity.set_user_status(s, actor=actor, user_id=u.id, status="disabled")
    with db.scope(actor) as s:
        actions = [e.action for e in audit.list_entries(s, actor=actor) if e.target_id == str(u.id)]
        row = s.get(User, u.id)
    assert actions == ["user.deactivate", "user.change_role", "user.activate", "user.invite"]
    assert (row.role, row.status) == ("student", "disabled")


def test_admin_cannot_change_self_or_other_admins(db, two):
    actor = two["admin_a"]
    with pytest.raises(PermissionDenied), db.scope(actor) as s:
        identity.set_user_status(s, actor=actor, user_id=actor.user_id, status="disabled")
    other_admin = f.user(db, two["a"], Role.ADMIN, email="admin2@alpha.example")
    with pytest.raises(PermissionDenied), db.scope(actor) as s:
        identity.set_user_status(s, actor=actor, user_id=other_admin.id, status="disabled")


def test_isolation_reads_and_writes_stay_in_the_actors_institute(db, two):
    a, b = two["admin_a"], two["admin_b"]
    with db.scope(a) as s:
        identity.invite_user(
            s, actor=a, name="Alpha Kid", email="kid@alpha.example", role="student"
        )
    with db.scope(b) as s:
        identity.invite_user(s, actor=b, name="Beta Kid", email="kid@beta.example", role="student")
    with db.scope(a) as s:
        names = {u.name for u in identity.list_users(s, actor=a)}
        counts = identity.user_counts(s, actor=a)
        entries = audit.list_entries(s, actor=a)
    assert "Beta Kid" not in names and "Alpha Kid" in names
    assert sum(counts.values()) == 2  # admin_a + Alpha Kid
    assert all(e.institute_id == two["a"].id for e in entries)
    # Asking for another institute explicitly is refused; writes to its users find nothing.
    with pytest.raises(PermissionDenied), db.scope(a) as s:
        identity.list_users(s, actor=a, institute_id=two["b"].id)
    teacher_b = two["teacher_b"]
    for call, kwargs in [
        (identity.set_user_status, {"status": "disabled"}),
        (identity.change_role, {"role": "student"}),
    ]:
        with pytest.raises(NotFound), db.scope(a) as s:
            call(s, actor=a, user_id=teacher_b.id, **kwargs)
    with db.scope(system=True) as s:
        row = s.get(User, teacher_b.id)
    assert (row.status, row.role) == ("active", "teacher")
    with pytest.raises(PermissionDenied), db.scope(a) as s:
        identity.invite_user(
            s, actor=a, name="X", email="x@beta.example", role="student", institute_id=two["b"].id
        )


def test_super_admin_creates_institutes_extends_subscriptions_and_sees_counts(db):
    from datetime import date

    root = f.actor_for(f.user(db, None, Role.SUPER_ADMIN, email="root@example.com"))
    with db.scope(root) as s:
        inst = identity.create_institute(
            s,
            actor=root,
            name="Gamma Institute",
            timezone="Africa/Nairobi",
            currency="kes",
            subscription_end=date(2020, 1, 1),
            max_teachers=3,
        )
        identity.invite_user(
            s,
            actor=root,
            name="Gina Admin",
            email="gina@gamma.example",
            role="admin",
            institute_id=inst.id,
        )
    with db.scope(root) as s:
        [summary] = identity.list_institutes(s, actor=root)
    assert summary.expired and summary.admins == 1 and summary.currency == "KES"
    with db.scope(root) as s:
        identity.update_institute(
            s, actor=root, institute_id=inst.id, subscription_end=date(2099, 1, 1)
        )
    with db.scope(root) as s:
        [summary] = identity.list_institutes(s, actor=root)
        entries = audit.list_entries(s, actor=root, action_prefix="institute.")
    assert not summary.expired
    assert [e.action for e in entries] == ["institute.update", "institute.create"]
    with pytest.raises(Conflict), db.scope(root) as s:
        identity.create_institute(s, actor=root, name="gamma institute")
    with pytest.raises(ValidationError, match="not a known timezone"), db.scope(root) as s:
        identity.create_institute(s, actor=root, name="Delta", timezone="Mars/Olympus")


def test_only_super_admin_manages_institutes(db, two):
    a = two["admin_a"]
    with pytest.raises(PermissionDenied), db.scope(a) as s:
        identity.create_institute(s, actor=a, name="Mine")
    with pytest.raises(PermissionDenied), db.scope(a) as s:
        identity.update_institute(s, actor=a, institute_id=two["a"].id, max_teachers=99)
    with pytest.raises(PermissionDenied), db.scope(a) as s:
        identity.list_institutes(s, actor=a)


def test_session_user_refused_when_disabled_or_expired(db, two):
    from datetime import date

    from app.core.errors import AccessRevoked
    from app.identity.models import Institute

    teacher = two["teacher_b"]
    with db.scope(system=True) as s:
        assert identity.load_session_user(s, user_id=teacher.id).role == Role.TEACHER
        s.get(Institute, two["b"].id).subscription_end = date(2020, 1, 1)
    with pytest.raises(AccessRevoked, match="subscription has expired"), db.scope(system=True) as s:
        identity.load_session_user(s, user_id=teacher.id)
    with db.scope(system=True) as s:
        s.get(Institute, two["b"].id).subscription_end = None
        s.get(User, teacher.id).status = UserStatus.DISABLED.value
    with pytest.raises(AccessRevoked, match="not authorized"), db.scope(system=True) as s:
        identity.load_session_user(s, user_id=teacher.id)


def test_my_account_updates_own_name_and_phone(db, two):
    teacher = f.actor_for(two["teacher_b"])
    with db.scope(teacher) as s:
        identity.update_my_account(s, actor=teacher, name="Tina B", phone="+254 712 345678")
    with db.scope(system=True) as s:
        row = s.get(User, teacher.user_id)
    assert (row.name, row.phone) == ("Tina B", "+254712345678")
    with pytest.raises(ValidationError), db.scope(teacher) as s:
        identity.update_my_account(s, actor=teacher, name="", phone=None)
