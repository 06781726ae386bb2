"""Both model clients against the fake LLM over real HTTP: the ChatModel contract.

Each test runs for the OpenAI SDK client (``openai/`` models) and for the
litellm client (every other provider): streamed text reaches ``on_text`` as it
arrives and equals the reply's text; tool calls come back with their raw
arguments however they were split over chunks; usage is the provider's;
provider errors become the agent core's model errors, with no provider retries.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from typing import Any

import litellm
import pytest
from litellm.integrations.custom_logger import CustomLogger

from agent_core.chat_model import ChatModel, ModelReply, ModelToolCall
from agent_core.errors import ModelAuthError, ModelBadRequest, ModelUnavailable
from agent_core.settings import Settings
from fake_llm import FakeLLM, Reply
from fake_llm.wire import usage_for
from worker_llm.chat_model import chat_model_for, chat_models_for
from worker_llm.litellm_model import LitellmChatModel
from worker_llm.openai_model import OpenAIChatModel
from worker_llm.reply_builder import ReplyBuilder

# litellm's own TypedDicts warn when pydantic first builds their schemas.
pytestmark = pytest.mark.filterwarnings("ignore:Item.* `ReadOnly` qualifier:UserWarning")


def _tool(name: str, **properties: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {key: {"type": kind} for key, kind in properties.items()},
        "required": list(properties),
    }
    return {"type": "function", "function": {"name": name, "parameters": schema}}


# ``done`` makes the fake treat a request as a plan call; no tools, a summary.
TOOLS = [_tool("find_events", city="string", month="string"), _tool("done", summary="string")]
MESSAGES = [
    {"role": "system", "content": "You are a travel agent."},
    {"role": "user", "content": "An event in Melbourne in April"},
]


MakeModel = Callable[..., ChatModel]
CLIENTS = {"openai": OpenAIChatModel, "litellm": LitellmChatModel}


def _settings(api_base: str, api_key: str | None = "k", **more: Any) -> Settings:
    return Settings(
        llm_model="openai/fake-agent", llm_api_base=api_base, llm_api_key=api_key, **more
    )


@pytest.fixture(params=sorted(CLIENTS))
def make_model(request: pytest.FixtureRequest) -> MakeModel:
    """A client of each kind for ``(api_base, api_key="k")``."""
    return lambda api_base, api_key="k", **more: CLIENTS[request.param](
        _settings(api_base, api_key, **more)
    )


class _Deltas:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, delta: str) -> None:
        self.seen.append(delta)


async def test_text_streams_as_it_arrives_and_usage_is_the_providers(
    fake_llm: FakeLLM, make_model: MakeModel
) -> None:
    answer = Reply.say("Which month are you thinking of?", chunk_chars=3)
    fake_llm.script("summarize", answer)
    deltas = _Deltas()
    reply = await make_model(fake_llm.api_base).complete(MESSAGES, None, deltas)

    assert deltas.seen[:3] == ["Whi", "ch ", "mon"]
    assert "".join(deltas.seen) == reply.text == answer.text
    usage = usage_for(MESSAGES, answer)
    assert reply == ModelReply(
        text=answer.text,
        tool_calls=[],
        prompt_tokens=usage["prompt_tokens"],
        completion_tokens=usage["completion_tokens"],
        finish_reason="stop",
    )
    [request] = fake_llm.requests
    assert request.stream and not request.tools
    assert request.include_usage  # the usage is asked for: servers send none unasked


async def test_a_tool_call_split_over_many_chunks_is_put_back_together(
    fake_llm: FakeLLM, make_model: MakeModel
) -> None:
    answer = Reply.call("find_events", city="Melbourne", month="April").replace(
        text="Let me look for events.", chunk_chars=2
    )
    fake_llm.script("plan", answer)
    deltas = _Deltas()
    reply = await make_model(fake_llm.api_base).complete(MESSAGES, TOOLS, deltas)

    assert reply.text == "".join(deltas.seen) == "Let me look for events."
    assert reply.tool_calls == [
        ModelToolCall(name="find_events", arguments='{"city":"Melbourne","month":"April"}')
    ]
    usage = usage_for(MESSAGES, answer)
    assert (reply.prompt_tokens, reply.completion_tokens) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )


async def test_calls_reuse_one_connection(fake_llm: FakeLLM, make_model: MakeModel) -> None:
    """A reply is read to the end of its body, so the connection goes back to the
    pool: a new one per call would mean a TCP (and, remote, a TLS) handshake each."""
    model = make_model(fake_llm.api_base)
    assert fake_llm._server is not None
    seen = []
    for _ in range(3):
        fake_llm.script("summarize", "Short and sweet.")
        assert (await model.complete(MESSAGES, None)).text == "Short and sweet."
        await asyncio.sleep(0.05)  # a closed connection leaves the server's set by now
        seen.append(set(fake_llm._server.server_state.connections))
    assert len(seen[0]) == 1 and seen[0] == seen[1] == seen[2]


async def test_broken_arguments_come_back_verbatim(
    fake_llm: FakeLLM, make_model: MakeModel
) -> None:
    fake_llm.script("plan", Reply.call_raw("find_events", '{"city": "Melbourne", "month": '))
    reply = await make_model(fake_llm.api_base).complete(MESSAGES, TOOLS)
    assert reply.text == ""
    assert reply.tool_calls == [
        ModelToolCall(name="find_events", arguments='{"city": "Melbourne", "month": ')
    ]


async def test_force_tool_asks_for_that_function(fake_llm: FakeLLM, make_model: MakeModel) -> None:
    fake_llm.script("plan", Reply.call("done", summary="ok"))
    reply = await make_model(fake_llm.api_base).complete(MESSAGES, TOOLS, force_tool="done")
    assert reply.tool_calls == [ModelToolCall(name="done", arguments='{"summary":"ok"}')]
    [request] = fake_llm.requests
    assert request.tool_choice == {"type": "function", "function": {"name": "done"}}


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, ModelAuthError),
        (403, ModelAuthError),
        (400, ModelBadRequest),
        (404, ModelBadRequest),
        (422, ModelBadRequest),
        (429, ModelUnavailable),
        (500, ModelUnavailable),
        (503, ModelUnavailable),
    ],
)
async def test_http_errors_become_model_errors_without_retries(
    fake_llm: FakeLLM, make_model: MakeModel, status: int, error: type[Exception]
) -> None:
    fake_llm.script("plan", Reply.error(status))
    with pytest.raises(error) as raised:
        await make_model(fake_llm.api_base).complete(MESSAGES, TOOLS)
    assert raised.value.status == status  # type: ignore[attr-defined]
    assert len(fake_llm.requests) == 1  # litellm and the OpenAI SDK did not retry


async def test_a_wrong_api_key_is_an_auth_error(make_model: MakeModel) -> None:
    async with FakeLLM(api_key="right") as fake:
        with pytest.raises(ModelAuthError):
            await make_model(fake.api_base, api_key="wrong").complete(MESSAGES, None)
        assert await make_model(fake.api_base, api_key="right").complete(MESSAGES, None)


async def test_a_stream_cut_half_way_is_unavailable_after_partial_text(
    fake_llm: FakeLLM, make_model: MakeModel
) -> None:
    fake_llm.script("summarize", Reply.say("one two three four five", abort_after_chunks=3))
    deltas = _Deltas()
    with pytest.raises(ModelUnavailable):
        await make_model(fake_llm.api_base).complete(MESSAGES, None, deltas)
    assert "".join(deltas.seen) == "one two "


def _nowhere() -> str:
    """An API base where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


async def test_a_local_server_needs_no_key(
    fake_llm: FakeLLM, make_model: MakeModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``openai/`` at an LLM_API_BASE with neither LLM_API_KEY nor OPENAI_API_KEY (a
    llama.cpp or vLLM server): both clients send the request. litellm's failed it
    before sending, as a 500: five retries, then "unavailable"."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    fake_llm.script("summarize", Reply.say("Hello from a local model."))
    reply = await make_model(fake_llm.api_base, api_key=None).complete(MESSAGES, None)
    assert reply.text == "Hello from a local model."
    assert len(fake_llm.requests) == 1


async def test_no_server_is_unavailable(make_model: MakeModel) -> None:
    with pytest.raises(ModelUnavailable):
        await make_model(_nowhere()).complete(MESSAGES, None)


@pytest.mark.parametrize("client_kind", ["auto", "litellm"])
async def test_a_fallback_may_name_its_own_api_base(fake_llm: FakeLLM, client_kind: str) -> None:
    """``model@http...`` calls that base; other entries (an ``@`` that starts no URL
    included) share LLM_API_BASE, here one where nothing listens."""
    nowhere = _nowhere()
    vertex = "vertex_ai/claude-3-5-sonnet@20240620"
    settings = _settings(
        nowhere,
        llm_client=client_kind,
        llm_fallback_models=f"openai/backup@{fake_llm.api_base}, {vertex}",
    )
    assert settings.fallback_models == [("openai/backup", fake_llm.api_base), (vertex, None)]
    primary, backup, _ = chat_models_for(settings)
    with pytest.raises(ModelUnavailable):
        await primary.complete(MESSAGES, None)
    fake_llm.script("summarize", Reply.say("From the backup."))
    reply = await backup.complete(MESSAGES, None)
    assert (backup.name, reply.text) == ("openai/backup", "From the backup.")
    assert [r.model for r in fake_llm.requests] == ["backup"]


async def test_registered_success_callbacks_still_get_the_whole_reply(fake_llm: FakeLLM) -> None:
    """The stream is read past the usage chunk when anyone listens for successes."""

    class Listener(CustomLogger):
        def __init__(self) -> None:
            super().__init__()
            self.texts: list[str] = []

        async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):  # type: ignore[no-untyped-def]
            self.texts.append(response_obj.choices[0].message.content)

    listener = Listener()
    fake_llm.script("summarize", "Logged in full.")
    litellm.callbacks = [listener]
    try:
        reply = await LitellmChatModel(_settings(fake_llm.api_base)).complete(MESSAGES, None)
        for _ in range(100):
            if listener.texts:
                break
            await asyncio.sleep(0.02)
    finally:
        litellm.callbacks = []
    assert listener.texts == [reply.text] == ["Logged in full."]


def test_tool_call_fragments_are_merged_by_index() -> None:
    """Interleaved fragments of three calls, the third with no arguments."""
    builder = ReplyBuilder()
    for index, name, arguments in [
        (1, "book_flight", ""),
        (0, "find_events", '{"ci'),
        (0, None, 'ty":"Mel"}'),
        (1, None, '{"seats":'),
        (1, None, "2}"),
        (2, "list_cities", None),
        (3, None, "{}"),  # never named: dropped
    ]:
        builder.tool_fragment(index, name, arguments)
    builder.finish()
    assert not builder.complete  # the usage is still to come
    builder.usage(10, 5)
    assert builder.complete
    assert builder.build().tool_calls == [
        ModelToolCall(name="find_events", arguments='{"city":"Mel"}'),
        ModelToolCall(name="book_flight", arguments='{"seats":2}'),
        ModelToolCall(name="list_cities", arguments="{}"),
    ]


def test_openai_models_take_the_sdk_client_unless_litellm_is_asked_for() -> None:
    def kind(**settings: str) -> type:
        return type(chat_model_for(Settings(llm_api_base="http://127.0.0.1:1/v1", **settings)))

    assert kind(llm_model="openai/gpt-4o-mini") is OpenAIChatModel
    assert kind(llm_model="openai/gpt-4o-mini", llm_client="litellm") is LitellmChatModel
    assert kind(llm_model="ollama/qwen2.5") is LitellmChatModel
    assert kind(llm_model="anthropic/claude-sonnet-4") is LitellmChatModel


@pytest.mark.skipif("LITELLM_LOG" in os.environ, reason="LITELLM_LOG asks for litellm's logs")
def test_model_clients_log_only_warnings() -> None:
    """No line per model call in the worker's log (litellm's, the OpenAI SDK's)."""
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx2", "openai"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING


async def test_max_tokens_is_sent_and_a_reply_cut_there_says_so(
    fake_llm: FakeLLM, make_model: MakeModel
) -> None:
    fake_llm.script("summarize", Reply.say("on and on " * 200))
    reply = await make_model(fake_llm.api_base).complete(MESSAGES, None, max_tokens=8)
    assert reply.truncated and reply.finish_reason == "length"
    assert reply.text == ("on and on " * 200)[:32]
    [request] = fake_llm.requests
    assert request.max_tokens == 8


async def test_the_timeout_bounds_the_whole_stream_not_each_read(
    fake_llm: FakeLLM, make_model: MakeModel
) -> None:
    """A reply trickling a chunk every 0.2 s for 4 s never trips a read timeout;
    LLM_TIMEOUT_SECONDS=1 must still end the call after about a second."""
    fake_llm.script("summarize", Reply.say("x" * 80, chunk_chars=4, chunk_delay=0.2))
    deltas = _Deltas()
    started = asyncio.get_running_loop().time()
    with pytest.raises(ModelUnavailable, match="over 1 s"):
        await make_model(fake_llm.api_base, llm_timeout_seconds=1).complete(MESSAGES, None, deltas)
    took = asyncio.get_running_loop().time() - started
    assert 0.9 < took < 2.0 and deltas.seen  # it streamed, then was cut


def test_litellm_lines_come_out_once_through_the_workers_handler() -> None:
    """litellm's own stderr handlers are gone: with them each line came out twice."""
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logger = logging.getLogger(name)
        assert logger.handlers == [] and logger.propagate
