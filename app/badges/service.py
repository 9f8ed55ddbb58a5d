"""Badges: the catalog, student requests and decisions, awards with automatic progression,
revocation that flags (never silently undoes) higher badges, the badge wall and the CSV export.

This module gathers the subdomain modules' names (`app.badges.awards`, `app.badges.catalog`,
`app.badges.common`, `app.badges.export`, `app.badges.requests`, `app.badges.wall`) so callers
keep one import."""

from __future__ import annotations

from app.badges.awards import (  # noqa: F401 - re-exported
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
from app.badges.catalog import (  # noqa: F401 - re-exported
    EDITABLE,
    _badge,
    _check_parent,
    _check_rule,
    catalog,
    create_badge,
    update_badge,
)
from app.badges.common import (  # noqa: F401 - re-exported
    PARENT_KIND,
    REDACTED,
    STAFF,
    new_credential_id,
)
from app.badges.export import (  # noqa: F401 - re-exported
    EXPORT_COLUMNS,
    RuleChoices,
    export_awards_csv,
    rule_choices,
)
from app.badges.requests import (  # noqa: F401 - re-exported
    RequestRow,
    _close_inbox_action,
    _request_rows,
    decide,
    has_student_record,
    list_requests,
    my_student,
    request_badge,
)
from app.badges.wall import (  # noqa: F401 - re-exported
    EarnedBadge,
    Progress,
    Wall,
    _status,
    list_awards,
    my_award,
    wall,
)
