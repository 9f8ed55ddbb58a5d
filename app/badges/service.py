"""Badges: the catalog, student requests and decisions, awards with automatic progression,
revocation that flags (never silently undoes) higher badges, the badge wall and the CSV export.

This module gathers the subdomain modules' names (`app.badges.awards`, `app.badges.catalog`,
`app.badges.common`, `app.badges.export`, `app.badges.requests`, `app.badges.wall`) so callers
keep one import."""

from __future__ import annotations

from app.badges.awards import (
    after_awards,
    award,
    clear_review,
    grant_internal,
    revoke,
)
from app.badges.catalog import (
    EDITABLE,
    badge_internal,
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
    "after_awards",
    "badge_internal",
    "grant_internal",
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
