"""`python -m app.healthcheck`: ✓/✗ per check; exit 0 when healthy, 1 otherwise."""

from __future__ import annotations

import sys

from app.system.health import run_checks


def main() -> int:
    checks = run_checks()
    for check in checks:
        print(check.line())
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
