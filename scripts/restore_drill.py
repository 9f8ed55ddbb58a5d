"""Restore drill: `uv run python scripts/restore_drill.py [BACKUP] [--dir DIR] [--admin-url URL]
[--backup-first] [--database-url URL]`.

Restores the given backup (default: the newest in BACKUP_DIR) into a scratch database — a
temporary SQLite file, or for a PostgreSQL dump a `cohort_drill_<pid>` database created and dropped
with the admin URL (--admin-url or RESTORE_DRILL_ADMIN_URL) — and checks the file against its
manifest, migrations at head, row counts per table, the ledger per institute and (PostgreSQL)
row-level security on every tenant table. Prints a report; exits 1 on any difference, 2 when
the drill could not run at all.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("backup", nargs="?", help="a backup file or its manifest (default: newest)")
    parser.add_argument("--dir", help="the backup directory (default: BACKUP_DIR)")
    parser.add_argument("--admin-url", help="PostgreSQL URL that may CREATE/DROP DATABASE")
    parser.add_argument(
        "--backup-first", action="store_true", help="take a backup of the database first"
    )
    parser.add_argument("--database-url", help="with --backup-first: defaults to DATABASE_URL")
    args = parser.parse_args(argv)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url

    from app.core.config import reset_settings_cache
    from app.core.errors import DomainError
    from app.system import drill
    from app.system.backup import create_backup

    reset_settings_cache()
    try:
        path = args.backup
        if args.backup_first:
            taken = create_backup(directory=args.dir)
            print(f"Backed up to {taken.path} ({taken.total_rows} rows).")
            path = path or taken.path
        report = drill.run_drill(path, directory=args.dir, admin_url=args.admin_url)
    except DomainError as exc:
        print(f"Restore drill could not run: {exc.message}", file=sys.stderr)
        return 2
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
