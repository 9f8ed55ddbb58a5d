"""Every table, imported in one place so Alembic and tests see the whole schema."""

from app.core.audit import AuditLog
from app.core.models_base import metadata
from app.identity.models import Institute, User

# Tables whose rows belong to one institute; each has row-level security on PostgreSQL.
# (institutes itself is guarded by its id.)
TENANT_TABLES: dict[str, str] = {
    "institutes": "id",
    "users": "institute_id",
    "audit_log": "institute_id",
}

__all__ = ["AuditLog", "Institute", "User", "metadata", "TENANT_TABLES"]
