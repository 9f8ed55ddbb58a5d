"""Open Badges 3.0 credentials: verified by an independent JOSE library (PyJWT); tampering
fails; required fields present; revocation shows on verification."""

import base64
import json

import jwt
import pytest
from sqlmodel import select

from app.badges import credentials, service
from app.badges.models import BadgeAward, InstituteKey
from tests.badges.world import build, catalog


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _issue(db, w):
    """Award badge C to the first student; (award, credential, token, keys) as they see it."""
    with db.scope(w.admin_actor) as s:
        award = service.award(
            s, actor=w.admin_actor, student_id=w.students[0].id, badge_id=w.b["C"]
        )[0]
    a = w.student_actor(0)
    with db.scope(a) as s:
        credential, token = credentials.credential_for(s, actor=a, award_id=award.id)
    with db.scope(system=True) as s:
        keys = credentials.jwks_internal(s, institute_id=w.institute.id)
    return award, credential, token, keys


@pytest.fixture
def issued(db):
    w = catalog(db, build(db, students=1))
    return (w, *_issue(db, w))


def _decode(token, keys):
    header = jwt.get_unverified_header(token)
    jwk = next(k for k in keys["keys"] if k["kid"] == header["kid"])
    return jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["EdDSA"])


def test_jwt_verifies_with_the_published_key_and_has_ob3_fields(issued):
    w, award, credential, token, keys = issued
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    assert "d" not in keys["keys"][0]  # no private part published
    payload = _decode(token, keys)
    assert payload["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert payload["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert payload["id"].endswith(f"?credential={award.credential_id}")
    assert payload["issuer"]["type"] == ["Profile"] and payload["issuer"]["name"]
    assert payload["iss"] == payload["issuer"]["id"] and payload["jti"] == payload["id"]
    assert payload["validFrom"].endswith("Z") and payload["name"] == "Survey project"
    subject = payload["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"] and (
        subject.get("id") or subject["identifier"]
    )
    assert subject["identifier"][0]["hashed"] is True
    assert "pupil0" not in json.dumps(payload)  # the email appears only as a salted hash
    achievement = subject["achievement"]
    assert achievement["type"] == ["Achievement"] and achievement["id"]
    assert achievement["name"] == "Survey project" and achievement["description"]
    assert achievement["criteria"]["narrative"] == "Run a survey and present it."
    assert {k: v for k, v in payload.items() if k in credential} == credential


@pytest.mark.parametrize("claim", ["name", "validFrom", "issuer", "credentialSubject", "iss", "id"])
def test_tampering_with_any_claim_fails(issued, claim):
    _, _, _, token, keys = issued
    head, body, sig = token.split(".")
    payload = json.loads(_unb64(body))
    payload[claim] = {"tampered": True} if isinstance(payload[claim], dict) else "tampered"
    forged = ".".join([head, _b64(json.dumps(payload).encode()), sig])
    with pytest.raises(jwt.InvalidSignatureError):
        _decode(forged, keys)


def test_private_key_is_stored_encrypted(issued, db):
    w = issued[0]
    with db.scope(system=True) as s:
        row = s.exec(select(InstituteKey).where(InstituteKey.institute_id == w.institute.id)).one()
    assert "PRIVATE KEY" not in row.private_key_encrypted
    assert row.public_jwk["kty"] == "OKP" and row.public_jwk["crv"] == "Ed25519"


def test_verify_says_valid_revoked_or_unknown(issued, db):
    w, award, *_ = issued
    with db.scope(system=True) as s:
        result = credentials.verify(s, credential_id=award.credential_id)
        assert result.status == "valid" and result.badge == "Survey project"
        assert credentials.verify(s, credential_id="nope").status == "unknown"
    with db.scope(w.admin_actor) as s:
        service.revoke(s, actor=w.admin_actor, award_id=award.id, reason="Issued in error")
    with db.scope(system=True) as s:
        assert credentials.verify(s, credential_id=award.credential_id).status == "revoked"
        assert len(s.exec(select(BadgeAward)).all()) == 1


def test_another_student_cannot_download_it(issued, db):
    w, award, *_ = issued
    from app.core.errors import NotFound
    from app.core.roles import Role
    from tests import factories as f

    stranger = f.actor_for(f.user(db, w.institute, Role.STUDENT))
    with db.scope(stranger) as s, pytest.raises(NotFound):
        credentials.credential_for(s, actor=stranger, award_id=award.id)


def _ob3_schema():
    from pathlib import Path

    return json.loads(
        (Path(__file__).parent / "schema" / "ob3_achievementcredential.json").read_text()
    )


@pytest.mark.parametrize("with_email", [True, False])
def test_credentials_validate_against_the_ob3_schema_for_every_recipient(db, with_email):
    """Every recipient kind: with an email (hashed emailAddress) and without (the enrollment
    number as the institute's student-record id), in the JSON and in the signed JWT."""
    import jsonschema

    from app.academics.models import Student

    w = catalog(db, build(db, students=1))
    if not with_email:
        with db.scope(system=True) as s:
            s.get(Student, w.students[0].id).email = None
    award, credential, token, keys = _issue(db, w)
    validator = jsonschema.Draft201909Validator(_ob3_schema())
    for document in (credential, _decode(token, keys)):
        assert not [e.message for e in validator.iter_errors(document)]
    [identity] = credential["credentialSubject"]["identifier"]
    assert identity["identityType"] == ("emailAddress" if with_email else "sisSourcedId")
    status = credential["credentialStatus"]
    assert status["id"].startswith(credential["id"]) and status["type"]


def test_the_status_a_credential_names_says_revoked_once_revoked(issued, db):
    """credentialStatus points at the public verify page, whose answer (and machine-readable
    status block) follows revocation."""
    from tests.pages.apptest import app_as

    w, award, credential, token, keys = issued
    assert _decode(token, keys)["credentialStatus"] == credential["credentialStatus"]

    def status_page():
        at = app_as(None)
        at.query_params["credential"] = award.credential_id
        at.run()
        assert not at.exception
        block = json.loads(next(c.value for c in at.code if '"status"' in c.value))
        return at, block

    at, block = status_page()
    assert block == {"id": credential["id"], "status": "valid"}
    with db.scope(w.admin_actor) as s:
        service.revoke(s, actor=w.admin_actor, award_id=award.id, reason="Issued in error")
    at, block = status_page()
    assert block["id"] == credential["id"] and block["status"] == "revoked"
    assert block["revokedAt"].endswith("Z")
    assert any("Revoked" in e.value for e in at.error)
