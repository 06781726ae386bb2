"""What the supervisor prints before starting and once the stack is up."""

from __future__ import annotations

from pathlib import Path

import pytest

from durable_agent.stack.banner import ready_lines, starting_lines
from durable_agent.stack.plan import Part, Plan
from durable_agent.stack.probes import HttpReady

pytestmark = pytest.mark.fast

GATEWAY = "http://127.0.0.1:8000"
URLS = {
    "gateway": GATEWAY,
    "docs": f"{GATEWAY}/docs",
    "chat": f"{GATEWAY}/",
    "temporal_ui": "http://127.0.0.1:8233",
}


def part(name: str, **env: str) -> Part:
    return Part(name, [name], env, HttpReady("127.0.0.1", 1, "/"))


def a_plan(*parts: Part, urls: dict[str, str] | None = None) -> Plan:
    return Plan(
        parts={p.name: p for p in parts},
        urls=URLS if urls is None else urls,
        facts=[("Model", "FAKE LLM"), ("Redis", "redis://127.0.0.1:6390/0")],
        notes=[("warn", "gateway in DEV MODE")],
        temporal_address="127.0.0.1:7233",
        namespace="default",
    )


def test_starting_says_the_notes_the_fake_llm_and_where_to_look_next() -> None:
    plan = a_plan(part("temporal"), part("fake-llm"), part("api", API_DEV_MODE="true"))
    lines = starting_lines(plan, Path("/srv/data"))
    assert lines[0] == ("warn", "gateway in DEV MODE")
    assert (
        "warn",
        "*  No model configured: using the FAKE LLM (reads your words, no real LLM).",
    ) in lines
    assert lines[-2:] == [
        ("info", "data directory: /srv/data"),
        (
            "info",
            f"starting temporal, fake-llm, api (then: gateway {GATEWAY}, "
            "Temporal UI http://127.0.0.1:8233)",
        ),
    ]
    plain = starting_lines(a_plan(part("temporal"), urls={}), Path("/d"))
    assert not any("FAKE LLM" in text for _, text in plain)
    assert plain[-1] == ("info", "starting temporal")


def test_the_ready_banner_aligns_urls_and_facts() -> None:
    lines = ready_lines(a_plan(part("api", API_DEV_MODE="true")))
    assert {level for level, _ in lines} == {"ok"}
    texts = [text for _, text in lines]
    assert texts[0] == texts[-1] == "-" * 72
    assert texts[1:8] == [
        "durable-agent is up",
        f"  Gateway      {GATEWAY}",
        f"  API docs     {GATEWAY}/docs",
        f"  Web chat     {GATEWAY}/",
        "  Temporal UI  http://127.0.0.1:8233",
        "  Model        FAKE LLM",
        "  Redis        redis://127.0.0.1:6390/0",
    ]
    assert texts[8] == "try it: make demo (in another terminal)   stop: Ctrl-C"


def test_the_hint_names_the_key_the_demo_needs_or_the_missing_gateway() -> None:
    keyed = ready_lines(a_plan(part("api")))[-2][1]
    assert keyed.startswith("try it: DURABLE_AGENT_API_KEY=<one of API_KEYS> make demo")
    headless = ready_lines(a_plan(part("temporal"), urls={}))
    assert headless[-2][1] == "stop: Ctrl-C (no gateway: started --without api)"
