"""render.yaml: Render's published JSON schema cannot be vendored here, so the Blueprint's
structure is checked against the rules that schema states (required fields, allowed keys, the
shapes of environment variables, plans and runtimes) and against what Cohort needs."""

from pathlib import Path

import yaml

from app import serve

ROOT = Path(__file__).resolve().parents[2]
BLUEPRINT = yaml.safe_load((ROOT / "render.yaml").read_text())

SERVER_KEYS = {
    "type", "name", "region", "plan", "runtime", "repo", "branch", "image", "rootDir",
    "dockerCommand", "dockerContext", "dockerfilePath", "numInstances", "healthCheckPath",
    "scaling", "buildCommand", "startCommand", "preDeployCommand", "registryCredential",
    "domain", "domains", "envVars", "autoDeploy", "autoDeployTrigger", "initialDeployHook",
    "disk", "buildFilter", "previews", "maxShutdownDelaySeconds",
}  # fmt: skip
DATABASE_KEYS = {
    "name", "databaseName", "user", "region", "plan", "diskSizeGB", "previewPlan",
    "previewDiskSizeGB", "postgresMajorVersion", "highAvailability", "ipAllowList",
    "readReplicas",
}  # fmt: skip
KEY_VALUE_KEYS = {"key", "value", "generateValue", "sync", "previewValue"}
PLANS = {"free", "starter", "standard", "pro", "pro plus", "basic-256mb", "basic-1gb", "basic-4gb"}


def _env_var_ok(var: dict) -> bool:
    keys = set(var)
    if "fromGroup" in keys:
        return keys == {"fromGroup"}
    if "fromDatabase" in keys:
        ref = var["fromDatabase"]
        return keys == {"key", "fromDatabase"} and {"name", "property"} <= set(ref)
    if "fromService" in keys:
        return keys == {"key", "fromService"}
    return "key" in keys and keys <= KEY_VALUE_KEYS


def test_top_level_and_every_entry_follow_the_schema():
    assert set(BLUEPRINT) <= {"services", "databases", "envVarGroups", "previews", "projects"}
    for db in BLUEPRINT["databases"]:
        assert "name" in db and set(db) <= DATABASE_KEYS and db["plan"] in PLANS
        assert db["postgresMajorVersion"] in {str(v) for v in range(10, 18)}
    for group in BLUEPRINT["envVarGroups"]:
        assert set(group) == {"name", "envVars"}
        # Groups hold plain values only: no references, no prompts for secrets.
        for var in group["envVars"]:
            assert set(var) <= KEY_VALUE_KEYS - {"sync"} and "key" in var, var
    names = [s["name"] for s in BLUEPRINT["services"]]
    assert len(names) == len(set(names))
    for service in BLUEPRINT["services"]:
        assert {"type", "name", "runtime"} <= set(service) <= SERVER_KEYS, service["name"]
        assert service["type"] in {"web", "worker", "pserv"} and service["plan"] in PLANS
        assert all(_env_var_ok(v) for v in service["envVars"]), service["name"]
        for var in service["envVars"]:
            if "fromGroup" in var:
                assert var["fromGroup"] in {g["name"] for g in BLUEPRINT["envVarGroups"]}
            if "fromDatabase" in var:
                assert var["fromDatabase"]["name"] in {d["name"] for d in BLUEPRINT["databases"]}


def _service(kind: str) -> dict:
    [service] = [s for s in BLUEPRINT["services"] if s["type"] == kind]
    return service


def _keys(service: dict) -> dict[str, dict]:
    return {v["key"]: v for v in service["envVars"] if "key" in v}


DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_web_runs_streamlit_migrates_first_and_is_health_checked():
    web = _service("web")
    assert web["runtime"] == "docker" and (ROOT / web["dockerfilePath"]).is_file()
    # The image installs the locked dependencies and HAProxy, and its command is app.serve.
    assert "uv sync --frozen --no-dev" in DOCKERFILE and "haproxy" in DOCKERFILE
    assert 'CMD ["python", "-m", "app.serve"]' in DOCKERFILE and "USER cohort" in DOCKERFILE
    assert web["healthCheckPath"] == "/_stcore/health"
    assert web["preDeployCommand"] == "alembic upgrade head"
    assert _keys(web)["DATABASE_URL"]["fromDatabase"]["property"] == "connectionString"
    # Several instances, each routing to every instance's processes (Render keeps no browser on
    # one instance); the processes' port is neither the public one nor one Render keeps.
    assert web["numInstances"] >= 2 and _keys(web)["WEB_PROCESSES"]["value"] == "1"
    assert _keys(web)["WEB_PEERS"]["value"] == "render"
    peers = serve.peers_from_env(
        {
            "WEB_PEERS": "render",
            "RENDER_DISCOVERY_SERVICE": "cohort-web-discovery",
            "PORT": "10000",
        },
        int(_keys(web)["WEB_PROCESSES"]["value"]),
        "s" * 40,
    )
    assert peers is not None and peers.address == "0.0.0.0"


def test_the_image_leaves_out_secrets_and_local_data():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".streamlit/secrets.toml", ".env", "*.db", ".git", ".venv", "data"} <= set(ignored)


def test_worker_runs_the_scheduler_on_the_same_settings_and_database():
    web, worker = _service("web"), _service("worker")
    assert worker["dockerfilePath"] == web["dockerfilePath"]
    assert worker["dockerCommand"] == "python -m app.worker"
    groups = lambda s: {v["fromGroup"] for v in s["envVars"] if "fromGroup" in v}  # noqa: E731
    assert groups(web) == groups(worker) == {"cohort-settings"}
    assert _keys(worker)["DATABASE_URL"] == _keys(web)["DATABASE_URL"]


def test_secrets_are_generated_or_asked_for_never_written_down():
    group = {v["key"]: v for v in BLUEPRINT["envVarGroups"][0]["envVars"]}
    assert group["APP_ENV"]["value"] == "prod"
    assert group["SECRET_KEY"] == {"key": "SECRET_KEY", "generateValue": True}
    assert group["BADGE_KEY_ENCRYPTION_KEY"]["generateValue"] is True
    web = _keys(_service("web"))
    for secret in ("TELEGRAM_BOT_TOKEN", "AUTH_CLIENT_SECRET", "AUTH_CLIENT_ID"):
        assert web[secret] == {"key": secret, "sync": False}
    assert web["AUTH_COOKIE_SECRET"]["generateValue"] is True
    everything = [v for g in BLUEPRINT["envVarGroups"] for v in g["envVars"]] + [
        v for s in BLUEPRINT["services"] for v in s["envVars"]
    ]
    for var in everything:
        if any(word in var.get("key", "") for word in ("SECRET", "TOKEN", "KEY")):
            assert "value" not in var, var["key"]


def test_render_trusts_exactly_its_own_proxy_hop():
    """Behind Render's proxy the client address is the last X-Forwarded-For entry; trusting
    none would rate-limit everyone as the proxy, trusting more would let clients pick one."""
    group = {v["key"]: v for v in BLUEPRINT["envVarGroups"][0]["envVars"]}
    assert group["TRUSTED_PROXY_HOPS"]["value"] == "1"
