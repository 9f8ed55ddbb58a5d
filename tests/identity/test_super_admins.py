"""A production deployment gets its super admin without SQL (issue 21): SUPER_ADMIN_EMAILS on
start, or scripts/create_super_admin.py — idempotent, audited, never an institute user's email."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from app.core.audit import AuditLog
from app.core.config import Settings
from app.core.roles import Role
from app.identity import bootstrap
from app.identity.models import User
from tests import factories as f
from tests.pages.apptest import app_as

ROOT = Path(__file__).resolve().parents[2]


def _supers(db) -> list[tuple[str, str, str]]:
    with db.scope(system=True) as s:
        rows = s.exec(select(User).where(User.role == Role.SUPER_ADMIN.value)).all()
        return sorted((u.email, u.status, str(u.institute_id)) for u in rows)


def test_super_admin_emails_on_a_populated_database_are_idempotent_and_audited(db, caplog):
    inst = f.institute(db)
    f.user(db, inst, Role.ADMIN, email="taken@example.com")
    settings = Settings(
        _env_file=None, SUPER_ADMIN_EMAILS="Ops@Example.com, taken@example.com,owner@example.com"
    )
    with caplog.at_level(logging.WARNING, logger="cohort"), db.scope(system=True) as s:
        created = bootstrap.bootstrap_super_admins(s, settings=settings)
    assert sorted(u.email for u in created) == ["ops@example.com", "owner@example.com"]
    assert bootstrap.super_admin_warning("ops@example.com") in caplog.text
    assert "taken@example.com is a user of an institute" in caplog.text
    assert _supers(db) == [
        ("ops@example.com", "active", "None"),
        ("owner@example.com", "active", "None"),
    ]
    with db.scope(system=True) as s:  # the next start creates nothing
        assert bootstrap.bootstrap_super_admins(s, settings=settings) == []
        audited = s.exec(
            select(AuditLog.detail).where(AuditLog.action == "user.super_admin_created")
        ).all()
    assert sorted(d["email"] for d in audited) == ["ops@example.com", "owner@example.com"]
    assert len(_supers(db)) == 2


def test_the_super_admin_signs_in_to_the_institutes_page(db):
    with db.scope(system=True) as s:
        bootstrap.bootstrap_super_admins(
            s, settings=Settings(_env_file=None, SUPER_ADMIN_EMAILS="ops@example.com")
        )
    at = app_as("ops@example.com").run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Welcome to Cohort"  # the first sign-in's onboarding
    at.checkbox(key="onb_accept").check()
    at.button[0].click().run()  # the form's Continue
    assert not at.exception and not at.error
    assert at.title[0].value == "Institutes"


def test_the_script_creates_refuses_and_says_when_nothing_changed(db):
    inst = f.institute(db)
    f.user(db, inst, Role.TEACHER, email="teacher@example.com")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "scripts/create_super_admin.py", *args, "--database-url", db.url],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )

    refused = run("teacher@example.com")
    assert refused.returncode == 1
    assert "teacher@example.com is a user of an institute" in refused.stderr
    made = run("Root@Example.com")
    assert made.returncode == 0 and "root@example.com is now a super admin" in made.stdout
    again = run("root@example.com")
    assert again.returncode == 0 and "already is a super admin" in again.stdout
    bad = run("not-an-email")
    assert bad.returncode == 2 and "not a valid email address" in bad.stderr
    assert _supers(db) == [("root@example.com", "active", "None")]
    with db.scope(system=True) as s:
        sources = s.exec(
            select(AuditLog.source).where(AuditLog.action == "user.super_admin_created")
        ).all()
    assert sources == ["script"]
