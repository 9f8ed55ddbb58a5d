"""Garbage-collection policy (issue 17): no gc.collect(2) after every rerun, however the server
starts, and the start-up heap frozen once per process."""

import gc
import tomllib

from app import serve
from app.core.config import PROJECT_ROOT


def test_streamlit_run_from_the_project_reads_post_script_gc_off():
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False


def test_python_m_app_serve_turns_post_script_gc_off_whatever_the_directory():
    argv = serve.command({})
    assert argv[argv.index("--runner.postScriptGC") + 1] == "false"


def test_the_start_up_heap_is_frozen_once_per_process():
    from app.ui import bootstrap

    bootstrap.freeze_startup_heap.clear()
    gc.unfreeze()
    try:
        frozen = bootstrap.freeze_startup_heap()
        assert frozen > 10_000 and gc.get_freeze_count() > 10_000
        assert "app.attendance.service" in __import__("sys").modules
        assert bootstrap.freeze_startup_heap() == frozen  # cached: not again in this process
    finally:
        gc.unfreeze()
