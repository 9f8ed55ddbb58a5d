"""Institutes and the user allowlist: who may use Cohort, in which institute, with which role.

This module gathers the subdomain modules' names (`app.identity.common`,
`app.identity.institutes`, `app.identity.users`) so callers keep one import."""

from __future__ import annotations

from app.identity.common import (
    NOT_AUTHORIZED,
    SUBSCRIPTION_EXPIRED,
)
from app.identity.institutes import (
    InstituteSummary,
    _clean_institute_fields,
    create_institute,
    get_institute,
    list_institutes,
    update_institute,
)
from app.identity.users import (
    SessionUser,
    _check_teacher_cap,
    _check_unique_contact,
    _manageable,
    _user_in_scope,
    change_role,
    count_users,
    dev_sign_in_candidates,
    end_user_sessions,
    invite_user,
    list_users,
    load_session_user,
    mark_signed_in,
    record_denied_sign_in,
    session_user_of,
    set_telegram_chat,
    set_user_status,
    update_my_account,
    user_counts,
    users_for_email,
)

__all__ = [
    "InstituteSummary",
    "NOT_AUTHORIZED",
    "SUBSCRIPTION_EXPIRED",
    "SessionUser",
    "_check_teacher_cap",
    "_check_unique_contact",
    "_clean_institute_fields",
    "_manageable",
    "_user_in_scope",
    "change_role",
    "count_users",
    "create_institute",
    "dev_sign_in_candidates",
    "end_user_sessions",
    "get_institute",
    "invite_user",
    "list_institutes",
    "list_users",
    "load_session_user",
    "mark_signed_in",
    "record_denied_sign_in",
    "session_user_of",
    "set_telegram_chat",
    "set_user_status",
    "update_institute",
    "update_my_account",
    "user_counts",
    "users_for_email",
]
