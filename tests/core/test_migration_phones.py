"""Migration c1a5e0024e01: stored phones become E.164, read in their institute's region; a number
that cannot be read is left as it was and never fails the migration."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect, text

from alembic import command
from app.core.db import engine_for
from app.core.migrate import alembic_config, current_revision, head_revision
from tests.conftest import BACKENDS, _admin_engine, _app_url, skip_or_fail

BEFORE = "c1a5e0023e01"
NOW = "2026-12-01 10:00:00"


@pytest.fixture(params=BACKENDS)
def blank_url(request, tmp_path) -> Iterator[str]:
    """An empty database of each backend, for running migrations one by one."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'phones.db'}"
        return
    admin = _admin_engine()
    if admin is None:
        skip_or_fail("no PostgreSQL server answers (set TEST_DATABASE_URL)")
    name = f"cohort_phones_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name} OWNER cohort_app"))
    from tests.conftest import ADMIN_URL

    url = _app_url(ADMIN_URL, name)
    yield url
    engine_for(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def _run(conn, sql: str, **params) -> None:
    conn.execute(text(sql), params)


def _seed_before(url: str) -> None:
    engine = engine_for(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            _run(conn, "SELECT set_config('app.super', 'on', true)")
        for iid, name, currency in ((1, "Indian", "INR"), (2, "Kenyan", "KES")):
            _run(
                conn,
                "INSERT INTO institutes (id, name, timezone, currency, created_at, bootstrap_warning,"
                " term_starts) VALUES (:id, :name, 'Asia/Kolkata', :cur, :now, false, '01-01')",
                id=iid,
                name=name,
                cur=currency,
                now=NOW,
            )
        users = [
            (1, 1, "098765 43210", "9876543210"),  # national, leading 0
            (2, 1, "+919123456780", "9123456780"),  # already E.164
            (3, 1, "12345", "12345"),  # not a number: left alone
            (4, 2, "0712 123456", "0712123456"),  # Kenyan institute: read in Kenya
        ]
        for uid, iid, phone, key in users:
            _run(
                conn,
                "INSERT INTO users (id, institute_id, name, phone, phone_key, role, status,"
                " created_at, updated_at) VALUES (:id, :iid, 'U', :phone, :key, 'teacher',"
                " 'active', :now, :now)",
                id=uid,
                iid=iid,
                phone=phone,
                key=key,
                now=NOW,
            )
        # Rows that point at users, so rebuilding the users table must keep them.
        _run(
            conn,
            "INSERT INTO auth_sessions (id, token_hash, user_id, method, created_at, last_seen_at,"
            " expires_at) VALUES (1, 'h', 1, 'password', :now, :now, :now)",
            now=NOW,
        )
        _run(
            conn,
            "INSERT INTO students (id, institute_id, user_id, enrollment_no, name, phone, status,"
            " created_at) VALUES (1, 1, 1, 'A1', 'S', '9876543210', 'active', :now)",
            now=NOW,
        )
        _run(
            conn,
            "INSERT INTO guardians (id, institute_id, student_id, name, phone, relationship)"
            " VALUES (1, 1, 1, 'G', '+91 98765-00001', 'mother')",
        )
        for qid, phone in ((1, "09876543210"), (2, "not a phone")):
            _run(
                conn,
                "INSERT INTO crm_inquiries (id, institute_id, counselor_user_id, student_name,"
                " phone, phone_key, interested_subjects, source, status, priority, tags,"
                " lead_score, score_reasons, created_at, updated_at) VALUES (:id, 1, 1, 'Q',"
                " :phone, :key, '[]', 'website', 'new', 'medium', '[]', 0, '[]', :now, :now)",
                id=qid,
                phone=phone,
                key=phone[-10:],
                now=NOW,
            )
        _run(
            conn,
            "INSERT INTO access_requests (id, institute_id, name, phone, phone_key, role, status,"
            " token_hash, created_at) VALUES (1, 2, 'R', '0712 123456', '0712123456', 'student',"
            " 'pending', 't', :now)",
            now=NOW,
        )


def _phones(url: str, table: str) -> dict[int, str]:
    with engine_for(url).begin() as conn:
        if conn.dialect.name == "postgresql":
            _run(conn, "SELECT set_config('app.super', 'on', true)")
        return dict(conn.execute(text(f"SELECT id, phone FROM {table} ORDER BY id")).all())


def test_stored_phones_become_e164_in_their_institutes_region(blank_url):
    cfg = alembic_config(blank_url)
    command.upgrade(cfg, BEFORE)
    _seed_before(blank_url)

    command.upgrade(cfg, "head")

    assert current_revision(blank_url) == head_revision()
    assert _phones(blank_url, "users") == {
        1: "+919876543210",
        2: "+919123456780",
        3: "12345",
        4: "+254712123456",
    }
    assert _phones(blank_url, "students") == {1: "+919876543210"}
    assert _phones(blank_url, "guardians") == {1: "+919876500001"}
    assert _phones(blank_url, "crm_inquiries") == {1: "+919876543210", 2: "not a phone"}
    assert _phones(blank_url, "access_requests") == {1: "+254712123456"}
    columns = inspect(engine_for(blank_url))
    assert "phone_key" not in {c["name"] for c in columns.get_columns("users")}
    assert "phone_key" not in {c["name"] for c in columns.get_columns("crm_inquiries")}
    with engine_for(blank_url).begin() as conn:
        if conn.dialect.name == "postgresql":
            _run(conn, "SELECT set_config('app.super', 'on', true)")
        assert conn.execute(text("SELECT user_id FROM auth_sessions")).scalar() == 1

    command.downgrade(cfg, BEFORE)
    with engine_for(blank_url).begin() as conn:
        if conn.dialect.name == "postgresql":
            _run(conn, "SELECT set_config('app.super', 'on', true)")
        keys = dict(conn.execute(text("SELECT id, phone_key FROM users ORDER BY id")).all())
    assert keys == {1: "9876543210", 2: "9123456780", 3: "12345", 4: "4712123456"}
