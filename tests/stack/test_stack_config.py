"""The supervisor's decisions, without starting anything: model, Redis, auth, ports."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from agent_core.conversation_client import TENANT_KEY
from durable_agent import stack as stack_mod
from durable_agent.stack import (
    PROVIDER_KEYS,
    StackConfig,
    StackError,
    Supervisor,
    choose_model,
    dev_mode,
    mask_url,
    parse_args,
)
from durable_agent.stack.plan import _Plan

MODEL_VARS = ("LLM_MODEL", "LLM_API_KEY", "LLM_API_BASE", *PROVIDER_KEYS)


@pytest.fixture(autouse=True)
def offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        *MODEL_VARS,
        "REDIS_URL",
        "TEMPORAL_ADDRESS",
        "API_KEYS",
        "API_KEYS_FILE",
        "API_DEV_MODE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_no_model_means_the_fake_llm() -> None:
    choice = choose_model({})
    assert choice.fake and choice.model is None


def test_a_model_with_a_key_is_used() -> None:
    assert choose_model({"LLM_MODEL": "openai/gpt-4o-mini", "OPENAI_API_KEY": "sk"}) == (
        stack_mod.ModelChoice(False, "openai/gpt-4o-mini")
    )
    assert not choose_model({"LLM_MODEL": "anthropic/claude", "LLM_API_KEY": "k"}).fake


def test_a_model_without_a_key_is_used_with_a_warning() -> None:
    choice = choose_model({"LLM_MODEL": "openai/gpt-4o-mini"})
    assert not choice.fake and "no API key" in choice.notes[0]


def test_a_key_without_a_model_keeps_the_fake_and_says_why() -> None:
    choice = choose_model({"OPENAI_API_KEY": "sk"})
    assert choice.fake and "LLM_MODEL" in choice.notes[0]


def test_fake_llm_can_be_forced() -> None:
    assert choose_model({"LLM_MODEL": "openai/x", "OPENAI_API_KEY": "sk"}, force_fake=True).fake


def test_dev_mode_unless_keys_are_set() -> None:
    assert dev_mode({})
    assert not dev_mode({"API_KEYS": "k1:t1"})
    assert not dev_mode({"API_KEYS_FILE": "/keys"})
    assert not dev_mode({"API_DEV_MODE": "false"})
    assert dev_mode({"API_KEYS": "k", "API_DEV_MODE": "true"})


def test_passwords_are_masked_in_printed_urls() -> None:
    assert mask_url("redis://:s3cret@host:6379/0") == "redis://:***@host:6379/0"
    assert mask_url("redis://user:s3cret@host/0") == "redis://user:***@host/0"
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_arguments() -> None:
    config = parse_args(
        ["--without", "api", "--without", "workers", "--api-port", "0", "--headless"]
    )
    assert config.without == {"api", "worker-llm", "worker-tools"}
    assert config.api_port == 0 and not config.temporal_ui
    with pytest.raises(SystemExit):
        parse_args(["--without", "redis"])


def test_the_tenant_search_attribute_is_the_one_the_workflow_uses() -> None:
    assert TENANT_KEY.name == "Tenant"


async def _plan(tmp_path: Path, **overrides: object) -> _Plan:
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "api_port": 0,
        "temporal_port": 0,
        "temporal_ui_port": 0,
    }
    values.update(overrides)
    supervisor = Supervisor(StackConfig(**values), stream=io.StringIO())  # type: ignore[arg-type]
    try:
        return await supervisor._prepare()
    finally:
        supervisor._unlock()


async def test_offline_plan_starts_everything_with_the_fake_llm(tmp_path: Path) -> None:
    plan = await _plan(tmp_path)
    assert list(plan.parts) == [
        "temporal",
        "redis",
        "fake-llm",
        "worker-llm",
        "worker-tools",
        "api",
    ]
    worker = plan.parts["worker-llm"].env
    assert worker["LLM_MODEL"] == "openai/fake-agent"
    assert worker["LLM_API_BASE"] == plan.urls["fake_llm"]
    assert worker["LLM_API_KEY"] == "fake"
    assert worker["TEMPORAL_ADDRESS"] == plan.temporal_address
    assert worker["REDIS_URL"].startswith("redis://127.0.0.1:")
    assert plan.parts["worker-llm"].needs == ("temporal", "redis", "fake-llm")
    assert plan.parts["api"].env["API_DEV_MODE"] == "true"
    for part in plan.parts.values():
        assert part.env["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    metrics = [
        plan.parts[n].env[k]
        for n in ("worker-llm", "worker-tools", "api")
        for k in ("METRICS_PORT", "TEMPORAL_METRICS_PORT")
    ]
    assert len(set(metrics)) == len(metrics) and "0" not in metrics
    temporal = plan.parts["temporal"].argv
    for flag in (
        "frontend.enableServerVersionCheck=false",
        "history.transferProcessorMaxPollRPS=1000",
        "Tenant=Keyword",
    ):
        assert flag in temporal
    assert temporal[temporal.index("--db-filename") + 1] == f"{tmp_path}/temporal.db"
    assert "--headless" not in temporal


async def test_a_configured_model_skips_the_fake_and_keys_turn_dev_mode_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("API_KEYS", "k1:tenant1")
    plan = await _plan(tmp_path)
    assert "fake-llm" not in plan.parts
    assert plan.parts["worker-llm"].env["LLM_MODEL"] == "openai/gpt-4o-mini"
    assert "API_DEV_MODE" not in plan.parts["api"].env


async def test_a_reachable_redis_url_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    plan = await _plan(tmp_path)
    assert "redis" not in plan.parts
    assert plan.parts["worker-tools"].env["REDIS_URL"] == redis_url
    assert plan.parts["worker-tools"].needs == ("temporal",)


async def test_an_unreachable_redis_url_falls_back_to_a_private_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    plan = await _plan(tmp_path, without=frozenset({"api"}))
    assert "redis" in plan.parts
    assert any("does not answer" in note for _, note in plan.notes)


async def test_no_redis_at_all_says_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_which = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name: None if name == "redis-server" else real_which(name)
    )
    with pytest.raises(StackError, match="apt-get install redis-server"):
        await _plan(tmp_path)


async def test_a_busy_gateway_port_is_an_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(StackError, match="in use"):
            await _plan(tmp_path, api_port=busy.getsockname()[1])


async def test_one_stack_per_data_dir(tmp_path: Path) -> None:
    first = Supervisor(StackConfig(data_dir=tmp_path), stream=io.StringIO())
    second = Supervisor(StackConfig(data_dir=tmp_path), stream=io.StringIO())
    first._lock()
    try:
        with pytest.raises(StackError, match="already running"):
            second._lock()
    finally:
        first._unlock()
    second._lock()
    second._unlock()
