"""Counselor CRM: inquiries, their follow-ups, duplicates and merging, and conversion to a student.

Admins and counselors of an institute work on its inquiries (counselors see the whole pipeline,
so a colleague's lead can be picked up); nobody else may. Every change is audited, re-scores the
inquiry (`app.crm.leadscore`) and leaves nothing half-written: services only flush, the caller's
transaction commits, and conversion runs inside a savepoint of its own.

Status machine: new → contacted → follow_up_scheduled → enrolled | lost. Enrolled is reached
only by converting (student, guardian, batch place and first invoice in one step); lost needs a
reason and can be reopened (back to contacted). An inquiry has at most one pending follow-up —
"the next contact" — mirrored in `next_follow_up_date`.

This module gathers the subdomain modules' names (`app.crm.common`, `app.crm.conversion`,
`app.crm.duplicates`, `app.crm.followups`, `app.crm.inquiries`) so callers keep one import."""

from __future__ import annotations

from app.crm.common import (
    CRM_ROLES,
    LIST_LIMIT,
    LOST_REASONS,
    MAX_TAGS,
    TRANSITIONS,
    auto_assign,
    conversion_choices,
    counselors,
    recompute_scores,
    referrer_choices,
    set_auto_assign,
    subjects,
)
from app.crm.conversion import (
    Conversion,
    convert,
    suggest_enrollment_no,
)
from app.crm.duplicates import (
    Duplicate,
    duplicate_pairs,
    find_duplicates,
    merge_inquiries,
)
from app.crm.followups import (
    FollowUpRow,
    due_follow_ups,
    log_follow_up,
    schedule_follow_up,
)
from app.crm.inquiries import (
    EDITABLE,
    SORTS,
    Column,
    InquiryDetail,
    InquiryRow,
    change_status,
    create_inquiry,
    get_inquiry,
    list_inquiries,
    pipeline,
    update_inquiry,
)

__all__ = [
    "auto_assign",
    "set_auto_assign",
    "CRM_ROLES",
    "Column",
    "Conversion",
    "Duplicate",
    "EDITABLE",
    "FollowUpRow",
    "InquiryDetail",
    "InquiryRow",
    "LIST_LIMIT",
    "LOST_REASONS",
    "MAX_TAGS",
    "SORTS",
    "TRANSITIONS",
    "change_status",
    "conversion_choices",
    "convert",
    "counselors",
    "create_inquiry",
    "due_follow_ups",
    "duplicate_pairs",
    "find_duplicates",
    "get_inquiry",
    "list_inquiries",
    "log_follow_up",
    "merge_inquiries",
    "pipeline",
    "recompute_scores",
    "referrer_choices",
    "schedule_follow_up",
    "subjects",
    "suggest_enrollment_no",
    "update_inquiry",
]
