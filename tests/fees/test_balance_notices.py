"""Guardian balance notices on request (fees.alerts.balance_notices / notify_balances)."""

from datetime import timedelta

import pytest
from sqlmodel import select

from app.core import clock
from app.core.errors import PermissionDenied
from app.fees import alerts
from app.fees import service as fees
from app.notify.models import Notification
from tests.opsdesk.world import NOW, build


def test_balances_by_level_told_once_a_day_by_admins_and_counselors(db):
    w = build(db)
    with clock.frozen(NOW), db.scope(w.admin) as s:
        fees.invoice_run(
            s,
            actor=w.admin,
            structure_id=w.structure,
            period="2026-11",
            student_ids=[w.riya, w.riya_v, w.aman],
        )
        fees.record_payment(
            s,
            actor=w.admin,
            student_id=w.aman,
            amount_minor=5000_00,
            method="cash",
            reference="S-1",
        )
    with clock.frozen(NOW), db.scope(w.counselor) as s:
        # Level XI is Physics XI: Riya Verma and Aman; Aman has paid in full.
        [notice] = alerts.balance_notices(s, actor=w.counselor, level="XI")
        assert (notice.name, notice.owed_minor, notice.guardians) == ("Riya Verma", 5000_00, 0)
        everyone = alerts.balance_notices(s, actor=w.counselor)
        assert [n.name for n in everyone] == ["Riya Sharma", "Riya Verma"]
        assert "₹5,000.00 of fees for Riya Sharma is outstanding" in everyone[0].text
        assert alerts.notify_balances(s, actor=w.counselor, batch_id=w.math) == 1
        assert alerts.notify_balances(s, actor=w.counselor, batch_id=w.math) == 0
    with clock.frozen(NOW + timedelta(days=1)), db.scope(w.admin) as s:
        assert alerts.notify_balances(s, actor=w.admin) == 1  # a new day: told again
        assert [n.recipient for n in s.exec(select(Notification))] == ["5001", "5001"]
    with db.scope(w.teacher) as s, pytest.raises(PermissionDenied):
        alerts.balance_notices(s, actor=w.teacher)
