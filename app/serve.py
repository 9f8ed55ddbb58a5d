"""Start the web app the same way on Render or any host: `python -m app.serve`.

1. When the `[auth]` settings for "Sign in with Google" come from the environment
   (`AUTH_CLIENT_ID`, `AUTH_CLIENT_SECRET`, `AUTH_COOKIE_SECRET`, `AUTH_REDIRECT_URI`, and
   optionally `AUTH_SERVER_METADATA_URL`), write them to `.streamlit/secrets.toml` (readable by
   the owner only; the file is git-ignored and never committed). Without them an existing file
   is left alone, and without either Google sign-in is simply not offered.
2. In production, refuse a placeholder or short cookie secret, wherever it came from.
3. Migrate the database when AUTO_MIGRATE is on (the default in dev; on Render the Blueprint's
   pre-deploy command runs `alembic upgrade head` instead).
4. Replace this process with `streamlit run streamlit_app.py` on `$PORT` (default 8501),
   headless, listening on every interface, without Streamlit's full GC after every rerun.

With `WEB_PROCESSES=N` (N > 1) step 4 is instead: prepare the database once, start N web
processes on loopback ports, and put HAProxy (Debian's package; the Dockerfile installs it) on
`$PORT` in front of them. A cookie keeps each browser on one process (Streamlit serves uploads and
generated files from the process that holds the session); a process that dies is started again
while its users reconnect to another one, where the `cohort_session` cookie signs them back in.
SIGTERM stops everything; HAProxy stopping stops everything too, so the host restarts the lot.

With `WEB_PEERS` (a DNS name whose addresses are every instance of the web service; `render` means
Render's `RENDER_DISCOVERY_SERVICE`), the service can also run as several instances behind a load
balancer that keeps no browser anywhere (Render's `numInstances`). Every instance's processes then
listen on the private network on the same ports (`WEB_PEER_PORT`, 8601, and up), and every
instance's HAProxy knows every process of every instance from DNS. The cookie names a process by
a keyed hash of its address, the same on every instance, so whichever instance a request reaches,
it is carried to the process that holds the browser's session.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from app.core.config import PLACEHOLDER_SECRETS, PROJECT_ROOT, get_settings

SECRETS_PATH = PROJECT_ROOT / ".streamlit" / "secrets.toml"
GOOGLE_METADATA = "https://accounts.google.com/.well-known/openid-configuration"
AUTH_ENV = {
    "client_id": "AUTH_CLIENT_ID",
    "client_secret": "AUTH_CLIENT_SECRET",
    "cookie_secret": "AUTH_COOKIE_SECRET",
    "redirect_uri": "AUTH_REDIRECT_URI",
}
EXAMPLE_COOKIE_SECRET = "replace-with-a-long-random-string"


class StartupError(RuntimeError):
    """A setting that must be fixed before the app can start; the message says how."""


def _quote(value: str) -> str:
    # A TOML basic string; JSON string escaping is a valid subset of it.
    return json.dumps(value, ensure_ascii=False)


def auth_from_env(env: dict[str, str]) -> dict[str, str] | None:
    """The [auth] block from the environment, or None without a client id (a generated cookie
    secret alone, as the Render Blueprint provides, configures nothing)."""
    given = {key: env.get(var, "").strip() for key, var in AUTH_ENV.items()}
    if not given["client_id"]:
        return None
    missing = [AUTH_ENV[key] for key, value in given.items() if not value]
    if missing:
        raise StartupError(
            "Google sign-in is half configured: AUTH_CLIENT_ID is set, so set "
            + ", ".join(missing)
            + " as well (or unset AUTH_CLIENT_ID to offer password and code sign-in only)."
        )
    given["server_metadata_url"] = env.get("AUTH_SERVER_METADATA_URL", "").strip() or (
        GOOGLE_METADATA
    )
    return given


def check_cookie_secret(secret: str, *, prod: bool) -> None:
    """In production the cookie secret must be random and long (it signs the sign-in cookie)."""
    value = secret.strip()
    if prod and (
        value.lower() in PLACEHOLDER_SECRETS or value == EXAMPLE_COOKIE_SECRET or len(value) < 32
    ):
        raise StartupError(
            "The [auth] cookie_secret is a placeholder or shorter than 32 characters. Set "
            "AUTH_COOKIE_SECRET to a random value, e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'."
        )


def write_private(path: Path, body: str) -> Path:
    """Write a file readable by the owner only, from its first byte, and replace it whole."""
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(body)
    os.replace(temporary, path)
    return path


def write_secrets(auth: dict[str, str], path: Path = SECRETS_PATH) -> Path:
    """Write the [auth] block to secrets.toml, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "# Written at start-up from the environment by app/serve.py; do not commit.\n[auth]\n"
    body += "".join(f"{key} = {_quote(value)}\n" for key, value in auth.items())
    return write_private(path, body)


def existing_cookie_secret(path: Path = SECRETS_PATH) -> str | None:
    """The cookie_secret of an existing secrets.toml, if there is one."""
    if not path.exists():
        return None
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise StartupError(f"{path} is not valid TOML: {exc}") from exc
    auth = data.get("auth") or {}
    return auth.get("cookie_secret") if isinstance(auth, dict) else None


def prepare(env: dict[str, str] | None = None, path: Path = SECRETS_PATH) -> str:
    """Steps 1–2; returns what was done with the secrets, for the log."""
    env = dict(os.environ if env is None else env)
    prod = env.get("APP_ENV", "dev").strip() == "prod"
    auth = auth_from_env(env)
    if auth is not None:
        check_cookie_secret(auth["cookie_secret"], prod=prod)
        write_secrets(auth, path)
        return f"Google sign-in configured from the environment ({path.name} written)."
    secret = existing_cookie_secret(path)
    if secret is not None:
        check_cookie_secret(secret, prod=prod)
        return f"Google sign-in configured from {path.name}."
    return "Google sign-in not configured (no AUTH_* variables, no secrets.toml)."


def public_port(env: dict[str, str]) -> int:
    port = env.get("PORT", "").strip() or "8501"
    if not port.isdigit():
        raise StartupError(f"PORT must be a number, not {port!r}.")
    return int(port)


def command(
    env: dict[str, str] | None = None, *, port: int | None = None, address: str = "0.0.0.0"
) -> list[str]:
    """The streamlit command line for this host (`port` and `address` for a pooled process)."""
    env = dict(os.environ if env is None else env)
    port = public_port(env) if port is None else port
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(PROJECT_ROOT / "streamlit_app.py"),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        # Production shows visitors no tracebacks (the app sets it too: app/ui/bootstrap.py).
        "--client.showErrorDetails",
        "none",
        # As in .streamlit/config.toml, whatever the working directory: no gc.collect(2) after
        # every rerun (it dominated CPU under load).
        "--runner.postScriptGC",
        "false",
    ]


# ---- several web processes behind HAProxy (WEB_PROCESSES > 1) --------------------------------

MAX_WEB_PROCESSES = 16
MAX_PROXY_HOPS = 5  # Settings.TRUSTED_PROXY_HOPS allows 0-5
BACKEND_COOKIE = "cohort_web"
RESTARTS_PER_MINUTE = 5  # more than this and the pool gives up: something is wrong, say so

# Websockets stay open for hours: the tunnel timeout is long, the connect timeout short.
HAPROXY_DEFAULTS = """\
global
    maxconn 4096

defaults
    mode http
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    retries 3
    option redispatch 1
"""
HAPROXY_CONFIG = (
    HAPROXY_DEFAULTS
    + """{resolvers}
frontend cohort
    bind {bind}:{port}
{routes}    default_backend web

backend web
    balance leastconn
    cookie {cookie}
    option httpchk GET /_stcore/health
    option forwardfor
{servers}
{local}"""
)

# Every instance's addresses come from DNS (Render's discovery name answers with every running
# instance). An instance that has gone keeps its slot for hold obsolete, then leaves it.
# The health check answers for this instance's own processes only: the host checks each instance,
# and a new instance must pass before discovery may name it.
PEER_RESOLVERS = """
resolvers peers
    {nameserver}
    accepted_payload_size 8192
    resolve_retries 3
    timeout resolve 1s
    timeout retry 1s
    hold valid 5s
    hold obsolete 30s
"""
MAX_INSTANCES = 10  # DNS fills at most this many instances per process slot
PEER_PORT = 8601
HEALTH_ROUTE = """\
    acl health path /_stcore/health
    use_backend local if health
"""
LOCAL_BACKEND = """
backend local
    option httpchk GET /_stcore/health
{servers}
"""
# Render keeps these for itself (10000 is the public port); a private port may not be one.
RESERVED_PORTS = {10000, 18012, 18013, 19099}


@dataclass(frozen=True)
class Peers:
    """Every instance of the web service, found by DNS: process n of every instance listens on
    `address:first_port + n`, and the route cookie is keyed by `cookie_key`, the same on every
    instance, so any instance's proxy carries a browser to its process."""

    host: str
    first_port: int
    address: str
    cookie_key: str
    nameserver: str | None = None  # "ip:port"; None reads /etc/resolv.conf


def haproxy_config(
    port: int, backends: list[int], *, bind: str = "0.0.0.0", peers: Peers | None = None
) -> str:
    """HAProxy on `bind:port` in front of web processes on these loopback ports (or, with
    `peers`, on these ports of every instance): a cookie keeps a browser on one process, health
    checks take a dead one out, and its requests go to another (`redispatch`). It adds the
    peer's address to X-Forwarded-For (one more proxy hop)."""
    check = "check inter 1s fall 2 rise 1"
    if peers is None:
        servers = "\n".join(
            f"    server web{n} 127.0.0.1:{p} {check} cookie web{n}"
            for n, p in enumerate(backends, start=1)
        )
        return HAPROXY_CONFIG.format(
            resolvers="",
            bind=bind,
            port=port,
            routes="",
            cookie=f"{BACKEND_COOKIE} insert indirect nocache httponly",
            servers=servers,
            local="",
        )
    nameserver = f"nameserver peers {peers.nameserver}" if peers.nameserver else "parse-resolv-conf"
    servers = "\n".join(
        f"    server-template web{n}- {MAX_INSTANCES} {peers.host}:{p} {check} "
        "resolvers peers init-addr none resolve-prefer ipv4"
        for n, p in enumerate(backends, start=1)
    )
    here = reachable(peers.address)
    local = "\n".join(
        f"    server local{n} {here}:{p} {check}" for n, p in enumerate(backends, start=1)
    )
    return HAPROXY_CONFIG.format(
        resolvers=PEER_RESOLVERS.format(nameserver=nameserver),
        bind=bind,
        port=port,
        routes=HEALTH_ROUTE,
        local=LOCAL_BACKEND.format(servers=local),
        # A dynamic cookie is a keyed hash of the server's address and port: every instance
        # computes the same one for the same process.
        cookie=f"{BACKEND_COOKIE} insert indirect nocache httponly dynamic\n"
        f"    dynamic-cookie-key {peers.cookie_key}",
        servers=servers,
    )


def reachable(address: str) -> str:
    """Where this machine reaches a process listening on `address` (every interface: loopback)."""
    return "127.0.0.1" if address == "0.0.0.0" else address


def _port(name: str, value: str) -> int:
    if not value.isdigit() or not 1024 <= int(value) <= 65535:
        raise StartupError(f"{name} must be a port number from 1024 to 65535, not {value!r}.")
    return int(value)


def peers_from_env(env: dict[str, str], processes: int, secret_key: str) -> Peers | None:
    """The other instances to route to (`WEB_PEERS`), or None for one instance on its own."""
    host = env.get("WEB_PEERS", "").strip()
    if not host:
        return None
    if host == "render":
        host = env.get("RENDER_DISCOVERY_SERVICE", "").strip()
        if not host:
            raise StartupError(
                "WEB_PEERS=render finds the other instances through Render's "
                "RENDER_DISCOVERY_SERVICE, which is not set: run on Render, or set WEB_PEERS to "
                "a DNS name that answers with every instance's address."
            )
    first = _port("WEB_PEER_PORT", env.get("WEB_PEER_PORT", "").strip() or str(PEER_PORT))
    ports = set(range(first, first + processes))
    if first + processes - 1 > 65535 or ports & (RESERVED_PORTS | {public_port(env)}):
        raise StartupError(
            f"WEB_PEER_PORT {first} gives the web processes ports {first}-{first + processes - 1}"
            f", which must not include $PORT or Render's reserved ports "
            f"({', '.join(map(str, sorted(RESERVED_PORTS)))}): choose another."
        )
    nameserver = env.get("WEB_PEERS_NAMESERVER", "").strip() or None
    # The route cookie's key: the same on every instance (they share SECRET_KEY), never the
    # secret itself.
    key = hmac.new(secret_key.encode(), b"cohort web route cookie", hashlib.sha256).hexdigest()
    return Peers(
        host=host,
        first_port=first,
        address=env.get("WEB_PEER_ADDRESS", "").strip() or "0.0.0.0",
        cookie_key=key[:32],
        nameserver=nameserver,
    )


def web_processes(env: dict[str, str]) -> int:
    value = env.get("WEB_PROCESSES", "").strip() or "1"
    if not value.isdigit() or not 1 <= int(value) <= MAX_WEB_PROCESSES:
        raise StartupError(
            f"WEB_PROCESSES must be a whole number from 1 to {MAX_WEB_PROCESSES} "
            f"(about one per CPU core), not {value!r}."
        )
    return int(value)


def find_haproxy(fallback: str = "/usr/sbin/haproxy") -> str:
    found = shutil.which("haproxy") or fallback
    if not Path(found).exists():
        raise StartupError(
            "WEB_PROCESSES above 1 and WEB_PEERS need HAProxy in front of the processes: "
            "install it (Debian: apt-get install haproxy; the Dockerfile does), or set "
            "WEB_PROCESSES=1 and leave WEB_PEERS unset."
        )
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            body: bytes = response.read()
    except OSError:
        return False
    return body == b"ok"


def log(message: str) -> None:
    print(f"app.serve: {message}", file=sys.stderr, flush=True)


def stop_groups(processes: list[subprocess.Popen[bytes] | None], grace: float = 10) -> None:
    """SIGTERM every child's process group at once, SIGKILL what is left after `grace` seconds
    (a host allows a shutdown about half a minute, whatever the number of processes)."""
    running = [p for p in processes if p is not None and p.poll() is None]
    for process in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in running:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Pool:
    """N web processes on loopback ports and HAProxy on the public port in front of them; with
    `peers`, on the instance's private address and fixed ports, HAProxy routing to every
    instance's processes."""

    def __init__(self, processes: int, env: dict[str, str], peers: Peers | None = None) -> None:
        self.env = env
        self.peers = peers
        self.port = public_port(env)
        if peers is None:
            self.address = "127.0.0.1"
            self.ports = [free_port() for _ in range(processes)]
        else:
            self.address = peers.address
            self.ports = [peers.first_port + n for n in range(processes)]
        self.web: dict[int, subprocess.Popen[bytes]] = {}
        self.proxy: subprocess.Popen[bytes] | None = None
        self.restarts: deque[float] = deque()
        self.stopping = False
        # The web processes behind our proxy: the database is prepared once, here (two processes
        # seeding one empty database would collide), and there is one more proxy hop to trust.
        hops = int(env.get("TRUSTED_PROXY_HOPS", "").strip() or 0) + 1
        if hops > MAX_PROXY_HOPS:
            raise StartupError(
                f"TRUSTED_PROXY_HOPS may be at most {MAX_PROXY_HOPS - 1} with WEB_PROCESSES above 1 "
                "or WEB_PEERS (the pool's own HAProxy is one more hop)."
            )
        self.child_env = {
            **env,
            "AUTO_MIGRATE": "false",
            "DEMO_SEED_ON_EMPTY": "false",
            "TRUSTED_PROXY_HOPS": str(hops),
        }
        # A process sees every browser arrive from HAProxy on loopback (or the private network),
        # and dev sign-in trusts a loopback browser: behind a proxy it stays off unless asked for.
        beyond = env.get("DEV_SIGN_IN_BEYOND_LOOPBACK", "").strip().lower()
        if beyond not in {"1", "true", "yes", "on"}:
            self.child_env["DEV_SIGN_IN"] = "false"
        self.config = Path(env.get("TMPDIR") or "/tmp") / f"cohort-haproxy-{os.getpid()}.cfg"

    def start_web(self, index: int) -> None:
        argv = command(self.env, port=self.ports[index], address=self.address)
        process = subprocess.Popen(
            argv, cwd=PROJECT_ROOT, env=self.child_env, start_new_session=True
        )
        self.web[index] = process
        log(f"web process {index + 1} on port {self.ports[index]} (pid {process.pid})")

    def local_url(self, index: int) -> str:
        return f"http://{reachable(self.address)}:{self.ports[index]}"

    def start(self, haproxy: str) -> None:
        for index in range(len(self.ports)):
            self.start_web(index)
        deadline = time.monotonic() + 120
        waiting = set(range(len(self.ports)))
        while waiting and time.monotonic() < deadline and not self.stopping:
            for index in list(waiting):
                if self.web[index].poll() is not None:
                    raise StartupError(f"web process {index + 1} stopped while starting.")
                if healthy(self.local_url(index)):
                    waiting.discard(index)
            time.sleep(0.3)
        if waiting and not self.stopping:
            raise StartupError("the web processes did not answer their health check in 2 min.")
        if self.stopping:
            return
        # Owner-only: the route cookie's key is in it.
        write_private(self.config, haproxy_config(self.port, self.ports, peers=self.peers))
        checked = subprocess.run(
            [haproxy, "-c", "-q", "-f", str(self.config)], capture_output=True, text=True
        )
        if checked.returncode != 0:
            raise StartupError(f"HAProxy refused its configuration: {checked.stderr.strip()}")
        self.proxy = subprocess.Popen(
            [haproxy, "-db", "-f", str(self.config)], start_new_session=True
        )
        where = f" and every instance of {self.peers.host}" if self.peers else ""
        log(f"HAProxy on port {self.port} in front of {len(self.ports)} web processes{where}")

    def watch(self) -> int:
        """Until asked to stop: start again a web process that died; stop when HAProxy does."""
        while not self.stopping:
            if self.proxy is not None and self.proxy.poll() is not None:
                log(f"HAProxy stopped (exit {self.proxy.returncode}); stopping the web processes.")
                return 1
            for index, process in list(self.web.items()):
                if process.poll() is not None and not self.stopping:
                    now = time.monotonic()
                    self.restarts.append(now)
                    while self.restarts and now - self.restarts[0] > 60:
                        self.restarts.popleft()
                    if len(self.restarts) > RESTARTS_PER_MINUTE:
                        log("web processes keep stopping; giving up (see the log above).")
                        return 1
                    log(
                        f"web process {index + 1} stopped (exit {process.returncode}); "
                        "starting it again."
                    )
                    self.start_web(index)
            time.sleep(0.5)
        return 0

    def stop(self) -> None:
        self.stopping = True
        stop_groups([self.proxy, *self.web.values()])
        self.config.unlink(missing_ok=True)


def run_pool(processes: int, env: dict[str, str], peers: Peers | None = None) -> int:
    from app.system import startup

    settings = get_settings()
    haproxy = find_haproxy()
    startup.prepare_database(
        settings.database_url,
        settings.auto_migrate,
        settings.is_dev and settings.DEMO_SEED_ON_EMPTY,
    )
    pool = Pool(processes, env, peers)

    def stop_on_signal(*_args: object) -> None:
        pool.stopping = True

    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    try:
        pool.start(haproxy)
        return pool.watch()
    finally:
        pool.stop()


def main() -> None:
    try:
        print(prepare(), flush=True)
        settings = get_settings()
        env = dict(os.environ)
        processes = web_processes(env)
        peers = peers_from_env(env, processes, settings.SECRET_KEY)
        if processes > 1 or peers is not None:
            raise SystemExit(run_pool(processes, env, peers))
        if settings.auto_migrate:
            from app.core.migrate import upgrade_to_head

            upgrade_to_head(settings.database_url)
        argv = command()
    except (StartupError, ValueError) as exc:
        print(f"Cohort cannot start: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from exc
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
