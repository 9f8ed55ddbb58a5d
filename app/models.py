"""Every table, imported in one place so Alembic and tests see the whole schema."""

from app.core.audit import AuditLog
from app.core.models_base import metadata
from app.core.ratelimit import RateEvent
from app.identity.models import (
    AuthSession,
    ConsentAcceptance,
    Institute,
    OtpCode,
    PasswordLink,
    User,
)

# Tables whose rows belong to one institute; each has row-level security on PostgreSQL.
# (institutes itself is guarded by its id.)
TENANT_TABLES: dict[str, str] = {
    "institutes": "id",
    "users": "institute_id",
    "audit_log": "institute_id",
    "consent_acceptances": "institute_id",
}

# Global tables used only before or around sign-in, under the system context (no institute yet).
GLOBAL_TABLES = {"rate_events", "auth_sessions", "otp_codes", "password_links"}

__all__ = [
    "AuditLog",
    "AuthSession",
    "ConsentAcceptance",
    "Institute",
    "OtpCode",
    "PasswordLink",
    "RateEvent",
    "User",
    "metadata",
    "TENANT_TABLES",
    "GLOBAL_TABLES",
]
