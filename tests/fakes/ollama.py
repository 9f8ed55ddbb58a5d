"""A fake Ollama server: a real local HTTP server on a thread that speaks /api/chat (no network).

Tests point OLLAMA_BASE_URL (or `OllamaChat`) at `server.url`, set what it answers, and read
back what it was asked. `delay` makes it slow (for timeouts); `status` makes it fail.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class FakeOllama:
    answer: str = "I can only explain things; try “help” to see what the desk does."
    delay: float = 0.0
    status: int = 200
    requests: list[dict] = field(default_factory=list)
    url: str = ""


def _handler(state: FakeOllama) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:  # keep test output quiet
            return None

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            state.requests.append({"path": self.path, "body": body})
            if state.delay:
                time.sleep(state.delay)
            if self.path != "/api/chat":
                self._send(404, {"error": "not found"})
            elif state.status != 200:
                self._send(state.status, {"error": "model 'llama3.2' not found"})
            else:
                self._send(
                    200,
                    {
                        "model": body.get("model"),
                        "created_at": "2026-11-29T18:00:00Z",
                        "message": {"role": "assistant", "content": state.answer},
                        "done": True,
                    },
                )

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

    return Handler


@contextmanager
def fake_ollama() -> Iterator[FakeOllama]:
    """Run the fake on a free local port for the duration of the block."""
    state = FakeOllama()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-ollama", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
