"""Every table, imported in one place so Alembic and tests see the whole schema."""

from app.academics.models import (  # noqa: E402
    Batch,
    BatchMembership,
    BatchSchedule,
    Enrollment,
    Guardian,
    Student,
    Subject,
    TeacherProfile,
    Topic,
)
from app.attendance.models import AttendanceLink, AttendanceRecord, ClassSession, TopicProgress  # noqa: E402
from app.core.audit import AuditLog
from app.core.models_base import metadata
from app.core.ratelimit import RateEvent
from app.fees.models import (  # noqa: E402
    Account,
    FeeItem,
    FeeStructure,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalLine,
    Payment,
    PaymentAllocation,
    ReceiptCounter,
)
from app.identity.models import (
    AuthSession,
    ConsentAcceptance,
    Institute,
    OtpCode,
    PasswordLink,
    User,
)
from app.inbox.models import PendingAction  # noqa: E402
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
    "students": "institute_id",
    "guardians": "institute_id",
    "teacher_profiles": "institute_id",
    "subjects": "institute_id",
    "topics": "institute_id",
    "batches": "institute_id",
    "batch_schedules": "institute_id",
    "batch_memberships": "institute_id",
    "enrollments": "institute_id",
    "class_sessions": "institute_id",
    "attendance_records": "institute_id",
    "topic_progress": "institute_id",
    "attendance_links": "institute_id",
    "pending_actions": "institute_id",
    "accounts": "institute_id",
    "fee_structures": "institute_id",
    "fee_items": "institute_id",
    "invoices": "institute_id",
    "invoice_lines": "institute_id",
    "payments": "institute_id",
    "payment_allocations": "institute_id",
    "receipt_counters": "institute_id",
    "journal_entries": "institute_id",
    "journal_lines": "institute_id",
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
    "Account",
    "FeeItem",
    "FeeStructure",
    "Invoice",
    "InvoiceLine",
    "JournalEntry",
    "JournalLine",
    "Payment",
    "PaymentAllocation",
    "ReceiptCounter",
    "AttendanceLink",
    "AttendanceRecord",
    "Batch",
    "BatchMembership",
    "BatchSchedule",
    "ClassSession",
    "Enrollment",
    "Guardian",
    "PendingAction",
    "Student",
    "Subject",
    "TeacherProfile",
    "Topic",
    "TopicProgress",
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
