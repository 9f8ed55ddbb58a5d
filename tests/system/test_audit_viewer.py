"""The audit log viewer: institute admins see their institute, the super admin sees all (or one);
filters by person, action (exact or prefix) and dates in the institute's timezone; pages; the CSV
export holds exactly the filtered entries and is itself audited."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from app.core import audit, clock
from app.core.errors import PermissionDenied, ValidationError
from app.core.roles import Role
from app.core.tenancy import Actor
from tests import factories as f


@pytest.fixture
def log(db):
    alpha = f.institute(db, name="Alpha", timezone="Asia/Kolkata")
    beta = f.institute(db, name="Beta")
    asha = f.actor_for(f.user(db, alpha, Role.ADMIN, name="Asha"))
    tara = f.actor_for(f.user(db, alpha, Role.TEACHER, name="Tara"))
    bala = f.actor_for(f.user(db, beta, Role.ADMIN, name="Bala"))
    root = f.actor_for(f.user(db, None, Role.SUPER_ADMIN, name="Root"))
    written = [
        # 2026-11-09 20:00 UTC is 2026-11-10 01:30 in Kolkata.
        (datetime(2026, 11, 9, 20, 0, tzinfo=UTC), asha, "fees.invoice_run"),
        (datetime(2026, 11, 10, 9, 0, tzinfo=UTC), tara, "attendance.submit"),
        (datetime(2026, 11, 11, 9, 0, tzinfo=UTC), asha, "fees.payment"),
        (datetime(2026, 11, 12, 9, 0, tzinfo=UTC), bala, "fees.payment"),
        (datetime(2026, 11, 12, 10, 0, tzinfo=UTC), root, "institute.create"),
    ]
    for moment, who, action in written:
        with clock.frozen(moment), db.scope(who) as s:
            audit.record(s, actor=who, action=action, detail={"note": action})
    with db.scope(system=True) as s:
        system = Actor.system(alpha.id)
        for n in range(55):
            audit.record(s, actor=system, action="risk.recompute", detail={"n": n})
    return alpha, beta, asha, tara, bala, root


def _actions(page) -> list[str]:
    return [e.action for e in page.entries]


def test_institute_admin_sees_own_institute_and_filters(db, log):
    alpha, beta, asha, tara, _bala, _root = log
    with db.scope(asha) as s:
        everything = audit.search_entries(s, actor=asha, page_size=50)
        assert everything.total == 58 and everything.pages == 2 and len(everything.entries) == 50
        second = audit.search_entries(s, actor=asha, page=2, page_size=50)
        assert len(second.entries) == 8 and second.entries[-1].action == "fees.invoice_run"
        assert audit.search_entries(s, actor=asha, page=99).page == 2  # clamped to the last

        by_user = audit.search_entries(
            s, actor=asha, filters=audit.AuditFilter(user_id=tara.user_id)
        )
        assert _actions(by_user) == ["attendance.submit"]
        exact = audit.search_entries(
            s, actor=asha, filters=audit.AuditFilter(action="fees.payment")
        )
        assert [e.actor_name for e in exact.entries] == ["Asha"]  # not Beta's
        prefix = audit.search_entries(s, actor=asha, filters=audit.AuditFilter(action="fees."))
        assert _actions(prefix) == ["fees.payment", "fees.invoice_run"]

        # Dates are the institute's days: 01:30 on the 10th in Kolkata is the 10th.
        tenth = audit.AuditFilter(date_from=date(2026, 11, 10), date_to=date(2026, 11, 10))
        assert _actions(audit.search_entries(s, actor=asha, filters=tenth)) == [
            "attendance.submit",
            "fees.invoice_run",
        ]
        ninth = audit.AuditFilter(date_from=date(2026, 11, 9), date_to=date(2026, 11, 9))
        assert audit.search_entries(s, actor=asha, filters=ninth).total == 0

        choices = audit.filter_choices(s, actor=asha)
        assert "fees.payment" in choices.actions and "institute.create" not in choices.actions
        assert set(choices.users.values()) == {"Asha", "Tara"}

        with pytest.raises(PermissionDenied):
            audit.search_entries(s, actor=asha, filters=audit.AuditFilter(institute_id=beta.id))
        with pytest.raises(ValidationError, match="start date is after the end date"):
            audit.search_entries(
                s,
                actor=asha,
                filters=audit.AuditFilter(date_from=date(2026, 11, 12), date_to=date(2026, 11, 1)),
            )
    with db.scope(tara) as s, pytest.raises(PermissionDenied):
        audit.search_entries(s, actor=tara)


def test_super_admin_sees_all_or_one_institute(db, log):
    alpha, beta, _asha, _tara, bala, root = log
    with db.scope(root) as s:
        payments = audit.search_entries(
            s, actor=root, filters=audit.AuditFilter(action="fees.payment")
        )
        assert sorted(e.actor_name for e in payments.entries) == ["Asha", "Bala"]
        only_beta = audit.search_entries(
            s, actor=root, filters=audit.AuditFilter(institute_id=beta.id)
        )
        assert {e.actor_name for e in only_beta.entries} == {"Bala"}
        assert (
            audit.search_entries(
                s, actor=root, filters=audit.AuditFilter(action="institute.create")
            ).total
            == 1
        )
        assert "Bala" in audit.filter_choices(s, actor=root).users.values()


def test_csv_export_holds_the_filtered_entries_and_is_audited(db, log):
    alpha, _beta, asha, _tara, _bala, _root = log
    filters = audit.AuditFilter(action="fees.")
    with db.scope(asha) as s:
        exported = audit.export_entries_csv(s, actor=asha, filters=filters)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["action"] for r in rows] == ["fees.invoice_run", "fees.payment"]  # oldest first
    assert rows[0]["actor_name"] == "Asha" and rows[0]["at_utc"].startswith("2026-11-09T20:00")
    assert '"note": "fees.invoice_run"' in rows[0]["detail"]
    with db.scope(asha) as s:
        entry = audit.search_entries(
            s, actor=asha, filters=audit.AuditFilter(action="audit.export")
        )
    assert entry.total == 1
    logged = entry.entries[0]
    assert logged.institute_id == alpha.id and logged.actor_name == "Asha"
    assert logged.detail["rows"] == 2 and logged.detail["filters"]["action"] == "fees."
