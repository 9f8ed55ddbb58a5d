"""scripts/loadtest.py keeps working: two virtual users against a real server on the small demo."""

import json
import subprocess
import sys

import pytest

from app.core.config import PROJECT_ROOT


@pytest.mark.heavy(seconds=25)
def test_the_load_test_drives_a_real_server_and_checks_every_mark(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "scripts" / "loadtest.py"),
            "--users",
            "2",
            "--seconds",
            "6",
            "--size",
            "small",
            "--database-url",
            f"sqlite:///{tmp_path / 'load.db'}",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["users"] == 2 and report["errors"] == 0 and report["marks_lost"] == 0
    assert {"today", "open_sheet", "my-dashboard"} <= set(report["per_action"])
    assert report["server_rss_mb"] > 0 and report["actions_per_s"] > 0
