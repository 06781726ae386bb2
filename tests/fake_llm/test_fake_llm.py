"""The fake LLM, driven through litellm's real client and raw HTTP.

The product's model path is litellm -> OpenAI SDK -> HTTP, so these tests
prove the fake is good enough for that path: streamed text and tool calls
assemble, errors map to litellm's exception types, the auto brain plans like
the agent expects, and the fake can be scripted in-process or over HTTP.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx
import litellm
import pytest
import pytest_asyncio

from fake_llm import OFF_TOPIC_REASON, FakeLLM, RemoteFakeLLM, Reply
from tests.fake_llm.chat import DONE, PLAN_TOOLS, USER, VALIDATION, tool_turn

litellm.suppress_debug_info = True
# litellm's own TypedDicts warn when pydantic first builds their schemas.
pytestmark = pytest.mark.filterwarnings("ignore:Item.* `ReadOnly` qualifier:UserWarning")


@pytest_asyncio.fixture(scope="module")
async def server() -> AsyncIterator[FakeLLM]:
    async with FakeLLM() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeLLM) -> FakeLLM:
    server.reset()
    return server


async def _stream(fake: FakeLLM, **kwargs: Any) -> list[Any]:
    kwargs.setdefault("messages", USER)
    response = await litellm.acompletion(
        model="openai/fake", api_base=fake.api_base, api_key="k", stream=True, **kwargs
    )
    return [chunk async for chunk in response]


def _text(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


async def test_scripted_text_streams_in_small_chunks(fake: FakeLLM) -> None:
    fake.script("summarize", Reply.say("Hello there, traveller!"))
    chunks = await _stream(fake)
    assert _text(chunks) == "Hello there, traveller!"
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(pieces) == 6 and all(len(p) <= 4 for p in pieces)


async def test_connections_send_each_chunk_at_once(fake: FakeLLM) -> None:
    """TCP_NODELAY on the fake's side of a connection: without it a streamed reply's
    chunks after the first waited for the client's delayed ACK (~40 ms a reply)."""
    async with httpx.AsyncClient() as http:
        request = {"model": "fake", "messages": USER, "stream": True}
        async with http.stream("POST", f"{fake.api_base}/chat/completions", json=request) as r:
            assert r.status_code == 200
            assert fake._server is not None
            sockets = [
                conn.transport.get_extra_info("socket")
                for conn in fake._server.server_state.connections
            ]
            await r.aread()
    assert sockets and all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in sockets)


async def test_scripted_tool_call_assembles(fake: FakeLLM) -> None:
    fake.script("plan", Reply.call("find_events", city="Paris", month="May").replace(text="Ok."))
    chunks = await _stream(fake, tools=PLAN_TOOLS)
    message = litellm.stream_chunk_builder(chunks).choices[0].message
    assert message.content == "Ok."
    [call] = message.tool_calls
    assert call.function.name == "find_events" and call.id.startswith("call_")
    assert json.loads(call.function.arguments) == {"city": "Paris", "month": "May"}


async def test_non_streaming_text_and_tool_call(fake: FakeLLM) -> None:
    fake.script("summarize", "Plain answer.")
    fake.script("plan", Reply.call("search_flights", origin="Sydney"))
    common = {"model": "openai/fake", "api_base": fake.api_base, "api_key": "k", "messages": USER}
    text = await litellm.acompletion(**common)
    assert text.choices[0].message.content == "Plain answer."
    assert text.choices[0].finish_reason == "stop" and text.usage.total_tokens > 0
    call = await litellm.acompletion(**common, tools=PLAN_TOOLS)
    assert call.choices[0].finish_reason == "tool_calls"
    assert json.loads(call.choices[0].message.tool_calls[0].function.arguments) == {
        "origin": "Sydney"
    }


async def test_errors_map_to_litellm_exceptions(fake: FakeLLM) -> None:
    fake.script("summarize", Reply.error(401), Reply.error(429))
    with pytest.raises(litellm.AuthenticationError):
        await _stream(fake, max_retries=0)
    with pytest.raises(litellm.RateLimitError):
        await _stream(fake, max_retries=0)
    assert len(fake.requests) == 2


async def test_malformed_arguments_come_through_verbatim(fake: FakeLLM) -> None:
    fake.script("plan", Reply.call_raw("find_events", '{"city": "Par'))
    chunks = await _stream(fake, tools=PLAN_TOOLS)
    call = litellm.stream_chunk_builder(chunks).choices[0].message.tool_calls[0]
    assert call.function.name == "find_events" and call.function.arguments == '{"city": "Par'


async def test_abort_mid_stream_fails_after_partial_text(fake: FakeLLM) -> None:
    fake.script("summarize", Reply.say("one two three four five", abort_after_chunks=3))
    seen: list[str] = []
    with pytest.raises(Exception, match="Connection error"):
        response = await litellm.acompletion(
            model="openai/fake", api_base=fake.api_base, api_key="k", messages=USER, stream=True
        )
        async for chunk in response:
            seen.append(chunk.choices[0].delta.content or "")
    assert "".join(seen) == "one two "


async def test_auto_brain_proposes_goal_tools_in_order(fake: FakeLLM) -> None:
    first = litellm.stream_chunk_builder(await _stream(fake, tools=PLAN_TOOLS)).choices[0].message
    assert first.content.startswith("Next I'll use find_events (city Melbourne, month April)")
    assert json.loads(first.tool_calls[0].function.arguments) == {
        "city": "Melbourne",
        "month": "April",
    }
    history = USER + tool_turn("c1", "find_events", {"ok": True, "events": []})
    second = (
        litellm.stream_chunk_builder(await _stream(fake, tools=PLAN_TOOLS, messages=history))
        .choices[0]
        .message
    )
    assert second.tool_calls[0].function.name == "search_flights"
    assert json.loads(second.tool_calls[0].function.arguments) == {"origin": "Sydney"}
    assert [r.scripted for r in fake.requests] == [False, False]


async def test_auto_validation_and_summary(fake: FakeLLM) -> None:
    async def validate(text: str) -> dict[str, Any]:
        messages = [{"role": "user", "content": text}]
        chunks = await _stream(fake, tools=[VALIDATION], messages=messages)
        call = litellm.stream_chunk_builder(chunks).choices[0].message.tool_calls[0]
        assert call.function.name == "report_validation"
        return json.loads(call.function.arguments)

    assert (await validate("Book me a trip"))["valid"] is True
    assert await validate("Something Off-Topic") == {"valid": False, "reason": OFF_TOPIC_REASON}
    messages = [{"role": "user", "content": "first  ask"}, {"role": "user", "content": "x" * 400}]
    summary = _text(await _stream(fake, messages=messages))
    assert summary.startswith("Summary: first ask | xxx") and len(summary) <= 310
    assert [r.kind for r in fake.requests] == ["validate", "validate", "summarize"]


async def test_requests_are_recorded_without_the_key(fake: FakeLLM) -> None:
    response = await litellm.acompletion(
        model="openai/fake", api_base=fake.api_base, api_key="sk-secret-123",
        messages=USER, tools=PLAN_TOOLS, stream=True,
    )  # fmt: skip
    [_ async for _ in response]
    [seen] = fake.requests
    assert seen.kind == "plan" and seen.model == "fake" and seen.stream is True
    assert seen.tools == ["find_events", "search_flights", "done"]
    assert seen.messages == USER and seen.has_authorization is True
    async with httpx.AsyncClient() as client:
        dumped = (await client.get(f"{fake.base_url}/_fake/requests")).text
    assert "sk-secret-123" not in dumped and '"has_authorization":true' in dumped


async def test_raw_stream_wire_format(fake: FakeLLM) -> None:
    fake.script("plan", Reply.call("find_events", city="Oslo", month="June").replace(text="Hi"))
    body = {"model": "m", "messages": USER, "tools": PLAN_TOOLS, "stream": True}
    body["stream_options"] = {"include_usage": True}
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{fake.api_base}/chat/completions", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    lines = [line[6:] for line in response.text.split("\n\n") if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(line) for line in lines[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    calls = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks[:-2]
        if "tool_calls" in c["choices"][0]["delta"]
    ]
    assert calls[0]["id"].startswith("call_") and calls[0]["function"]["name"] == "find_events"
    assert len(calls) > 2 and all(c["index"] == 0 for c in calls)
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


async def test_http_control_endpoints_script_the_server(fake: FakeLLM) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as client:
        script = {"kind": "summarize", "replies": [{"text": "from afar", "chunk_chars": 2}]}
        queued = await client.post("/_fake/script", json=script)
        assert queued.json()["queued"]["summarize"] == 1
        bad = await client.post("/_fake/script", json={"kind": "nope", "replies": []})
        assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
        assert _text(await _stream(fake)) == "from afar"
        recorded = (await client.get("/_fake/requests")).json()["requests"]
        assert [(r["kind"], r["scripted"]) for r in recorded] == [("summarize", True)]
        assert (await client.post("/_fake/reset")).json() == {"ok": True}
        assert (await client.get("/_fake/requests")).json() == {"requests": []}
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/v1/models")).json()["data"][0]["id"] == "fake"


async def test_hang_delays_the_answer(fake: FakeLLM) -> None:
    fake.script("summarize", Reply.say("late", hang_seconds=0.3, chunk_delay=0.01))
    started = time.perf_counter()
    assert _text(await _stream(fake)) == "late"
    assert time.perf_counter() - started >= 0.3


async def test_api_key_is_enforced_when_configured() -> None:
    async with FakeLLM(api_key="right") as fake:
        with pytest.raises(litellm.AuthenticationError):
            await litellm.acompletion(
                model="openai/fake", api_base=fake.api_base, api_key="wrong", messages=USER
            )
        ok = await litellm.acompletion(
            model="openai/fake", api_base=fake.api_base, api_key="right", messages=USER
        )
        assert ok.choices[0].message.content.startswith("Summary:")


def test_threaded_server_scripted_remotely() -> None:
    with FakeLLM.start_in_thread() as fake:
        remote = RemoteFakeLLM(fake.api_base)
        assert remote.healthy() and remote.script("plan", Reply.call("done", summary="s")) == {
            "validate": 0,
            "plan": 1,
            "summarize": 0,
        }
        body = {"model": "m", "messages": USER, "tools": [DONE]}
        answer = httpx.post(f"{fake.api_base}/chat/completions", json=body).json()
        assert answer["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "done"
        assert [r.kind for r in remote.requests()] == ["plan"]
        assert remote.requests()[0].has_authorization is False
    assert not remote.healthy()


def test_command_line_server_starts() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "fake_llm", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command)
    try:
        remote = RemoteFakeLLM(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 10
        while not remote.healthy():
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        remote.script("summarize", "cli")
        assert remote.pending()["summarize"] == 1
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_max_tokens_cuts_a_long_reply_with_finish_reason_length(fake: FakeLLM) -> None:
    """A real model held to ``max_tokens`` stops there and says ``length``; so does the fake."""
    fake.script("summarize", Reply.say("word " * 100))
    chunks = await _stream(fake, max_tokens=5)
    assert _text(chunks) == ("word " * 100)[:20]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    [request] = fake.requests
    assert request.max_tokens == 5


async def test_a_reply_scripted_for_a_model_waits_for_that_model(fake: FakeLLM) -> None:
    fake.script("summarize", Reply.say("from the backup", model="backup"), "from anyone")
    assert _text(await _stream(fake)) == "from anyone"
    response = await litellm.acompletion(
        model="openai/backup", api_base=fake.api_base, api_key="k", messages=USER, stream=True
    )
    assert _text([c async for c in response]) == "from the backup"
    assert [r.model for r in fake.requests] == ["fake", "backup"]
