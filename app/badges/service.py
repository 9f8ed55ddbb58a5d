"""Badges: the catalog, student requests and decisions, awards with automatic progression,
revocation that flags (never silently undoes) higher badges, the badge wall and the CSV export.

This module gathers the subdomain modules' names (`app.badges.awards`, `app.badges.catalog`,
`app.badges.common`, `app.badges.export`, `app.badges.requests`, `app.badges.wall`) so callers
keep one import."""

from __future__ import annotations

from app.badges.awards import (
    _after_awards,
    _and,
    _check_teaches,
    _child_requirements,
    _grant,
    _insert_awards,
    _notify_student,
    _student,
    _student_message,
    _teacher_student_ids,
    award,
    clear_review,
    revoke,
)
from app.badges.catalog import (
    EDITABLE,
    _badge,
    _check_parent,
    _check_rule,
    catalog,
    create_badge,
    update_badge,
)
from app.badges.common import (
    PARENT_KIND,
    REDACTED,
    STAFF,
    new_credential_id,
)
from app.badges.export import (
    EXPORT_COLUMNS,
    RuleChoices,
    export_awards_csv,
    rule_choices,
)
from app.badges.requests import (
    RequestRow,
    _close_inbox_action,
    _request_rows,
    decide,
    has_student_record,
    list_requests,
    my_student,
    request_badge,
)
from app.badges.wall import (
    EarnedBadge,
    Progress,
    Wall,
    _status,
    list_awards,
    my_award,
    wall,
)

__all__ = [
    "EDITABLE",
    "EXPORT_COLUMNS",
    "EarnedBadge",
    "PARENT_KIND",
    "Progress",
    "REDACTED",
    "RequestRow",
    "RuleChoices",
    "STAFF",
    "Wall",
    "_after_awards",
    "_and",
    "_badge",
    "_check_parent",
    "_check_rule",
    "_check_teaches",
    "_child_requirements",
    "_close_inbox_action",
    "_grant",
    "_insert_awards",
    "_notify_student",
    "_request_rows",
    "_status",
    "_student",
    "_student_message",
    "_teacher_student_ids",
    "award",
    "catalog",
    "clear_review",
    "create_badge",
    "decide",
    "export_awards_csv",
    "has_student_record",
    "list_awards",
    "list_requests",
    "my_award",
    "my_student",
    "new_credential_id",
    "request_badge",
    "revoke",
    "rule_choices",
    "update_badge",
    "wall",
]
