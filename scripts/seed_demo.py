"""Build the demo data: `uv run python scripts/seed_demo.py --size small|medium|large [--seed N] [--database-url URL]`.

The database is migrated to head first. Refuses to seed a database that already has users.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=["small", "medium", "large"], default="small")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="defaults to DATABASE_URL / the SQLite file")
    args = parser.parse_args(argv)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url

    from app.core.config import get_settings, reset_settings_cache
    from app.core.db import engine_for, session_scope
    from app.core.migrate import upgrade_to_head
    from app.demo.seed import seed_demo
    from app.identity import service as identity

    reset_settings_cache()
    url = get_settings().database_url
    upgrade_to_head(url)
    engine = engine_for(url)
    with session_scope(system=True, engine=engine) as session:
        if identity.count_users(session):
            print(
                "The database already has users; seed an empty database instead.", file=sys.stderr
            )
            return 1
    started = time.perf_counter()
    result = seed_demo(size=args.size, seed=args.seed, engine=engine)
    print(
        f"Seeded {args.size}: {len(result.institute_ids)} institutes in "
        f"{time.perf_counter() - started:.1f}s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
