"""Run N web processes behind a local HAProxy on one machine:

    uv run python scripts/replicas.py --processes 2 --port 8080 [--database-url URL]

Each process is a plain `streamlit run streamlit_app.py` on a free loopback port (the same flags
as `python -m app.serve`); HAProxy (Debian's package: `apt-get install haproxy`) listens on
--port, keeps each browser on one process with a cookie (Streamlit keeps uploaded and generated
files in the process that made them), health-checks `/_stcore/health` and sends a browser whose
process died to another one, where the `cohort_session` cookie signs it straight back in.
Run the worker (`python -m app.worker`) once, beside them: its leader lock is unchanged.
Ctrl-C stops everything. This is the measuring and testing set-up (the load test's
`--processes`); in production `WEB_PROCESSES=N python -m app.serve` runs the same proxy and
also starts again a process that dies.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadtest import Server  # noqa: E402

from app.serve import (  # noqa: E402, F401  (one proxy set-up: production's)
    BACKEND_COOKIE,
    free_port,
    haproxy_config,
    healthy,
)


class Replicas:
    """N web processes and one HAProxy in front of them; a context manager."""

    def __init__(
        self,
        database_url: str,
        processes: int = 2,
        port: int | None = None,
        *,
        overrides: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        # environment for the web processes beside DATABASE_URL (migrated once, up front)
        # (and never seeded by two processes at once: seed with scripts/seed_demo.py first)
        self.overrides = (
            {"AUTO_MIGRATE": "false", "DEMO_SEED_ON_EMPTY": "false"}
            if overrides is None
            else overrides
        )
        self.count = processes
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.servers: list[Server] = []
        self.proxy: subprocess.Popen | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix="cohort-replicas-"))

    def start(self) -> Replicas:
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(haproxy).exists():
            raise RuntimeError("HAProxy is not installed (Debian: apt-get install haproxy).")
        try:
            self.servers = [
                Server(self.database_url, overrides=self.overrides) for _ in range(self.count)
            ]
            config = self.workdir / "haproxy.cfg"
            config.write_text(
                haproxy_config(self.port, [s.port for s in self.servers], bind="127.0.0.1")
            )
            self.proxy = subprocess.Popen(
                [haproxy, "-db", "-f", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if healthy(self.url):
                    return self
                if self.proxy.poll() is not None:
                    break
                time.sleep(0.2)
            raise RuntimeError("HAProxy did not start: " + self._proxy_errors())
        except BaseException:
            self.stop()
            raise

    def _proxy_errors(self) -> str:
        if self.proxy is None or self.proxy.poll() is None:
            return "no answer"
        return (self.proxy.stderr.read() or b"").decode(errors="replace")[-2000:]

    def kill(self, index: int) -> None:
        """Kill one web process outright (index 0 is web1), as a crash would."""
        process = self.servers[index].process
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        if self.proxy is not None and self.proxy.poll() is None:
            os.killpg(self.proxy.pid, signal.SIGTERM)
            try:
                self.proxy.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proxy.pid, signal.SIGKILL)
        for server in self.servers:
            server.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Replicas:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--database-url", default=None, help="default: the app's DATABASE_URL")
    args = parser.parse_args(argv)
    from app.core.config import get_settings
    from app.core.migrate import upgrade_to_head

    url = args.database_url or get_settings().database_url
    upgrade_to_head(url)

    def stop_on_term(*_args) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_term)  # a process manager's stop cleans up too
    with Replicas(url, args.processes, args.port) as replicas:
        ports = ", ".join(str(s.port) for s in replicas.servers)
        print(f"{replicas.url} → {args.processes} web processes on {ports}; Ctrl-C stops.")
        try:
            while all(s.process.poll() is None for s in replicas.servers):
                time.sleep(1)
            print("A web process stopped; stopping the rest.", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not stop cleanup
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
