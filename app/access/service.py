"""Access requests and password change requests: asked for in public or on My account, decided by
the institute's admins, every step audited.

Access requests come from people without an account, so the public form runs before anyone is
known: the service sets the chosen institute's tenant scope itself before it writes, rate-limits
by client address, and a filled honeypot field gets a polite answer and no row. The requester
keeps a status link (`?access_request=<token>`; only the token's hash is stored).
"""

from __future__ import annotations

from app.access.common import (
    DUPLICATE,
    MAX_MESSAGE,
    MAX_REASON,
    RATE_WINDOW,
    REQUESTABLE_ROLES,
    TOO_MANY,
    client_address,
)
from app.access.decisions import (
    Approval,
    approve_access_request,
    list_access_requests,
    pending_counts,
    reject_access_request,
)
from app.access.passwords import (
    PasswordRequestRow,
    approve_password_request,
    list_password_requests,
    must_set_new_password,
    my_password_request,
    reject_password_request,
    request_password_change,
    set_new_password,
)
from app.access.public import (
    PublicInstitute,
    RequestStatusView,
    SubmitResult,
    access_request_status,
    public_institutes,
    status_link_url,
    submit_access_request,
)

__all__ = [
    "Approval",
    "DUPLICATE",
    "MAX_MESSAGE",
    "MAX_REASON",
    "PasswordRequestRow",
    "PublicInstitute",
    "RATE_WINDOW",
    "REQUESTABLE_ROLES",
    "RequestStatusView",
    "SubmitResult",
    "TOO_MANY",
    "access_request_status",
    "approve_access_request",
    "approve_password_request",
    "client_address",
    "list_access_requests",
    "list_password_requests",
    "must_set_new_password",
    "my_password_request",
    "pending_counts",
    "public_institutes",
    "reject_access_request",
    "reject_password_request",
    "request_password_change",
    "set_new_password",
    "status_link_url",
    "submit_access_request",
]
