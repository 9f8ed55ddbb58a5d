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
    create_institute,
    enter_public_institute_internal,
    get_institute,
    list_institutes,
    phone_region_internal,
    phone_regions_internal,
    update_institute,
)
from app.identity.users import (
    SessionUser,
    change_role,
    check_manageable,
    count_users,
    dev_sign_in_candidates,
    end_user_sessions,
    invite_user,
    list_users,
    load_session_user,
    mark_signed_in,
    phone_sign_in_numbers,
    record_denied_sign_in,
    session_user_of,
    set_telegram_chat,
    set_user_status,
    update_my_account,
    user_counts,
    users_for_email,
    users_for_phone,
)

__all__ = [
    "enter_public_institute_internal",
    "InstituteSummary",
    "NOT_AUTHORIZED",
    "SUBSCRIPTION_EXPIRED",
    "SessionUser",
    "check_manageable",
    "change_role",
    "count_users",
    "create_institute",
    "dev_sign_in_candidates",
    "end_user_sessions",
    "get_institute",
    "invite_user",
    "list_institutes",
    "list_users",
    "phone_region_internal",
    "phone_regions_internal",
    "load_session_user",
    "mark_signed_in",
    "phone_sign_in_numbers",
    "record_denied_sign_in",
    "session_user_of",
    "set_telegram_chat",
    "set_user_status",
    "update_institute",
    "update_my_account",
    "user_counts",
    "users_for_email",
    "users_for_phone",
]
