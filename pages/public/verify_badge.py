"""Public badge verification (no sign-in): `?credential=<id>` says valid, revoked or unknown."""

import json

import streamlit as st

from app.badges import credentials
from app.badges.models import CredentialStatus
from app.core.db import session_scope
from app.ui.safe import esc

credential_id = st.query_params.get("credential", "")
with session_scope(system=True) as session:
    result = credentials.verify(session, credential_id=credential_id)
st.title("Badge verification")
if result.status == CredentialStatus.VALID:
    st.success(
        f"Valid: {esc(result.badge)}, issued by {esc(result.issuer)} to {esc(result.recipient)}."
    )
    st.caption(f"Awarded on {result.awarded_at:%d %b %Y}.")
elif result.status == CredentialStatus.REVOKED:
    st.error(
        f"Revoked: {esc(result.badge)}, issued by {esc(result.issuer)}, was revoked on "
        f"{result.revoked_at:%d %b %Y}. It is no longer valid."
    )
else:
    st.warning("Unknown: no badge credential has this id. Check the link you were given.")
status = credentials.status_document(result, credential_id.strip())
if status is not None:
    st.subheader("Status", anchor="status")
    st.caption("What this credential's credentialStatus points at, for verifying software.")
    st.code(json.dumps(status, indent=2), language="json")
st.subheader("How to verify the credential file yourself")
st.markdown(
    "The credential is an Open Badges 3.0 `OpenBadgeCredential` signed as a VC-JWT "
    "(algorithm EdDSA, Ed25519). To check a `.jwt` file:\n"
    "1. Read the `kid` in the JWT header.\n"
    "2. Take the key with that `kid` from the issuer's public keys (JWKS) below.\n"
    "3. Verify the signature with any JOSE library (for example PyJWT or jose), then check that "
    "the credential `id` is this page's address and that this page says **valid**."
)
if result.jwks:
    st.code(json.dumps(result.jwks, indent=2), language="json")
