"""PostgreSQL's second wall: without an institute set, tenant tables are empty; with one, only its rows."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.core.db import engine_for
from app.core.roles import Role
from tests import factories as f

pytestmark = pytest.mark.postgres


@pytest.fixture
def seeded(pg):
    class D:
        url = pg.url
        engine = engine_for(pg.url)

        @staticmethod
        def scope(*a, **kw):
            from app.core.db import session_scope

            return session_scope(*a, engine=engine_for(pg.url), **kw)

    d = D()
    a = f.institute(d, name="Alpha")
    b = f.institute(d, name="Beta")
    for inst in (a, b):
        f.user(d, inst, Role.ADMIN)
        f.user(d, inst, Role.STUDENT)
    f.user(d, None, Role.SUPER_ADMIN)
    return d, a, b


def _count(conn, table, where=""):
    return conn.execute(text(f"select count(*) from {table} {where}")).scalar()


def test_raw_select_without_institute_returns_nothing(seeded):
    d, a, b = seeded
    with d.engine.connect() as conn:
        assert _count(conn, "users") == 0
        assert _count(conn, "institutes") == 0
        assert _count(conn, "audit_log") == 0


def test_with_institute_a_set_none_of_b_is_visible(seeded):
    d, a, b = seeded
    with d.engine.begin() as conn:
        conn.execute(text("select set_config('app.institute_id', :i, true)"), {"i": str(a.id)})
        assert _count(conn, "users") == 2
        assert _count(conn, "users", f"where institute_id = {b.id}") == 0
        assert _count(conn, "institutes") == 1
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(
                text(
                    "insert into users (institute_id, name, email, role, status, created_at, updated_at) "
                    "values (:b, 'x', 'x@b.example', 'student', 'active', now(), now())"
                ),
                {"b": b.id},
            )


def test_updates_cannot_reach_other_institutes(seeded):
    d, a, b = seeded
    with d.engine.begin() as conn:
        conn.execute(text("select set_config('app.institute_id', :i, true)"), {"i": str(a.id)})
        changed = conn.execute(
            text("update users set name = 'hacked' where institute_id = :b"), {"b": b.id}
        ).rowcount
        assert changed == 0


def test_context_does_not_leak_through_the_pool(seeded):
    d, a, b = seeded
    with d.engine.begin() as conn:
        conn.execute(text("select set_config('app.institute_id', :i, true)"), {"i": str(a.id)})
    with d.engine.connect() as conn:
        assert _count(conn, "users") == 0


def test_super_path_sees_every_institute(seeded):
    d, a, b = seeded
    with d.scope(system=True) as s:
        assert s.execute(text("select count(*) from users")).scalar() == 5
    with d.scope(institute_id=a.id) as s:
        assert s.execute(text("select count(*) from users")).scalar() == 2
