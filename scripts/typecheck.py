"""Type-check app/ and scripts/ with mypy against a committed baseline that may only shrink.

    uv run python scripts/typecheck.py            # CI: fails when any file has more errors than
                                                  # mypy-baseline.json allows
    uv run python scripts/typecheck.py --update   # after fixing errors: lower the baseline

mypy's settings are in pyproject.toml; the modules listed as strict there are not in the
baseline at all, so one error in them fails. A file's allowance never grows: --update only
lowers counts and drops files that reached zero.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "mypy-baseline.json"
ERROR = re.compile(r"^(?P<file>[^:\s]+\.py):\d+: error: ")


def current_errors() -> tuple[Counter[str], list[str]]:
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "app", "scripts", "--no-pretty", "--show-error-codes"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if run.returncode not in (0, 1):  # 2: mypy itself could not run
        raise SystemExit(f"mypy did not run:\n{run.stdout}{run.stderr}")
    matches = [(line, ERROR.match(line)) for line in run.stdout.splitlines()]
    found = [(line, m["file"]) for line, m in matches if m is not None]
    return Counter(file for _, file in found), [line for line, _ in found]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--update", action="store_true", help="lower the baseline to today's counts"
    )
    args = parser.parse_args(argv)
    counts, lines = current_errors()
    allowed: dict[str, int] = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    worse = {f: (n, allowed.get(f, 0)) for f, n in counts.items() if n > allowed.get(f, 0)}
    if args.update:
        lowered = {f: min(n, counts.get(f, 0)) for f, n in allowed.items() if counts.get(f, 0)}
        BASELINE.write_text(json.dumps(dict(sorted(lowered.items())), indent=1) + "\n")
        print(f"baseline: {sum(lowered.values())} errors in {len(lowered)} files")
    if worse:
        for file, (n, limit) in sorted(worse.items()):
            print(f"{file}: {n} type errors, the baseline allows {limit}")
            for line in lines:
                if line.startswith(f"{file}:"):
                    print(f"  {line}")
        print("Fix the new errors (or annotate); the baseline only ever shrinks.")
        return 1
    total, limit = sum(counts.values()), sum(allowed.values())
    print(f"mypy: {total} errors in {len(counts)} files, within the baseline ({limit}).")
    if total < limit and not args.update:
        print("Fewer than the baseline: run `uv run python scripts/typecheck.py --update`.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
