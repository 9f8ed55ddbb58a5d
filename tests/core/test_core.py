"""Settings, clock, money, validation and the audit log."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError as SettingsError
from sqlalchemy import text

from app.core import audit, clock, money
from app.core.config import Settings, normalize_database_url
from app.core.errors import ValidationError
from app.core.phones import format_phone, normalize_phone, region_for, search_digits
from app.core.roles import Role
from app.core.validation import normalize_email
from tests import factories as f


def test_prod_refuses_placeholder_secret(monkeypatch):
    monkeypatch.setenv("APP_ENV", "prod")
    monkeypatch.setenv("SECRET_KEY", "change-me")
    with pytest.raises(SettingsError, match="SECRET_KEY must be set"):
        Settings(_env_file=None)
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    assert Settings(_env_file=None).APP_ENV == "prod"


def test_admin_emails_parsed_from_comma_list(monkeypatch):
    monkeypatch.setenv("ADMIN_EMAILS", " Boss@Example.com, two@example.com ,")
    assert Settings(_env_file=None).ADMIN_EMAILS == ["boss@example.com", "two@example.com"]


def test_database_urls_normalised():
    assert normalize_database_url("postgres://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"
    assert normalize_database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_database_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"
    anchored = normalize_database_url("sqlite:///data/cohort.db")
    assert anchored.startswith("sqlite:////") and anchored.endswith("/data/cohort.db")


def test_clock_freezes_and_advances():
    moment = datetime(2026, 3, 1, 18, 45, tzinfo=UTC)
    with clock.frozen(moment):
        assert clock.now() == moment
        assert clock.today_in("Asia/Kolkata").isoformat() == "2026-03-02"  # 00:15 IST
        clock.advance(timedelta(hours=1))
        assert clock.now() == moment + timedelta(hours=1)
    assert clock.now() != moment


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [("1,250.50", "INR", 125050), ("300", "KES", 30000), ("7", "JPY", 7), ("0.125", "KWD", 125)],
)
def test_money_parses_typed_amounts(typed, currency, minor):
    assert money.to_minor(typed, currency) == minor


def test_money_refuses_fractions_of_a_minor_unit_and_junk():
    with pytest.raises(ValidationError, match="at most 2 decimal places"):
        money.to_minor("10.005", "INR")
    with pytest.raises(ValidationError, match="not an amount"):
        money.to_minor("ten", "INR")


def test_money_formats():
    assert money.format_money(125050, "INR") == "₹1,250.50"
    assert money.format_money(-30000, "KES") == "-Ksh300.00"
    assert money.format_money(500, "XYZ") == "XYZ5.00"


def test_money_follows_the_locale_of_the_currency():
    # Indian grouping for INR (lakhs, crores), Babel's data for the others.
    assert money.format_money(1_847_726_00, "INR") == "₹18,47,726.00"
    assert money.format_money(-864_000_00, "INR") == "-₹8,64,000.00"
    assert money.format_money(1_847_726_00, "USD") == "$1,847,726.00"
    assert money.format_money(1_847_726_00, "ZAR") == "R1 847 726,00"
    assert money.format_money(1_234, "JPY") == "¥1,234"
    # Short figures for metrics, and the code instead of a symbol for the PDF core font.
    assert money.format_money(1_847_726_00, "INR", compact=True) == "₹18.5L"
    assert money.format_money(1_847_726_00, "USD", compact=True) == "$1.8M"
    assert money.format_money(1_847_726_00, "INR", plain=True) == "INR 18,47,726.00"
    assert money.format_money(1_847_726_00, "INR", locale="en_US") == "₹1,847,726.00"


@given(total=st.integers(0, 10**9), weights=st.lists(st.integers(1, 1000), min_size=1, max_size=12))
def test_allocate_never_loses_a_unit(total, weights):
    shares = money.allocate(total, weights)
    assert sum(shares) == total
    assert all(s >= 0 for s in shares)


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2, allow_nan=False))
def test_money_round_trips(value):
    assert money.from_minor(money.to_minor(value, "INR"), "INR") == value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("98765 43210", "+919876543210"),
        ("098765 43210", "+919876543210"),  # a national number with its leading 0
        ("+91 98765-43210", "+919876543210"),
        ("0091 98765 43210", "+919876543210"),
        ("9876543210", "+919876543210"),
        ("(020) 2612 3456", "+912026123456"),  # a Pune landline
        ("+44 7400 123456", "+447400123456"),  # another country, by its + code
        ("", None),
        (None, None),
    ],
)
def test_phone_stored_as_e164_read_in_the_region(raw, expected):
    assert normalize_phone(raw, "IN") == expected


def test_a_national_number_is_read_in_the_institutes_region():
    assert region_for("KES") == "KE" and region_for("INR") == "IN" and region_for("XYZ") == "IN"
    assert normalize_phone("0712 123456", region_for("KES")) == "+254712123456"
    assert normalize_phone("(415) 555-0100", region_for("USD")) == "+14155550100"


@pytest.mark.parametrize("raw", ["12345", "call me", "+1 987 654 3210", "98765 4321"])
def test_a_number_that_is_not_one_says_what_to_type(raw):
    with pytest.raises(ValidationError) as refused:
        normalize_phone(raw, "IN", field="guardian_phone")
    assert "Enter a phone number like +91 98765 43210" in refused.value.message
    assert refused.value.field == "guardian_phone"
    with pytest.raises(ValidationError, match=r"like \+254 7"):
        normalize_phone(raw, "KE")


def test_phones_are_shown_national_at_home_and_international_otherwise():
    assert format_phone("+919876543210", "IN") == "098765 43210"
    assert format_phone("+919876543210", "KE") == "+91 98765 43210"
    assert format_phone("12345", "IN") == "12345" and format_phone(None, "IN") == ""
    assert search_digits("098765 43") == "9876543" and search_digits("a1") is None


def test_email_normalised_and_checked():
    assert normalize_email("  Ada@Example.COM ") == "ada@example.com"
    with pytest.raises(ValidationError):
        normalize_email("ada@")


def test_an_audited_action_on_a_target_names_its_type_after_the_action(db):
    inst = f.institute(db)
    actor = f.actor_for(f.user(db, inst, Role.ADMIN))
    with db.scope(actor) as s:
        batch = audit.on(s, actor, "batch.create", 42, {"name": "Class 10"})
        run = audit.on(s, actor, "fees.invoice_run", 7, target_type="fee_structure")
    with db.scope(actor) as s:
        batch, run = s.get(audit.AuditLog, batch.id), s.get(audit.AuditLog, run.id)
    assert (batch.target_type, batch.target_id, batch.detail) == (
        "batch",
        "42",
        {"name": "Class 10"},
    )
    assert (run.target_type, run.target_id, run.actor_user_id) == (
        "fee_structure",
        "7",
        actor.user_id,
    )


def test_audit_log_is_append_only_and_never_stores_secrets(db):
    inst = f.institute(db)
    actor = f.actor_for(f.user(db, inst, Role.ADMIN))
    with db.scope(actor) as s:
        entry = audit.record(
            s,
            actor=actor,
            action="auth.test",
            detail={"password": "hunter2", "otp_code": "123456", "method": "password"},
        )
    with db.scope(actor) as s:
        stored = s.get(audit.AuditLog, entry.id)
        assert stored.detail == {"method": "password"}
        assert stored.institute_id == inst.id and stored.at.tzinfo is not None
    for statement in ("update audit_log set action = 'x'", "delete from audit_log"):
        with pytest.raises(Exception, match="append-only"), db.scope(actor) as s:
            s.execute(text(statement))
    with db.scope(actor) as s:
        assert audit.count_entries(s, actor=actor, action="auth.test") == 1
