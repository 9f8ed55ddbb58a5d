"""Export an institute's journal: `uv run python scripts/export_ledger.py --institute ID --format beancount [--out FILE]`.

Check it independently with Beancount: `uv run bean-check FILE`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--institute", type=int, required=True)
    parser.add_argument("--format", choices=["beancount"], default="beancount")
    parser.add_argument("--out", help="file to write (default: standard output)")
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url

    from app.core.config import reset_settings_cache
    from app.core.db import session_scope
    from app.fees.export import beancount_lines_internal
    from app.identity.models import Institute

    reset_settings_cache()
    with session_scope(institute_id=args.institute) as session:
        if session.get(Institute, args.institute) is None:
            print(f"No institute {args.institute}.", file=sys.stderr)
            return 1
        out = open(args.out, "w") if args.out else sys.stdout  # noqa: SIM115 - closed below
        try:
            for line in beancount_lines_internal(session, institute_id=args.institute):
                out.write(line + "\n")
        finally:
            if args.out:
                out.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
