"""The seeded medium institute's journal, exported, is accepted by Beancount's own checks."""

import pytest
from beancount import loader
from beancount.core import realization

from app.demo.seed import seed_demo
from app.fees import ledger
from app.fees.export import beancount_lines_internal


@pytest.mark.heavy
def test_beancount_accepts_the_medium_institutes_books(db):
    result = seed_demo(size="medium", engine=db.engine)
    institute_id = result.institute_ids[0]
    with db.scope(institute_id=institute_id) as s:
        text = "\n".join(beancount_lines_internal(s, institute_id=institute_id))
        ours = {r.code: r.balance for r in ledger.balances_internal(s, institute_id=institute_id)}
    entries, errors, options = loader.load_string(text)
    assert errors == [], errors[:3]
    assert sum(1 for e in entries if type(e).__name__ == "Transaction") > 1000
    tree = realization.realize(entries)
    for code, balance in ours.items():
        node = next(n for n in realization.iter_children(tree) if f":A{code}-" in n.account)
        assert int(node.balance.get_currency_units("INR").number * 100) == balance, code
