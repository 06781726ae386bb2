"""The stack's options and the choices they lead to: model, auth, printed URLs."""

from __future__ import annotations

import pytest

from agent_core.conversation_client import TENANT_KEY
from durable_agent import stack as stack_mod
from durable_agent.stack import (
    PROVIDER_KEYS,
    choose_model,
    dev_mode,
    mask_url,
    parse_args,
)

pytestmark = pytest.mark.fast

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
