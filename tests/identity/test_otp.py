"""Sign-in with a Telegram code: allowlist first, one message per accepted request, strict limits."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from app.core import audit, clock
from app.core.audit import AuditLog
from app.core.roles import Role
from app.identity import otp
from app.identity.models import OtpCode
from tests import factories as f

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def teacher(db):
    inst = f.institute(db)
    return f.user(db, inst, Role.TEACHER, phone="+91 98765 43210", telegram_chat_id="555001")


def request(db, phone="98765 43210", client="203.0.113.7"):
    with db.scope(system=True) as s:
        return otp.request_code(s, phone=phone, source="test", client=client)


def verify(db, code, phone="+919876543210"):
    with db.scope(system=True) as s:
        return otp.verify_code(s, phone=phone, code=code, source="test")


def wrong(left: int) -> str:
    return otp.CODE_WRONG.format(left=left, plural="y" if left == 1 else "ies")


def last_code(transport) -> str:
    return re.search(r"\b(\d{6})\b", transport.messages[-1]["text"]).group(1)


def test_code_sent_to_the_users_chat_and_signs_in_once(db, teacher, telegram_fake):
    with clock.frozen(T0):
        assert request(db).sent
        assert len(telegram_fake.messages) == 1 and telegram_fake.messages[0]["chat_id"] == "555001"
        code = last_code(telegram_fake)
        outcome = verify(db, code)
        assert [u.id for u in outcome.users] == [teacher.id]
        again = verify(db, code)
    assert again.error == wrong(4) and not again.users


def test_code_stored_only_as_keyed_hash(db, teacher, telegram_fake):
    request(db)
    code = last_code(telegram_fake)
    with db.scope(system=True) as s:
        row = s.exec(select(OtpCode)).one()
    assert code not in row.code_hash and len(row.code_hash) == 64


def test_expired_code_refused(db, teacher, telegram_fake):
    with clock.frozen(T0):
        request(db)
        code = last_code(telegram_fake)
        clock.advance(timedelta(minutes=10, seconds=1))
        outcome = verify(db, code)
    assert outcome.error == wrong(4) and not outcome.users


def test_sixth_try_refused_even_with_the_right_code(db, teacher, telegram_fake):
    request(db)
    code = last_code(telegram_fake)
    wrong = "000000" if code != "000000" else "111111"
    answers = [verify(db, wrong).error for _ in range(5)]
    assert answers[0] == "That code is not right, or it has expired or been used. 4 tries left."
    assert answers[3] == "That code is not right, or it has expired or been used. 1 try left."
    assert answers[4] == otp.CODE_DEAD
    final = verify(db, code)
    assert final.error == otp.CODE_DEAD and not final.users


def test_fourth_request_inside_fifteen_minutes_refused(db, teacher, telegram_fake):
    with clock.frozen(T0):
        for _ in range(3):
            assert request(db).sent
            clock.advance(timedelta(minutes=4))
        fourth = request(db)
        assert (
            not fourth.sent
            and "Too many codes requested from here" in fourth.error
            and "3 minutes" in fourth.error
        )
        assert len(telegram_fake.messages) == 3
        clock.advance(timedelta(minutes=3, seconds=1))  # the first request left the window
        assert request(db).sent
    assert len(telegram_fake.messages) == 4


def test_only_the_newest_code_works(db, teacher, telegram_fake):
    request(db)
    first = last_code(telegram_fake)
    request(db)
    second = last_code(telegram_fake)
    if first != second:
        assert verify(db, first).error
    assert verify(db, second).users


@pytest.mark.parametrize("status", ["disabled", None])
def test_unknown_or_disabled_phone_gets_no_code_and_the_same_answer(db, telegram_fake, status):
    """Nobody can learn from the form whether a number is on an allowlist."""
    inst = f.institute(db)
    f.user(db, inst, Role.TEACHER, phone="9000000009", telegram_chat_id="555")
    if status:
        f.user(db, inst, Role.STUDENT, phone="9000000001", telegram_chat_id="777", status=status)
    known = request(db, phone="9000000009")
    assert len(telegram_fake.messages) == 1
    result = request(db, phone="9000000001")
    assert result == known == otp.REQUESTED
    assert len(telegram_fake.messages) == 1  # nothing went to the unknown or disabled number
    with db.scope(system=True) as s:
        assert len(s.exec(select(OtpCode)).all()) == 1
    # Trying codes reads the same too: a number with a code and one without.
    assert verify(db, "000000", phone="9000000001").error == wrong(4)
    assert verify(db, "000000", phone="9000000009").error == wrong(4)


def test_no_chat_linked_answers_alike_and_fallback_chat_is_used(db, telegram_fake, monkeypatch):
    inst = f.institute(db)
    f.user(db, inst, Role.STUDENT, phone="9000000002")
    assert request(db, phone="9000000002") == otp.REQUESTED
    assert telegram_fake.messages == []
    monkeypatch.setenv("AUTH_OTP_FALLBACK_CHAT_ID", "424242")
    from app.core.config import reset_settings_cache

    reset_settings_cache()
    assert request(db, phone="9000000002").sent
    assert telegram_fake.messages[-1]["chat_id"] == "424242"


def test_a_stranger_asking_for_codes_cannot_lock_the_owner_out(db, teacher, telegram_fake):
    with clock.frozen(T0):
        for _ in range(3):
            assert request(db, client="198.51.100.66").sent
        assert "Too many codes" in request(db, client="198.51.100.66").error
        # The owner, from their own address, still gets a code and signs in.
        assert request(db, client="203.0.113.7").sent
        assert [u.id for u in verify(db, last_code(telegram_fake)).users] == [teacher.id]


def test_one_address_cannot_spray_codes_at_many_numbers(db, telegram_fake):
    with clock.frozen(T0):
        answers = [request(db, phone=f"90000001{n:02d}", client="198.51.100.66") for n in range(11)]
    assert [a.sent for a in answers] == [True] * 10 + [False]
    assert "Too many codes requested from here" in answers[-1].error


def test_blocked_bot_stores_no_code(db, teacher, telegram_fake):
    telegram_fake.respond = lambda endpoint, params: (
        (
            403,
            {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            },
        )
        if endpoint == "sendMessage"
        else None
    )
    result = request(db)
    assert (result.sent, result.error) == (False, otp.SEND_FAILED)
    with db.scope(system=True) as s:
        assert s.exec(select(OtpCode)).all() == []


def test_audit_records_requests_and_failures_without_the_code(db, teacher, telegram_fake):
    request(db)
    code = last_code(telegram_fake)
    verify(db, "000000" if code != "000000" else "111111")
    verify(db, code)
    request(db, phone="9111111111")
    with db.scope(system=True) as s:
        entries = s.exec(select(AuditLog)).all()
    actions = [e.action for e in entries]
    for expected in ["auth.otp_requested", "auth.sign_in_refused", "auth.otp_refused"]:
        assert expected in actions
    blob = " ".join(f"{e.target_id} {e.detail}" for e in entries)
    assert code not in blob
    _ = audit


@pytest.mark.parametrize("typed", ["98765 43210", "098765 43210", "+91 98765-43210", "9876543210"])
def test_any_way_of_writing_the_number_signs_in_the_same_person(db, teacher, telegram_fake, typed):
    assert request(db, phone=typed).sent
    assert telegram_fake.messages[-1]["chat_id"] == "555001"
    outcome = verify(db, last_code(telegram_fake), phone=typed)
    assert [u.id for u in outcome.users] == [teacher.id]


def test_a_number_that_is_not_one_gets_a_message_with_an_example(db, teacher, telegram_fake):
    result = request(db, phone="12345")
    assert not result.sent and "Enter a phone number like +91 98765 43210" in result.error
    assert telegram_fake.messages == []


def test_a_number_signs_in_only_the_person_whose_institute_reads_it_as_theirs(db, telegram_fake):
    """Numbers match whole (E.164), in each person's own region: another institute cannot take
    over an account with a number that only looks alike (the same last digits)."""
    victim_inst, us_inst = f.institute(db), f.institute(db, currency="USD")
    victim = f.user(db, victim_inst, Role.ADMIN, phone="+91 98765 43210", telegram_chat_id="999")
    us_student = f.user(db, us_inst, Role.STUDENT, phone="(415) 555-0100", telegram_chat_id="666")
    assert us_student.phone == "+14155550100"
    # Typed the American way, without a country code: read in the US institute's region.
    assert request(db, phone="415 555 0100").sent
    assert telegram_fake.messages[-1]["chat_id"] == "666"
    outcome = verify(db, last_code(telegram_fake), phone="415 555 0100")
    assert [u.id for u in outcome.users] == [us_student.id]
    # The Indian number reaches only the Indian admin, however it is written.
    assert request(db, phone="098765 43210").sent
    assert telegram_fake.messages[-1]["chat_id"] == "999"
    outcome = verify(db, last_code(telegram_fake), phone="+91 98765 43210")
    assert [u.id for u in outcome.users] == [victim.id]


def test_a_student_without_a_chat_gets_the_code_in_a_guardians_chat(db, telegram_fake):
    from app.academics import service as academics

    inst = f.institute(db)
    admin = f.actor_for(f.user(db, inst, Role.ADMIN))
    student_user = f.user(db, inst, Role.STUDENT, phone="9123456780")
    with db.scope(admin) as s:
        student = academics.create_student(s, actor=admin, enrollment_no="S-1", name="Kid")
        student.user_id = student_user.id
        academics.add_guardian(
            s, actor=admin, student_id=student.id, name="Mum", telegram_chat_id="8080"
        )
    assert request(db, phone="9123456780").sent
    assert telegram_fake.messages[-1]["chat_id"] == "8080"
    assert [u.id for u in verify(db, last_code(telegram_fake), phone="9123456780").users] == [
        student_user.id
    ]


def _raw_rows(db, table: str) -> str:
    from sqlalchemy import text

    with db.scope(system=True) as s:
        return repr(s.execute(text(f"SELECT * FROM {table}")).all())


def test_code_and_rate_tables_keep_no_phone_chat_email_or_address(db, teacher, telegram_fake):
    """otp_codes and rate_events are global (no RLS): they hold keyed hashes only."""
    from app.access import service as access
    from app.identity import credentials

    with clock.frozen(T0):
        assert request(db).sent
        assert verify(db, "000000").error  # a wrong try is counted on the stored row
        with db.scope(system=True) as s:
            credentials.sign_in_with_password(
                s, identifier="tara@alpha.example", password="wrong-password", source="test"
            )
            credentials.sign_in_with_password(
                s, identifier="+91 98765 43210", password="wrong-password", source="test"
            )
            access.submit_access_request(
                s,
                institute_id=None,
                name="X",
                email=None,
                phone=None,
                role="student",
                message=None,
                honeypot="bot",
                client="203.0.113.77",
            )
    stored = _raw_rows(db, "otp_codes") + _raw_rows(db, "rate_events")
    assert _raw_rows(db, "otp_codes") != "[]" and _raw_rows(db, "rate_events") != "[]"
    for secret in ("43210", "555001", "tara@alpha", "alpha.example", "203.0.113.77"):
        assert secret not in stored
    # ...and still work: the limits count, the right code signs in.
    with clock.frozen(T0):
        assert request(db).sent
        assert verify(db, last_code(telegram_fake)).users
