"""`python -m app.serve`: [auth] from the environment into secrets.toml, placeholders refused
in production, and the streamlit command for $PORT."""

import stat
import tomllib

import pytest

from app import serve
from tests.conftest import skip_or_fail

GOOD = "k" * 40
ENV = {
    "AUTH_CLIENT_ID": "cohort.apps.googleusercontent.com",
    "AUTH_CLIENT_SECRET": "s3cr3t",
    "AUTH_COOKIE_SECRET": GOOD,
    "AUTH_REDIRECT_URI": "https://cohort.example.org/oauth2callback",
}


def test_auth_settings_from_the_environment_are_written_for_the_owner_only(tmp_path):
    path = tmp_path / ".streamlit" / "secrets.toml"
    message = serve.prepare({**ENV, "APP_ENV": "prod"}, path)
    assert "from the environment" in message
    auth = tomllib.loads(path.read_text())["auth"]
    assert auth["client_id"] == ENV["AUTH_CLIENT_ID"] and auth["cookie_secret"] == GOOD
    assert auth["server_metadata_url"] == serve.GOOGLE_METADATA
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_quotes_and_backslashes_survive_the_round_trip(tmp_path):
    path = tmp_path / "secrets.toml"
    tricky = 'a"b\\c' + "x" * 40
    serve.prepare({**ENV, "AUTH_CLIENT_SECRET": tricky}, path)
    assert tomllib.loads(path.read_text())["auth"]["client_secret"] == tricky


def test_half_configured_google_sign_in_is_refused_with_what_is_missing(tmp_path):
    env = {k: v for k, v in ENV.items() if k != "AUTH_REDIRECT_URI"}
    with pytest.raises(serve.StartupError, match="AUTH_REDIRECT_URI"):
        serve.prepare(env, tmp_path / "secrets.toml")
    assert not (tmp_path / "secrets.toml").exists()


def test_a_generated_cookie_secret_alone_configures_nothing(tmp_path):
    message = serve.prepare({"AUTH_COOKIE_SECRET": GOOD}, tmp_path / "secrets.toml")
    assert "not configured" in message and not (tmp_path / "secrets.toml").exists()


@pytest.mark.parametrize("secret", ["replace-with-a-long-random-string", "change-me", "short"])
def test_production_refuses_a_placeholder_cookie_secret_from_env_or_file(tmp_path, secret):
    path = tmp_path / "secrets.toml"
    with pytest.raises(serve.StartupError, match="cookie_secret"):
        serve.prepare({**ENV, "AUTH_COOKIE_SECRET": secret, "APP_ENV": "prod"}, path)
    path.write_text(f'[auth]\ncookie_secret = "{secret}"\nclient_id = "x"\n')
    with pytest.raises(serve.StartupError, match="cookie_secret"):
        serve.prepare({"APP_ENV": "prod"}, path)
    assert "configured from" in serve.prepare({"APP_ENV": "dev"}, path)  # dev lets it be


def test_the_command_listens_on_port_headless():
    argv = serve.command({"PORT": "10000"})
    assert argv[1:4] == ["-m", "streamlit", "run"] and argv[4].endswith("streamlit_app.py")
    assert argv[argv.index("--server.port") + 1] == "10000"
    assert argv[argv.index("--server.headless") + 1] == "true"
    assert argv[argv.index("--server.address") + 1] == "0.0.0.0"
    assert serve.command({})[serve.command({}).index("--server.port") + 1] == "8501"
    with pytest.raises(serve.StartupError, match="PORT"):
        serve.command({"PORT": "eighty"})


def test_web_processes_is_a_small_whole_number_and_one_by_default():
    assert serve.web_processes({}) == 1
    assert serve.web_processes({"WEB_PROCESSES": " 4 "}) == 4
    for bad in ("0", "two", "-1", "99"):
        with pytest.raises(serve.StartupError, match="WEB_PROCESSES must be a whole number"):
            serve.web_processes({"WEB_PROCESSES": bad})


def test_several_processes_without_haproxy_say_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setattr(serve.shutil, "which", lambda name: None)
    with pytest.raises(serve.StartupError, match="apt-get install haproxy"):
        serve.find_haproxy(fallback=str(tmp_path / "haproxy"))


def test_the_proxy_keeps_a_browser_on_its_process_and_the_processes_trust_one_more_hop():
    config = serve.haproxy_config(10000, [41001, 41002])
    assert "bind 0.0.0.0:10000" in config
    assert "cookie cohort_web insert indirect nocache httponly" in config
    assert "server web1 127.0.0.1:41001 check" in config and "cookie web2" in config
    assert "option httpchk GET /_stcore/health" in config and "option forwardfor" in config
    pool = serve.Pool(2, {"PORT": "10000", "TRUSTED_PROXY_HOPS": "1", "AUTO_MIGRATE": "true"})
    # Render's proxy, then ours: the client is two hops from the right of X-Forwarded-For.
    assert pool.child_env["TRUSTED_PROXY_HOPS"] == "2"
    with pytest.raises(serve.StartupError, match="TRUSTED_PROXY_HOPS may be at most 4"):
        serve.Pool(2, {"PORT": "10000", "TRUSTED_PROXY_HOPS": "5"})
    # The pool prepares the database once; its processes neither migrate nor seed.
    assert pool.child_env["AUTO_MIGRATE"] == pool.child_env["DEMO_SEED_ON_EMPTY"] == "false"
    # Every browser reaches a process from HAProxy on loopback: no dev sign-in for all comers.
    assert pool.child_env["DEV_SIGN_IN"] == "false"
    opted = serve.Pool(2, {"PORT": "10000", "DEV_SIGN_IN_BEYOND_LOOPBACK": "1"})
    assert "DEV_SIGN_IN" not in opted.child_env
    argv = serve.command(pool.env, port=pool.ports[0], address="127.0.0.1")
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert argv[argv.index("--server.port") + 1] == str(pool.ports[0]) != "10000"


def test_peers_are_off_unless_asked_for_and_render_means_its_discovery_name():
    assert serve.peers_from_env({}, 2, GOOD) is None
    peers = serve.peers_from_env(
        {"WEB_PEERS": "render", "RENDER_DISCOVERY_SERVICE": "cohort-web-discovery"}, 2, GOOD
    )
    assert peers.host == "cohort-web-discovery" and peers.address == "0.0.0.0"
    assert peers.first_port == 8601 and peers.nameserver is None
    # Every instance derives the same route key from the shared SECRET_KEY; it is not the secret.
    assert peers.cookie_key == serve.peers_from_env({"WEB_PEERS": "x"}, 1, GOOD).cookie_key
    assert peers.cookie_key != serve.peers_from_env({"WEB_PEERS": "x"}, 1, "s" * 40).cookie_key
    assert GOOD not in peers.cookie_key
    with pytest.raises(serve.StartupError, match="RENDER_DISCOVERY_SERVICE, which is not set"):
        serve.peers_from_env({"WEB_PEERS": "render"}, 2, GOOD)


@pytest.mark.parametrize(
    ("port", "processes", "message"),
    [
        ("9999", 2, "must not include \\$PORT or Render's reserved ports"),  # 10000 is $PORT
        ("18011", 3, "must not include"),  # 18012 is Render's
        ("80", 1, "port number from 1024 to 65535"),
        ("eighty", 1, "port number"),
    ],
)
def test_a_peer_port_that_would_collide_is_refused_with_what_to_do(port, processes, message):
    env = {"WEB_PEERS": "peers.internal", "WEB_PEER_PORT": port, "PORT": "10000"}
    with pytest.raises(serve.StartupError, match=message):
        serve.peers_from_env(env, processes, GOOD)


def test_with_peers_every_instance_routes_to_every_instances_processes_by_a_shared_cookie(
    tmp_path,
):
    peers = serve.peers_from_env(
        {"WEB_PEERS": "cohort-web-discovery", "WEB_PEERS_NAMESERVER": "10.0.0.2:53"}, 2, GOOD
    )
    config = serve.haproxy_config(10000, [8601, 8602], peers=peers)
    assert "nameserver peers 10.0.0.2:53" in config
    assert "cookie cohort_web insert indirect nocache httponly dynamic" in config
    assert f"dynamic-cookie-key {peers.cookie_key}" in config
    assert "server-template web1- 10 cohort-web-discovery:8601 check" in config
    assert "server-template web2- 10 cohort-web-discovery:8602 check" in config
    # The host's health check answers for this instance's own processes, whatever DNS says.
    assert "use_backend local if health" in config
    assert "server local2 127.0.0.1:8602 check" in config
    # The processes listen on the private network on fixed ports, the same on every instance.
    pool = serve.Pool(2, {"PORT": "10000"}, peers)
    assert pool.ports == [8601, 8602] and pool.address == "0.0.0.0"
    assert pool.local_url(1) == "http://127.0.0.1:8602"
    argv = serve.command(pool.env, port=pool.ports[0], address=pool.address)
    assert argv[argv.index("--server.address") + 1] == "0.0.0.0"
    assert pool.child_env["DEV_SIGN_IN"] == "false"
    # Debian's HAProxy accepts both shapes of the configuration.
    haproxy = serve.shutil.which("haproxy")
    if haproxy is None:
        skip_or_fail("HAProxy is not installed (apt-get install haproxy)")
    for name, text in {
        "pool.cfg": serve.haproxy_config(10000, [41001, 41002]),
        "peers.cfg": config,
        "resolv.cfg": serve.haproxy_config(
            10000, [8601], peers=serve.Peers("d", 8601, "0.0.0.0", "k" * 32)
        ),
    }.items():
        path = tmp_path / name
        path.write_text(text)
        checked = serve.subprocess.run([haproxy, "-c", "-q", "-f", str(path)], capture_output=True)
        assert checked.returncode == 0, (name, checked.stderr)
