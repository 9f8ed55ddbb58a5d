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
from app.notify.models import Announcement, BlockedChat, Notification, RuleConfig  # noqa: E402
from app.worker.models import JobRun, WorkerLease  # noqa: E402

# Tables whose rows belong to one institute; each has row-level security on PostgreSQL.
# (institutes itself is guarded by its id.)
TENANT_TABLES: dict[str, str] = {
    "institutes": "id",
    "users": "institute_id",
    "audit_log": "institute_id",
    "consent_acceptances": "institute_id",
    "notifications": "institute_id",
    "blocked_chats": "institute_id",
    "rule_configs": "institute_id",
    "announcements": "institute_id",
}

# Global tables used only before or around sign-in, under the system context (no institute yet).
GLOBAL_TABLES = {
    "rate_events",
    "auth_sessions",
    "otp_codes",
    "password_links",
    "job_runs",
    "worker_lease",
}

__all__ = [
    "Announcement",
    "BlockedChat",
    "JobRun",
    "Notification",
    "RuleConfig",
    "WorkerLease",
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
