"""Make an email an active super admin (institutes, subscriptions, backups, cross-institute audit).

    uv run python scripts/create_super_admin.py EMAIL [--database-url URL]

Without --database-url the configured DATABASE_URL is used. The database must be migrated (the
app does that on start). Audited as `user.super_admin_created` with source `script`. Refuses an
email that belongs to a user of an institute; says so when the email already is a super admin.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.db import engine_for, session_scope  # noqa: E402
from app.core.errors import ValidationError  # noqa: E402
from app.core.validation import normalize_email  # noqa: E402
from app.identity.bootstrap import SuperAdminRefused, create_super_admin  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("email")
    parser.add_argument("--database-url", help="default: the configured DATABASE_URL")
    args = parser.parse_args(argv)
    try:
        email = normalize_email(args.email)
    except ValidationError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    if email is None:
        print("Give the email address of the new super admin.", file=sys.stderr)
        return 2
    if args.database_url:
        from app.core.config import normalize_database_url

        engine = engine_for(normalize_database_url(args.database_url))
    else:
        engine = None
    try:
        with session_scope(system=True, engine=engine) as session:
            user = create_super_admin(session, email=email, source="script")
    except SuperAdminRefused as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if user is None:
        print(f"{email} already is a super admin; nothing changed.")
    else:
        print(f"{email} is now a super admin (user {user.id}); they sign in with that email.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
