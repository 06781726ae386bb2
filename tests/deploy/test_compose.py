"""deploy/docker-compose.yml: valid for Compose and for the compose-spec schema,
and wired as intended (health checks and their ports, start-up order, defaults)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from deploy_support import (
    COMPOSE_FILE,
    DEPLOY,
    DOCKERFILE,
    REPO_ROOT,
    SETUP_SCRIPT,
    console_scripts,
    run,
    tool,
)

# Services we build from ./Dockerfile, and the one-shot set-up jobs.
APP_SERVICES = {"api", "worker-llm", "worker-tools"}
ONE_SHOT = {"temporal-schema", "temporal-setup", "minio-setup"}
# What each app container must be given to open the one shared object store.
STORAGE_KEYS = {
    "STORAGE_URL",
    "STORAGE_S3_ENDPOINT_URL",
    "STORAGE_S3_REGION",
    "STORAGE_S3_ACCESS_KEY_ID",
    "STORAGE_S3_SECRET_ACCESS_KEY",
}


def compose(*args: str, compose_file: Path = COMPOSE_FILE) -> str:
    return run([tool("docker-compose"), "-f", str(compose_file), *args]).stdout


def resolved(
    *profiles: str, compose_file: Path = COMPOSE_FILE, env_file: Path | None = None
) -> dict:
    """The project as Compose resolves it (anchors merged, env files read);
    env_file: the interpolation variables (`--env-file`)."""
    flags = [f for p in profiles for f in ("--profile", p)]
    if env_file is not None:
        flags += ["--env-file", str(env_file)]
    return json.loads(compose(*flags, "config", "--format", "json", compose_file=compose_file))


def isolated_copy(root: Path, dotenv: str | None = None) -> Path:
    """deploy/'s compose files under a fresh root, with or without a root .env:
    the checks then see the checked-in defaults, whatever .env a developer has."""
    shutil.copytree(DEPLOY / "temporal", root / "deploy" / "temporal")
    shutil.copytree(SETUP_SCRIPT.parent, root / SETUP_SCRIPT.parent.relative_to(REPO_ROOT))
    for name in ("docker-compose.yml", "compose.env"):
        shutil.copy(DEPLOY / name, root / "deploy" / name)
    if dotenv is not None:
        (root / ".env").write_text(dotenv)
    return root / "deploy" / "docker-compose.yml"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return resolved(compose_file=isolated_copy(tmp_path_factory.mktemp("compose")))


def test_compose_config_is_valid() -> None:
    compose("config", "-q")


def test_compose_spec_schema() -> None:
    run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)])


def test_expected_services(project: dict) -> None:
    expected = {"postgresql", "temporal", "temporal-ui", "redis", "minio", "fake-llm"}
    assert expected | APP_SERVICES | ONE_SHOT == set(project["services"])


def test_a_plain_up_runs_the_fake_llm_the_defaults_point_at(project: dict) -> None:
    """No profile, no .env: the model the workers are given is started too."""
    default_services = compose("config", "--services").split()
    assert {"fake-llm", *APP_SERVICES} <= set(default_services)
    assert "profiles" not in project["services"]["fake-llm"]
    env = project["services"]["worker-llm"]["environment"]
    assert env["LLM_API_BASE"].startswith("http://fake-llm:")


def test_our_images_are_built_never_pulled(project: dict) -> None:
    """Nobody publishes durable-agent/* images: compose must build them."""
    for name in ("fake-llm", *APP_SERVICES):
        svc = project["services"][name]
        assert svc["image"].startswith("durable-agent/"), name
        assert svc.get("pull_policy") == "build", name
        assert "build" in svc, name


def test_every_long_running_service_has_a_healthcheck(project: dict) -> None:
    for name, svc in project["services"].items():
        if name in ONE_SHOT:
            # A one-shot job finishes: dependants wait for it to complete instead.
            assert "healthcheck" not in svc, name
            assert str(svc.get("restart", "no")).startswith(("no", "on-failure")), name
            continue
        hc = svc.get("healthcheck")
        assert hc and hc.get("test") and not hc.get("disable"), f"{name} has no healthcheck"


def test_app_healthchecks_probe_the_port_the_service_listens_on(project: dict) -> None:
    """A healthcheck on a port nothing listens on fails only at run time: check
    each against the port its own settings give (API_PORT, METRICS_PORT)."""
    listens = {"api": "API_PORT", "worker-llm": "METRICS_PORT", "worker-tools": "METRICS_PORT"}
    for name, setting in listens.items():
        svc = project["services"][name]
        port = svc["environment"][setting]
        url = urlsplit(svc["healthcheck"]["test"][-1])
        assert url.hostname == "127.0.0.1" and str(url.port) == port, (name, url, port)


def test_metrics_ports_are_not_published(project: dict) -> None:
    """Prometheus scrapes inside the compose network: the gateway's /metrics has
    a port of its own (METRICS_PORT), and only the API port is published."""
    for name in APP_SERVICES:
        env = project["services"][name]["environment"]
        published = {int(p["target"]) for p in project["services"][name].get("ports", [])}
        assert env["METRICS_PORT"] == "9100", name
        assert int(env["METRICS_PORT"]) not in published, name
    api = project["services"]["api"]
    assert {int(p["target"]) for p in api["ports"]} == {int(api["environment"]["API_PORT"])}


def test_depends_on_uses_conditions(project: dict) -> None:
    services = project["services"]
    for name, svc in services.items():
        for dep, spec in svc.get("depends_on", {}).items():
            cond = spec["condition"]
            if dep in ONE_SHOT:
                assert cond == "service_completed_successfully", (name, dep)
            else:
                assert cond == "service_healthy", (name, dep)
                assert "healthcheck" in services[dep], (name, dep)


def test_start_up_order(project: dict) -> None:
    svc = project["services"]

    def deps(name: str) -> dict[str, str]:
        return {d: s["condition"] for d, s in svc[name].get("depends_on", {}).items()}

    assert deps("temporal-schema") == {"postgresql": "service_healthy"}
    assert deps("temporal") == {"temporal-schema": "service_completed_successfully"}
    assert deps("temporal-setup") == {"temporal": "service_healthy"}
    assert deps("temporal-ui") == {"temporal": "service_healthy"}
    assert deps("minio-setup") == {"minio": "service_healthy"}
    for name in APP_SERVICES:
        d = deps(name)
        assert d["temporal-setup"] == "service_completed_successfully", name
        # the bucket exists before any service opens it (they never create it)
        assert d["minio-setup"] == "service_completed_successfully", name
        assert d["redis"] == "service_healthy", name
        assert d["temporal"] == "service_healthy", name
    # worker-llm waits for the fake LLM, and goes on without it (a real model).
    assert svc["worker-llm"]["depends_on"]["fake-llm"] == {
        "condition": "service_healthy",
        "required": False,
    }


def test_named_volumes(project: dict) -> None:
    assert {"postgres-data", "redis-data", "minio-data"} <= set(project["volumes"])
    mounts = {
        (name, m["source"], m["target"])
        for name, svc in project["services"].items()
        for m in svc.get("volumes", [])
        if m["type"] == "volume"
    }
    assert ("postgresql", "postgres-data", "/var/lib/postgresql/data") in mounts
    assert ("redis", "redis-data", "/data") in mounts
    assert ("minio", "minio-data", "/data") in mounts
    assert project["services"]["minio"]["command"] == ["server", "/data"]


MCP_DIR = "/etc/durable-agent/mcp"


def _mcp_mounts(project: dict) -> dict[str, tuple[str, bool]]:
    return {
        name: (m["source"], m.get("read_only", False))
        for name, svc in project["services"].items()
        for m in svc.get("volumes", [])
        if m["type"] == "bind" and m["target"] == MCP_DIR
    }


def test_an_mcp_servers_file_reaches_every_service_that_reads_it(
    project: dict, tmp_path: Path
) -> None:
    """deploy/mcp/ is mounted read-only in the three app containers; a .env naming a
    file there turns MCP servers on in each of them; MCP_CONFIG_DIR moves the mount."""
    mounts = _mcp_mounts(project)  # of an isolated copy of deploy/
    assert {name: (Path(source).parts[-2:], ro) for name, (source, ro) in mounts.items()} == {
        name: (("deploy", "mcp"), True) for name in APP_SERVICES
    }
    assert (DEPLOY / "mcp").is_dir()
    wanted = f"{MCP_DIR}/mcp-servers.json"
    compose_file = isolated_copy(tmp_path, dotenv=f"MCP_SERVERS_FILE={wanted}\n")
    (tmp_path / "knobs.env").write_text(f"MCP_CONFIG_DIR={tmp_path / 'operator-mcp'}\n")
    moved = resolved(compose_file=compose_file, env_file=tmp_path / "knobs.env")
    for name in APP_SERVICES:
        assert moved["services"][name]["environment"]["MCP_SERVERS_FILE"] == wanted, name
    assert set(_mcp_mounts(moved).values()) == {(str(tmp_path / "operator-mcp"), True)}


def test_temporal_uses_server_image_and_dynamic_config(project: dict) -> None:
    temporal = project["services"]["temporal"]
    assert temporal["image"].startswith("temporalio/server:")
    assert not any("auto-setup" in s.get("image", "") for s in project["services"].values())
    env = temporal["environment"]
    assert env["DB"] == "postgres12"
    dc_rel = env["DYNAMIC_CONFIG_FILE_PATH"]  # relative to /etc/temporal
    mount = next(m for m in temporal["volumes"] if m["type"] == "bind")
    assert mount["target"] == "/etc/temporal/config/dynamicconfig" and mount.get("read_only")
    dc_file = Path(mount["source"]) / Path(dc_rel).name
    assert dc_file.is_file()
    dynamic = yaml.safe_load(dc_file.read_text())
    assert dynamic["history.transferProcessorMaxPollRPS"] == [{"value": 1000}]


def test_setup_scripts(project: dict) -> None:
    scripts = DEPLOY / "temporal" / "scripts"
    for script in [*scripts.glob("*.sh"), SETUP_SCRIPT]:
        run(["sh", "-n", str(script)])
    setup = project["services"]["temporal-setup"]
    mount = next(m for m in setup["volumes"] if m["target"] == "/scripts")
    assert Path(mount["source"]).name == SETUP_SCRIPT.parent.name  # the chart's own script
    # the namespace it sets up is the one the applications use
    assert (
        setup["environment"]["TEMPORAL_NAMESPACE"]
        == (project["services"]["worker-llm"]["environment"]["TEMPORAL_NAMESPACE"])
    )
    schema = (scripts / "setup-postgres.sh").read_text()
    assert "update-schema" in schema and "temporal_visibility" in schema


def test_app_containers_are_locked_down(project: dict) -> None:
    for name in APP_SERVICES | {"fake-llm"}:
        svc = project["services"][name]
        assert svc["read_only"] is True, name
        assert "/tmp" in svc["tmpfs"], name
        assert svc["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in svc["security_opt"], name


def test_app_images_and_commands(project: dict) -> None:
    scripts = console_scripts()
    stages = _dockerfile_stages()
    for name in APP_SERVICES | {"fake-llm"}:
        svc = project["services"][name]
        build = svc["build"]
        # The context is the repository root (deploy/..), where the Dockerfile is.
        assert (Path(build["context"]) / "deploy" / "docker-compose.yml").is_file(), name
        assert build["dockerfile"] == "Dockerfile" and DOCKERFILE.parent == REPO_ROOT
        assert build["target"] in stages, f"{name}: no stage {build['target']} in Dockerfile"
        assert svc["command"][0] in scripts, f"{name}: {svc['command'][0]} is no console script"


def test_defaults_run_offline_with_no_env_file(project: dict) -> None:
    env = project["services"]["worker-llm"]["environment"]
    assert env["LLM_MODEL"] == "openai/fake-agent"
    assert env["LLM_API_BASE"] == "http://fake-llm:8080/v1"
    assert env["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    assert env["METRICS_PORT"] == "9100" and env["TEMPORAL_METRICS_PORT"] == "9101"
    for name in APP_SERVICES:
        env = project["services"][name]["environment"]
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233", name
        assert env["REDIS_URL"] == "redis://redis:6379/0", name
    api_env = project["services"]["api"]["environment"]
    assert api_env["API_HOST"] == "0.0.0.0" and api_env["API_PORT"] == "8000"


def test_repo_root_env_file_overrides_defaults(tmp_path: Path) -> None:
    """A .env at the repository root wins over deploy/compose.env (documented in .env.example)."""
    compose_file = isolated_copy(
        tmp_path,
        dotenv="LLM_MODEL=openai/gpt-4o-mini\nLLM_API_KEY=sk-test\nLLM_API_BASE=\nAPI_KEYS=k:acme\n",
    )
    env = resolved(compose_file=compose_file)["services"]
    llm = env["worker-llm"]["environment"]
    assert llm["LLM_MODEL"] == "openai/gpt-4o-mini"
    assert llm["LLM_API_KEY"] == "sk-test"
    assert llm["LLM_API_BASE"] == ""
    assert env["api"]["environment"]["API_KEYS"] == "k:acme"


# Who may hold each secret (a non-empty value); everyone else gets none.
SECRET_HOLDERS = {
    "LLM_API_KEY": {"worker-llm"},
    "API_KEYS": {"api"},
    "TEMPORAL_API_KEY": {*APP_SERVICES, "temporal-setup"},
    "STORAGE_S3_ACCESS_KEY_ID": APP_SERVICES,
    "STORAGE_S3_SECRET_ACCESS_KEY": APP_SERVICES,
}


def _holders(project: dict) -> dict[str, set[str]]:
    return {
        key: {
            name
            for name, svc in project["services"].items()
            if (svc.get("environment") or {}).get(key)
        }
        for key in SECRET_HOLDERS
    }


def test_each_container_gets_only_its_secrets(project: dict, tmp_path: Path) -> None:
    """compose.env and .env reach every app container: the model key must reach
    worker-llm alone, the gateway's keys the api alone, the store's key pair the
    three that open it, whatever a .env written for `make run` holds."""
    holders = _holders(project)
    assert holders["LLM_API_KEY"] == {"worker-llm"}  # the fake's placeholder key
    assert holders["API_KEYS"] == {"api"}  # the development key
    dotenv = "".join(f"{key}=secret-{key.lower()}\n" for key in SECRET_HOLDERS)
    holders = _holders(resolved(compose_file=isolated_copy(tmp_path, dotenv=dotenv)))
    assert holders == SECRET_HOLDERS
    # a blanked key is unset for the services (empty values are ignored)
    from agent_core.settings import Settings

    assert Settings.model_config.get("env_ignore_empty") is True


def _storage_env(project: dict) -> dict[str, dict[str, str]]:
    return {
        name: {
            k: v for k, v in project["services"][name]["environment"].items() if k in STORAGE_KEYS
        }
        for name in APP_SERVICES
    }


def _check_one_shared_store(project: dict) -> dict[str, str]:
    """Every app container opens the same MinIO bucket, the one minio-setup
    creates, with MinIO's credentials; returns that storage environment."""
    services = project["services"]
    envs = _storage_env(project)
    for name, env in envs.items():
        assert set(env) == STORAGE_KEYS, f"{name} lacks {STORAGE_KEYS - set(env)}"
    first, *others = envs.values()
    assert all(env == first for env in others), envs
    assert first["STORAGE_URL"].startswith("s3://"), "a file: store is per container"
    assert first["STORAGE_S3_ENDPOINT_URL"] == "http://minio:9000"
    minio = services["minio"]["environment"]
    assert first["STORAGE_S3_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
    assert first["STORAGE_S3_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]
    setup = services["minio-setup"]
    assert setup["environment"]["MINIO_ROOT_USER"] == minio["MINIO_ROOT_USER"]
    assert setup["environment"]["MINIO_ROOT_PASSWORD"] == minio["MINIO_ROOT_PASSWORD"]
    assert first["STORAGE_URL"] == f"s3://{setup['environment']['STORAGE_BUCKET']}"
    script = " ".join(setup["command"])
    assert "mc mb --ignore-existing" in script and "STORAGE_BUCKET" in script
    return first


def test_every_app_service_opens_the_one_minio_bucket(
    project: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _check_one_shared_store(project)
    # and the services accept it (bucket name pattern, endpoint)
    from agent_core.settings import Settings

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.storage_url == env["STORAGE_URL"]
    assert settings.storage_s3_secret_access_key is not None


def test_minio_images_are_pinned_and_nothing_is_published(project: dict) -> None:
    for name, repo in (("minio", "minio/minio:"), ("minio-setup", "minio/mc:")):
        image = project["services"][name]["image"]
        assert image.startswith(repo) and image.split(":", 1)[1].startswith("RELEASE."), image
    # The store is reached on the compose network only (as Redis and Postgres are).
    assert "ports" not in project["services"]["minio"]


def test_storage_survives_a_dotenv_and_follows_the_compose_knobs(tmp_path: Path) -> None:
    """A repo-root .env written for `make run` (a directory store) must not give
    each container a directory of its own; MinIO's credentials and the bucket
    set through --env-file change on both sides together."""
    compose_file = isolated_copy(
        tmp_path,
        dotenv="STORAGE_URL=file:data/objects\nSTORAGE_S3_ENDPOINT_URL=http://elsewhere:9000\n",
    )
    knobs = tmp_path / "compose-knobs.env"
    knobs.write_text(
        "MINIO_ROOT_USER=operator\nMINIO_ROOT_PASSWORD=not-the-default-1\nSTORAGE_BUCKET=agent-b\n"
    )
    env = _check_one_shared_store(resolved(compose_file=compose_file, env_file=knobs))
    assert env["STORAGE_URL"] == "s3://agent-b"
    assert env["STORAGE_S3_ACCESS_KEY_ID"] == "operator"
    assert env["STORAGE_S3_SECRET_ACCESS_KEY"] == "not-the-default-1"


def test_env_example_documents_every_setting() -> None:
    from agent_core.settings import Settings

    example = (REPO_ROOT / ".env.example").read_text()
    missing = [f.upper() for f in Settings.model_fields if f"{f.upper()}=" not in example]
    assert not missing, f".env.example does not document {missing}"
    # compose.env sets only real settings
    keys = [
        line.split("=", 1)[0]
        for line in (DEPLOY / "compose.env").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert set(keys) <= {f.upper() for f in Settings.model_fields}


def _dockerfile_stages() -> set[str]:
    stages = set()
    for line in DOCKERFILE.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0].upper() == "FROM" and parts[-2].upper() == "AS":
            stages.add(parts[-1])
    return stages


def test_temporal_server_and_admin_tools_move_in_lockstep(project: dict) -> None:
    """admin-tools carries its server's schema: compose's schema and setup jobs,
    the chart's setup Job and .env.example all name the server's version."""
    services = project["services"]
    server = services["temporal"]["image"].split(":", 1)[1]
    for name in ("temporal-schema", "temporal-setup"):
        image = services[name]["image"]
        assert image.startswith("temporalio/admin-tools:"), name
        assert image.split(":", 1)[1] == server, f"{name} {image} vs server {server}"
    values = yaml.safe_load((DEPLOY / "helm" / "durable-agent" / "values.yaml").read_text())
    assert values["temporalSetup"]["image"]["tag"] == server
    example = (REPO_ROOT / ".env.example").read_text()
    assert f"TEMPORAL_VERSION={server}" in example
    assert f"TEMPORAL_ADMINTOOLS_VERSION={server}" in example


def test_upgrade_notes() -> None:
    """The upgrade rules an operator needs before changing a version, linked
    from the README and from deploy/README.md."""
    chart_readme = DEPLOY / "helm" / "durable-agent" / "README.md"
    text = chart_readme.read_text()
    assert "\n## Upgrading\n" in text
    section = text.split("\n## Upgrading\n", 1)[1].split("\n## ", 1)[0]
    for needle in (
        "TEMPORAL_ADMINTOOLS_VERSION",
        "temporalSetup.image.tag",
        "One minor version at a time",
        "workflow.patched",
        "tests/replay",
        "Bucket retention",
        "helm test",
    ):
        assert needle in section, needle
    assert (REPO_ROOT / "tests" / "replay" / "histories").is_dir()
    assert "deploy/helm/durable-agent/README.md#upgrading" in (REPO_ROOT / "README.md").read_text()
    assert "helm/durable-agent/README.md#upgrading" in (DEPLOY / "README.md").read_text()
