"""Redis restarts mid-conversation. Without persistence its data is lost:
Temporal is the truth, so a client that resumes with its last id gets a
STATE_SNAPSHOT and goes on to the end. With persistence (AOF) the log comes
back whole, and a stream held open across the restart sees every event once.

Runs a private ``redis-server`` on a free port, never the shared one.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis

from agent_core.models import ConversationStatus
from durable_agent.event_stream import StreamEvent
from tests.agui.client import averify_events, requires_node
from tests.api.sse_client import read_frames, tenant_keys, tenant_of
from tests.support.gateway import api_client, free_port, gateway
from tests.support.stack import WHOLE_TRIP, agent_stack

REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")


class PrivateRedis:
    def __init__(self, directory: str, persistent: bool = False) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = directory
        # every write on disk before it is acknowledged, so a SIGKILL loses nothing
        self.persistent = persistent
        self._persistence = ("yes", "always") if persistent else ("no", "everysec")
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        assert REDIS_SERVER is not None
        self._proc = await asyncio.create_subprocess_exec(
            REDIS_SERVER,
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--dir", self._dir),
            *("--appendonly", self._persistence[0], "--appendfsync", self._persistence[1]),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        client = aioredis.from_url(self.url)
        try:
            for _ in range(200):
                with contextlib.suppress(Exception):
                    if await client.ping():
                        return
                await asyncio.sleep(0.02)
            raise RuntimeError("private redis-server did not start")
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()  # SIGKILL: nothing is saved, like a crash
            await asyncio.wait_for(self._proc.wait(), 5)
        self._proc = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@pytest.fixture(params=[False], ids=["no_persistence"])
async def private_redis(request: pytest.FixtureRequest) -> AsyncIterator[PrivateRedis]:
    with tempfile.TemporaryDirectory() as directory:
        server = PrivateRedis(directory, persistent=request.param)
        await server.start()
        try:
            yield server
        finally:
            await server.stop()


async def _first_proposal(http: httpx.AsyncClient) -> tuple[str, str, list[StreamEvent]]:
    """Start a travel conversation and read its stream up to the first proposal."""
    created = await http.post("/v1/conversations", json={"goal": "travel", "message": WHOLE_TRIP})
    assert created.status_code == 201, created.text
    cid, url = created.json()["id"], created.json()["events_url"]
    frames = await read_frames(
        http, url, until=lambda f: f.name == "tool_call_awaiting_confirmation"
    )
    return cid, url, frames


async def test_redis_restart_mid_conversation_resumes_from_snapshot(
    client, fake_llm, private_redis
):
    api_keys, keys = tenant_keys("alice")
    async with (
        agent_stack(client, fake_llm, private_redis.url, api_keys=api_keys) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as http,
    ):
        # Read until the agent asks to confirm its first tool call, then drop the connection.
        cid, url, before = await _first_proposal(http)
        conv = f"/v1/conversations/{cid}"
        last_id = before[-1].id

        await private_redis.restart()  # every stream and key is gone

        # Confirm through REST, from the workflow's own state (the log is gone).
        snap = (await http.get(conv)).json()
        call = snap["pending_tool_call"]
        assert call is not None, snap
        r = await http.post(f"{conv}/tool-calls/{call['id']}/confirm")
        assert r.status_code == 202, r.text

        # Like a real client: a snapshot is the whole state (its pending call may have
        # been proposed before the snapshot's log position), events go on from there.
        confirmed = {call["id"]}
        refused: list[str] = []

        async def confirm(frame: StreamEvent) -> None:
            if frame.name == "STATE_SNAPSHOT":
                pending = frame.data["snapshot"].get("pendingToolCall")
                call_id = pending["id"] if pending else None
            elif frame.name == "tool_call_awaiting_confirmation":
                call_id = frame.data["value"]["toolCallId"]
            else:
                return
            if call_id is None or call_id in confirmed:
                return
            confirmed.add(call_id)
            r = await http.post(f"{conv}/tool-calls/{call_id}/confirm")
            if r.status_code != 202:
                refused.append(f"{frame.key} {call_id}: {r.text}")

        after = await asyncio.wait_for(
            read_frames(
                http,
                url,
                headers={"Last-Event-ID": last_id},
                until=lambda f: f.is_end,
                on_frame=confirm,
            ),
            60,
        )
        handle = stack.conversations.handle(tenant_of(keys["alice"]), cid)
        final = await asyncio.wait_for(handle.result(), 20)

    trace = [(f.id, f.name, f.key) for f in before[-3:] + after if f.name != "TEXT_MESSAGE_CONTENT"]
    assert not refused, (refused, trace)
    assert after[0].type == "STATE_SNAPSHOT", [f.name for f in after[:3]]
    assert after[0].data["snapshot"]["conversationId"] == cid
    assert "tenant" not in after[0].data["snapshot"]
    assert after[0].id and after[0].id != "0"
    assert after[-1].is_end
    kinds = [f.name for f in after]
    assert kinds.count("STATE_SNAPSHOT") == 1
    assert kinds.count("TOOL_CALL_RESULT") >= 1, kinds  # at least the last tool's result
    keys_after = [f.key for f in after[1:]]
    assert len(set(keys_after)) == len(keys_after), "an event was delivered twice"
    assert final.status == ConversationStatus.ENDED
    assert len(confirmed) == 3
    assert len([m for m in final.transcript if m.role == "tool"]) == 3  # every tool ran once


async def test_events_made_while_redis_is_down_reach_an_open_stream(
    client, fake_llm, private_redis
):
    """A publish that meets a dead Redis is retried until it lands: the turn made
    meanwhile reaches a client that resumes, with no workflow event twice."""
    api_keys, keys = tenant_keys("alice")
    async with (
        agent_stack(client, fake_llm, private_redis.url, api_keys=api_keys) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as http,
    ):
        cid, url, before = await _first_proposal(http)
        conv = f"/v1/conversations/{cid}"
        await private_redis.stop()
        call = (await http.get(conv)).json()["pending_tool_call"]
        r = await http.post(f"{conv}/tool-calls/{call['id']}/confirm")
        assert r.status_code == 202, r.text  # the workflow takes it; its events wait for Redis
        await asyncio.sleep(2)
        await private_redis.start()
        after = await asyncio.wait_for(
            read_frames(
                http,
                url,
                headers={"Last-Event-ID": before[-1].id},
                until=lambda f: f.name == "tool_call_awaiting_confirmation",
            ),
            30,
        )
        await http.post(f"{conv}/end")

    kinds = [f.name for f in after]
    assert "STATE_SNAPSHOT" in kinds  # the old log is gone: one repair, then live events
    assert kinds[-1] == "tool_call_awaiting_confirmation"  # the next proposal, live
    numbers = [f.data["metadata"]["n"] for f in after if "n" in f.data.get("metadata", {})]
    assert numbers == sorted(set(numbers)), "a workflow event came twice or out of order"


@requires_node
@pytest.mark.parametrize("private_redis", [False, True], ids=["lost", "aof"], indirect=True)
async def test_a_stream_held_open_across_a_redis_restart_sees_each_event_once(
    client, fake_llm, private_redis
):
    """One connection, never dropped, while Redis is killed and started again at the
    first proposal: the conversation goes on to its end on that same stream, each
    workflow event once and in order. With AOF nothing is lost, so the stream is
    the whole conversation and the official AG-UI client accepts it as it is."""
    api_keys, keys = tenant_keys("alice")
    async with (
        agent_stack(client, fake_llm, private_redis.url, api_keys=api_keys) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as http,
    ):
        created = await http.post(
            "/v1/conversations", json={"goal": "travel", "message": WHOLE_TRIP}
        )
        assert created.status_code == 201, created.text
        cid, url = created.json()["id"], created.json()["events_url"]
        conv = f"/v1/conversations/{cid}"
        restarted: list[str] = []

        async def confirm(frame: StreamEvent) -> None:
            if frame.name != "tool_call_awaiting_confirmation":
                return
            if not restarted:
                await private_redis.restart()
                restarted.append(frame.key or "")
            call_id = frame.data["value"]["toolCallId"]
            r = await http.post(f"{conv}/tool-calls/{call_id}/confirm")
            assert r.status_code == 202, r.text

        frames = await asyncio.wait_for(
            read_frames(http, url, until=lambda f: f.is_end, on_frame=confirm), 90
        )
        final = await asyncio.wait_for(
            stack.conversations.handle(tenant_of(keys["alice"]), cid).result(), 20
        )

    numbers = [f.data["metadata"]["n"] for f in frames if "n" in f.data.get("metadata", {})]
    assert numbers == sorted(set(numbers)), "a workflow event came twice or out of order"
    assert final.status == ConversationStatus.ENDED
    assert len([m for m in final.transcript if m.role == "tool"]) == 3  # every tool ran once
    if private_redis.persistent:
        assert numbers == list(range(1, len(numbers) + 1)), "a hole in a persistent log"
        assert "STATE_SNAPSHOT" not in [f.name for f in frames]
        verdict = await averify_events([f.data for f in frames])
        assert verdict["ok"], verdict
