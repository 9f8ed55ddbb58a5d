"""System page backups (super admin) and export (institute admin); the audit log page."""

from __future__ import annotations

import pytest

from app.core import audit
from app.core.config import reset_settings_cache
from app.core.roles import Role
from app.system import backup
from app.ui import system as ui_system
from tests import factories as f
from tests.pages.apptest import app_as, by_label, errors, frame, open_page, shown, texts

SYSTEM = "pages/admin/system.py"
AUDIT = "pages/admin/audit_log.py"


@pytest.fixture
def backups_here(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path))
    reset_settings_cache()
    yield tmp_path
    reset_settings_cache()


def _buttons(at) -> set[str]:
    return {b.label for b in at.button}


def _downloads(at) -> list[str]:
    return [str(d.proto.label) for d in at.get("download_button")]


def test_super_admin_backs_up_now_and_can_download_the_latest(db, backups_here):
    root = f.user(db, None, Role.SUPER_ADMIN, email="root@example.com")
    f.institute(db)
    at = open_page(app_as(root.email).run(), SYSTEM)
    assert "Backup now" in _buttons(at) and _downloads(at) == []
    assert "Prepare export" not in _buttons(at)
    at.button(key="backup_now").click().run()
    assert not errors(at), errors(at)
    taken = backup.find_backups(backups_here)
    assert len(taken) == 1
    assert f"Backed up to {taken[0].name}" in "\n".join(shown(s.value) for s in at.success)
    assert list(frame(at, "File")["File"]) == [taken[0].name]
    assert _downloads(at) == ["Download latest backup"]
    data = ui_system.backup_download(f.actor_for(root), taken[0].name)  # what the button sends
    assert data() == taken[0].path.read_bytes()
    with db.scope(system=True) as s:
        assert audit.count_entries(s, actor=f.actor_for(root), action="system.backup") == 1
        assert audit.count_entries(s, actor=f.actor_for(root), action="system.backup_download") == 1


def test_institute_admin_sees_no_backups_and_exports_redacted(db, backups_here):
    inst = f.institute(db)
    admin = f.user(db, inst, Role.ADMIN, email="admin@example.com")
    backup.create_backup(engine=db.engine)  # the deployment has a backup; the admin must not see it
    at = open_page(app_as(admin.email).run(), SYSTEM)
    assert "Backup now" not in _buttons(at)
    assert "Download latest backup" not in _downloads(at)
    assert "Backups" not in [h.value for h in at.subheader]
    by_label(at.multiselect, "Tables").set_value(["students", "payments"])
    at.run()
    at.button(key="prepare_export").click().run()
    assert not errors(at), errors(at)
    assert "personal data redacted" in "\n".join(shown(s.value) for s in at.success)
    assert _downloads(at) == ["Download export"]
    with db.scope(system=True) as s:
        entries = audit.list_entries(s, actor=f.actor_for(admin), action_prefix="data.")
    assert [(e.action, e.detail["tables"]) for e in entries] == [
        ("data.export", ["students", "payments"])
    ]

    at.checkbox(key="export_personal").check().run()
    assert _downloads(at) == []  # a changed choice forgets the prepared file
    at.button(key="prepare_export").click().run()
    assert "includes personal data" in "\n".join(shown(s.value) for s in at.success)
    with db.scope(system=True) as s:
        assert audit.count_entries(s, actor=f.actor_for(admin), action="data.export_personal") == 1


def test_audit_log_page_filters_and_exports(db):
    inst = f.institute(db)
    admin = f.user(db, inst, Role.ADMIN, email="admin@example.com", name="Asha")
    other = f.user(db, f.institute(db), Role.ADMIN, email="other@example.com", name="Olu")
    for who, action in [(admin, "fees.payment"), (admin, "user.invite"), (other, "fees.payment")]:
        with db.scope(f.actor_for(who)) as s:
            audit.record(s, actor=f.actor_for(who), action=action)
    at = open_page(app_as(admin.email).run(), AUDIT)
    assert at.title[0].value == "Audit log" and not errors(at)
    rows = frame(at, "Action")
    assert {"fees.payment", "user.invite"} <= set(rows["Action"])
    assert set(rows["User"]) == {"Asha"}  # never the other institute's people
    at.selectbox(key="audit_action").set_value("fees.payment").run()
    assert list(frame(at, "Action")["Action"]) == ["fees.payment"]
    assert "1 entry · page 1 of 1" in texts(at)
    at.button(key="audit_export").click().run()
    assert "recorded in the audit log" in "\n".join(shown(s.value) for s in at.success)
    assert "Download CSV" in _downloads(at)
    with db.scope(system=True) as s:
        assert audit.count_entries(s, actor=f.actor_for(admin), action="audit.export") == 1


def test_super_admin_audit_log_has_an_institute_filter(db):
    root = f.user(db, None, Role.SUPER_ADMIN, email="root@example.com")
    alpha, beta = f.institute(db, name="Alpha"), f.institute(db, name="Beta")
    for inst, action in [(alpha, "fees.payment"), (beta, "user.invite")]:
        who = f.actor_for(f.user(db, inst, Role.ADMIN))
        with db.scope(who) as s:
            audit.record(s, actor=who, action=action)
    at = open_page(app_as(root.email).run(), AUDIT)
    assert {"fees.payment", "user.invite"} <= set(frame(at, "Action")["Action"])
    at.selectbox(key="audit_institute").set_value(beta.id).run()
    assert "user.invite" in set(frame(at, "Action")["Action"])
    assert "fees.payment" not in set(frame(at, "Action")["Action"])


def test_audit_log_today_is_the_institutes_day_not_utcs(db):
    # 19:00 UTC on 29 Nov is already 00:30 on 30 Nov in Kolkata: what just happened is "today".
    from datetime import UTC, datetime

    from app.core import clock

    inst = f.institute(db, timezone="Asia/Kolkata")
    admin = f.user(db, inst, Role.ADMIN, email="late@example.com", name="Late")
    with clock.frozen(datetime(2026, 11, 29, 19, 0, tzinfo=UTC)):
        with db.scope(f.actor_for(admin)) as s:
            audit.record(s, actor=f.actor_for(admin), action="fees.payment")
        at = open_page(app_as(admin.email).run(), AUDIT)
    assert "fees.payment" in set(frame(at, "Action")["Action"])
