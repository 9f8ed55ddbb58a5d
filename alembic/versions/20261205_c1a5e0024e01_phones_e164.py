"""phones_e164: every stored phone in E.164; users and inquiries match on it, not on a 10-digit tail

Phones were stored as typed digits ("09876543210", "+919876543210") with a `phone_key` of their
last ten digits for matching, which confused numbers of different countries that share a tail
and could not tell an Indian "0" prefix from a digit. Now `phonenumbers` reads every number in
its institute's region (from the institute's currency, as the app does) and stores E.164, so
numbers match by equality: users are unique per institute on `phone` itself and `phone_key` goes
from users and crm_inquiries (access_requests keeps its key until that module is changed).

A stored number that does not parse, or whose E.164 form another user of the same institute
already has, is left as it was (the migration never fails on data); such a number matches only
when typed exactly as stored, and is corrected when someone next edits it.

Revision ID: c1a5e0024e01
Revises: c1a5e0023e01
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import phonenumbers
import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "c1a5e0024e01"
down_revision: str | None = "c1a5e0023e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_REGION = "IN"
# Frozen copy of the app's currency → locale territory (app.core.money.LOCALES) at this revision.
REGIONS = {
    "INR": "IN",
    "KES": "KE",
    "UGX": "UG",
    "TZS": "TZ",
    "RWF": "RW",
    "NGN": "NG",
    "GHS": "GH",
    "ZAR": "ZA",
    "USD": "US",
    "GBP": "GB",
    "EUR": "IE",
    "AED": "AE",
    "SGD": "SG",
    "AUD": "AU",
    "CAD": "CA",
    "NZD": "NZ",
    "PKR": "PK",
    "LKR": "LK",
    "BDT": "BD",
    "NPR": "NP",
}
# Tables holding a phone, and whether (institute_id, phone) must stay unique in them.
PHONE_TABLES = {
    "users": True,
    "students": False,
    "guardians": False,
    "crm_inquiries": False,
    "access_requests": False,
}


def e164(text: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_phones(bind: sa.engine.Connection) -> None:
    """Read every stored phone, write back its E.164 form where that differs (one UPDATE per
    changed row, in batches through executemany)."""
    regions = {
        iid: REGIONS.get((currency or "").upper(), DEFAULT_REGION)
        for iid, currency in bind.execute(sa.text("SELECT id, currency FROM institutes"))
    }
    for table, unique in PHONE_TABLES.items():
        rows = bind.execute(
            sa.text(f"SELECT id, institute_id, phone FROM {table} WHERE phone IS NOT NULL")
        ).all()
        taken = {(iid, phone) for _, iid, phone in rows}
        updates = []
        for rid, iid, phone in rows:
            new = e164(phone, regions.get(iid, DEFAULT_REGION))
            if new is None or new == phone or (unique and (iid, new) in taken):
                continue
            taken.add((iid, new))
            updates.append({"id": rid, "phone": new, "key": new[-10:]})
        if not updates:
            continue
        if table == "access_requests":  # its key is still the tail, now of the E.164 form
            statement = "UPDATE access_requests SET phone = :phone, phone_key = :key WHERE id = :id"
        else:
            statement = f"UPDATE {table} SET phone = :phone WHERE id = :id"
        bind.execute(sa.text(statement), updates)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("SELECT set_config('app.super', 'on', true)")
    normalise_phones(bind)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_phone_key")
        batch_op.drop_constraint("uq_users_institute_id_phone_key", type_="unique")
        batch_op.drop_column("phone_key")
        batch_op.create_unique_constraint("uq_users_institute_id_phone", ["institute_id", "phone"])
        batch_op.create_index("ix_users_phone", ["phone"], unique=False)

    with op.batch_alter_table("crm_inquiries", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_inquiries_institute_id_phone_key")
        batch_op.drop_column("phone_key")
        batch_op.create_index(
            "ix_crm_inquiries_institute_id_phone", ["institute_id", "phone"], unique=False
        )


def downgrade() -> None:
    # Phones stay in E.164, which the earlier code accepted as typed; the keys come back.
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("SELECT set_config('app.super', 'on', true)")
    with op.batch_alter_table("crm_inquiries", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_inquiries_institute_id_phone")
        batch_op.add_column(
            sa.Column("phone_key", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.create_index(
            "ix_crm_inquiries_institute_id_phone_key", ["institute_id", "phone_key"], unique=False
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_phone")
        batch_op.drop_constraint("uq_users_institute_id_phone", type_="unique")
        batch_op.add_column(
            sa.Column("phone_key", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
    for table in ("users", "crm_inquiries"):
        rows = bind.execute(sa.text(f"SELECT id, phone FROM {table} WHERE phone IS NOT NULL")).all()
        keys = [
            {"id": rid, "key": "".join(ch for ch in phone if ch.isdigit())[-10:]}
            for rid, phone in rows
        ]
        if keys:
            bind.execute(sa.text(f"UPDATE {table} SET phone_key = :key WHERE id = :id"), keys)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_users_institute_id_phone_key", ["institute_id", "phone_key"]
        )
        batch_op.create_index("ix_users_phone_key", ["phone_key"], unique=False)
