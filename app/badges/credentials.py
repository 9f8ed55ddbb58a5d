"""Open Badges 3.0 credentials: each institute's Ed25519 key, the OpenBadgeCredential of an
award signed as a VC-JWT, the public JWKS, and verification by credential id.

Keys: generated per institute on first use; the private key is stored as a PKCS#8 PEM encrypted
with Fernet under BADGE_KEY_ENCRYPTION_KEY (or a key derived from SECRET_KEY when that is unset).
JOSE is done with joserfc.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.fernet import Fernet
from joserfc import jws
from joserfc.jwa import EdDSAAlgorithm
from joserfc.jwk import OKPKey
from sqlmodel import Session, select

from app.academics.models import Student
from app.badges import service
from app.badges.models import Badge, BadgeAward, CredentialStatus, InstituteKey
from app.core import db, weburl
from app.core.config import get_settings
from app.core.tenancy import Actor
from app.identity.models import Institute

ALG = "EdDSA"
# Credential ids are URL-safe random tokens (secrets.token_urlsafe): anything else is unknown.
CREDENTIAL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
TYPES = ["VerifiableCredential", "OpenBadgeCredential"]


class _VcJwtEdDSA(EdDSAAlgorithm):
    # joserfc flags "EdDSA" as superseded by RFC 9864's "Ed25519"; VC-JWT verifiers and the
    # OB 3.0 examples still expect "EdDSA", so the token keeps it on purpose, without the warning.
    security_warning = None


class _VcJwtRegistry(jws.JWSRegistry):
    """Only EdDSA (Ed25519), in a registry of its own so joserfc's default one is untouched."""

    algorithms = {ALG: _VcJwtEdDSA()}
    recommended = [ALG]


_REGISTRY = _VcJwtRegistry(algorithms=[ALG])


def _fernet() -> Fernet:
    settings = get_settings()
    material = settings.BADGE_KEY_ENCRYPTION_KEY or f"cohort-badge-keys:{settings.SECRET_KEY}"
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest()))


def ensure_key_internal(session: Session, *, institute_id: int) -> InstituteKey:
    """The institute's signing key, generated the first time it is needed."""
    existing = session.exec(
        select(InstituteKey).where(InstituteKey.institute_id == institute_id)
    ).first()
    if existing is not None:
        return existing
    key = OKPKey.generate_key("Ed25519", private=True)
    public = key.as_dict(private=False)
    kid = f"{institute_id}-{key.thumbprint()[:32]}"
    public.update({"kid": kid, "alg": ALG, "use": "sig"})
    row = InstituteKey(
        institute_id=institute_id,
        kid=kid,
        alg=ALG,
        public_jwk=public,
        private_key_encrypted=_fernet().encrypt(key.as_pem(private=True)).decode(),
    )
    if not db.add_unless_duplicate(session, row):  # another transaction created it first
        return session.exec(
            select(InstituteKey).where(InstituteKey.institute_id == institute_id)
        ).one()
    return row


def _private_key(row: InstituteKey) -> OKPKey:
    return OKPKey.import_key(_fernet().decrypt(row.private_key_encrypted.encode()))


def jwks_internal(session: Session, *, institute_id: int) -> dict:
    """The institute's public keys as a JWKS (what a verifier needs)."""
    return {"keys": [dict(ensure_key_internal(session, institute_id=institute_id).public_jwk)]}


def _base_url() -> str:
    return weburl.base_url()


def verification_url(credential_id: str) -> str:
    return f"{_base_url()}/?credential={credential_id}"


def status_url(credential_id: str) -> str:
    """Where a credential's status is published (credentialStatus.id): its verify page."""
    return f"{verification_url(credential_id)}#status"


def status_document(result: Verification, credential_id: str) -> dict | None:
    """The machine-readable status the verify page publishes (None for an unknown id)."""
    if result.status == "unknown":
        return None
    document = {"id": verification_url(credential_id), "status": result.status}
    if result.revoked_at is not None:
        document["revokedAt"] = _iso(result.revoked_at)
    return document


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# What credentialStatus names: the public verify page, which answers valid or revoked in words
# and in a JSON block ({"id", "status", "revokedAt"}) a verifier can read.
STATUS_TYPE = "CohortVerificationPage"


def _identifier(award: BadgeAward, student: Student) -> dict:
    """The recipient as a salted hash: of the email, else of the enrollment number, which is the
    institute's student-record id (OB 3.0's IdentifierTypeEnum calls that sisSourcedId)."""
    salt = hashlib.sha256(f"{award.credential_id}:salt".encode()).hexdigest()[:16]
    if student.email:
        kind, value = "emailAddress", student.email.strip().lower()
    else:
        kind, value = "sisSourcedId", student.enrollment_no
    digest = hashlib.sha256((value + salt).encode()).hexdigest()
    return {
        "type": "IdentityObject",
        "identityHash": f"sha256${digest}",
        "identityType": kind,
        "hashed": True,
        "salt": salt,
    }


def build_credential(session: Session, *, award: BadgeAward) -> dict:
    """The unsigned OpenBadgeCredential of an award."""
    badge = session.get(Badge, award.badge_id)
    student = session.get(Student, award.student_id)
    institute = session.get(Institute, award.institute_id)
    issuer_id = f"{_base_url()}/?issuer={institute.id}"
    return {
        "@context": CONTEXT,
        "id": verification_url(award.credential_id),
        "type": TYPES,
        "issuer": {"id": issuer_id, "type": ["Profile"], "name": institute.name},
        "validFrom": _iso(award.awarded_at),
        "name": badge.name,
        "credentialStatus": {
            "id": status_url(award.credential_id),
            "type": STATUS_TYPE,
        },
        "credentialSubject": {
            "id": f"urn:uuid:{_uuid_of(award.credential_id)}",
            "type": ["AchievementSubject"],
            "identifier": [_identifier(award, student)],
            "achievement": {
                "id": f"{issuer_id}&achievement={badge.id}",
                "type": ["Achievement"],
                "achievementType": "Badge",
                "name": badge.name,
                "description": badge.description or badge.name,
                "criteria": {"narrative": badge.criteria or badge.description or badge.name},
            },
        },
    }


def _uuid_of(credential_id: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"cohort-subject:{credential_id}"))


def sign(session: Session, *, award: BadgeAward) -> str:
    """The credential as a VC-JWT (compact JWS, EdDSA) signed with the institute's key."""
    key_row = ensure_key_internal(session, institute_id=award.institute_id)
    credential = build_credential(session, award=award)
    payload = dict(credential)
    payload.update(
        {
            "iss": credential["issuer"]["id"],
            "jti": credential["id"],
            "sub": credential["credentialSubject"]["id"],
            "nbf": int(
                datetime.fromisoformat(credential["validFrom"].replace("Z", "+00:00")).timestamp()
            ),
            "iat": int(datetime.now(UTC).timestamp()),
        }
    )
    header = {"alg": ALG, "typ": "JWT", "kid": key_row.kid}
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return jws.serialize_compact(header, body, _private_key(key_row), registry=_REGISTRY)


def credential_for(session: Session, *, actor: Actor, award_id: int) -> tuple[dict, str]:
    """The credential (JSON) and its signed VC-JWT, for an award the actor may see."""
    award = service.my_award(session, actor=actor, award_id=award_id)
    return build_credential(session, award=award), sign(session, award=award)


@dataclass(frozen=True)
class Verification:
    status: str  # a CredentialStatus: valid, revoked or unknown
    badge: str | None = None
    issuer: str | None = None
    recipient: str | None = None
    awarded_at: datetime | None = None
    revoked_at: datetime | None = None
    jwks: dict | None = None
    jwks_kid: str | None = None


def verify(session: Session, *, credential_id: str) -> Verification:
    """Public check of a credential id: valid, revoked or unknown (no sign-in; the id is the
    capability). Call it in a system session: the institute is not known in advance."""
    credential_id = (credential_id or "").strip()
    if not CREDENTIAL_ID.fullmatch(credential_id):
        return Verification(
            status=CredentialStatus.UNKNOWN.value
        )  # malformed: never reaches the database
    award = session.exec(
        select(BadgeAward).where(BadgeAward.credential_id == credential_id)
    ).first()
    # Compare in constant time too, although the lookup is by unique index.
    if award is None or not secrets.compare_digest(award.credential_id, credential_id):
        return Verification(status="unknown")
    badge = session.get(Badge, award.badge_id)
    institute = session.get(Institute, award.institute_id)
    student = session.get(Student, award.student_id)
    keys = jwks_internal(session, institute_id=award.institute_id)
    return Verification(
        status=(
            CredentialStatus.REVOKED if award.revoked_at is not None else CredentialStatus.VALID
        ).value,
        badge=badge.name,
        issuer=institute.name,
        recipient=student.name,
        awarded_at=award.awarded_at,
        revoked_at=award.revoked_at,
        jwks=keys,
        jwks_kid=keys["keys"][0]["kid"],
    )
