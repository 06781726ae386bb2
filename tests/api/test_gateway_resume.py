"""Reconnecting mid-stream: Last-Event-ID (header) and ``?after=`` resume
exactly where the client left off, with no gap and no duplicate."""

from __future__ import annotations

import asyncio

from durable_agent.event_stream import StreamEvent
from tests.api.sse_client import auto_confirm, read_frames, tenant_keys, tenant_of
from tests.support.gateway import api_client, gateway
from tests.support.stack import WHOLE_TRIP, agent_stack


def _end(frame: StreamEvent) -> bool:
    return frame.is_end


def _ids_and_keys(frames: list[StreamEvent]) -> list[tuple[str, str | None]]:
    return [(f.id, f.key) for f in frames]


async def test_reconnect_mid_stream_has_no_gap_and_no_duplicate(client, fake_llm, redis_url):
    api_keys, keys = tenant_keys("alice")
    async with (
        agent_stack(client, fake_llm, redis_url, api_keys=api_keys) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as http,
    ):
        created = await http.post(
            "/v1/conversations", json={"goal": "travel", "message": WHOLE_TRIP}
        )
        assert created.status_code == 201, created.text
        conversation_id, url = created.json()["id"], created.json()["events_url"]

        # One uninterrupted reader drives the conversation (it confirms each tool call).
        whole = asyncio.create_task(
            read_frames(http, url, until=_end, on_frame=auto_confirm(http, conversation_id))
        )
        # Another reader reads a little, disconnects while the agent keeps going, and resumes.
        first = await read_frames(http, url, limit=4)
        await asyncio.sleep(0.3)
        second = await read_frames(http, url, limit=12, headers={"Last-Event-ID": first[-1].id})
        await asyncio.sleep(0.3)
        third = await read_frames(http, f"{url}?after={second[-1].id}", until=_end)
        uninterrupted = await asyncio.wait_for(whole, 60)
        snap = (await http.get(f"/v1/conversations/{conversation_id}")).json()
        assert snap["status"] == "ended"

    assert uninterrupted[-1].is_end
    assert all(f.type != "STATE_SNAPSHOT" for f in first + second + third + uninterrupted)
    assert len(first) == 4 and len(second) == 12
    assert len(third) > 10, "the last leg should still have had events to deliver"
    resumed = first + second + third
    assert _ids_and_keys(resumed) == _ids_and_keys(uninterrupted)
    keys_seen = [f.key for f in resumed]
    assert None not in keys_seen
    assert len(set(keys_seen)) == len(keys_seen), "a key was delivered twice"
    ids = [f.id for f in resumed]
    assert len(set(ids)) == len(ids), "an SSE id was delivered twice"
    assert [f.data for f in resumed] == [f.data for f in uninterrupted]


async def test_idle_stream_stays_quiet_and_live(client, fake_llm, redis_url, caplog):
    """A stream with nothing to say for longer than the event log's socket timeout
    keeps blocking on Redis without taking the quiet for an outage."""
    api_keys, keys = tenant_keys("alice")
    async with (
        agent_stack(client, fake_llm, redis_url, api_keys=api_keys) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as http,
    ):
        created = await http.post("/v1/conversations", json={"goal": "travel"})
        assert created.status_code == 201, created.text
        conv = f"/v1/conversations/{created.json()['id']}"
        received: list[tuple[float, StreamEvent]] = []
        loop = asyncio.get_running_loop()

        async def note(frame: StreamEvent) -> None:
            received.append((loop.time(), frame))

        reader = asyncio.create_task(
            read_frames(
                http, f"{conv}/events", on_frame=note, until=lambda f: f.name == "user_message"
            )
        )
        await asyncio.sleep(6.5)
        sent_at = loop.time()
        assert (await http.post(f"{conv}/messages", json={"text": "hello"})).status_code == 202
        await asyncio.wait_for(reader, 10)
        await http.post(f"{conv}/end")

    assert [f.name for _, f in received] == [
        "RUN_STARTED", "conversation_created", "RUN_FINISHED", "RUN_STARTED", "user_message",
    ]  # fmt: skip
    assert received[-1][0] - sent_at < 1.0
    assert "event log unreachable" not in caplog.text


async def test_many_streams_of_one_conversation_see_the_same_events(client, fake_llm, redis_url):
    """Streams opened at different moments share one reader and miss nothing."""
    api_keys, keys = tenant_keys("alice")
    async with (
        agent_stack(client, fake_llm, redis_url, api_keys=api_keys) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as http,
    ):
        created = await http.post(
            "/v1/conversations", json={"goal": "travel", "message": WHOLE_TRIP}
        )
        conversation_id, url = created.json()["id"], created.json()["events_url"]
        early = [asyncio.create_task(read_frames(http, url, until=_end)) for _ in range(20)]
        driver = asyncio.create_task(
            read_frames(http, url, until=_end, on_frame=auto_confirm(http, conversation_id))
        )
        await asyncio.sleep(0.5)
        late = [asyncio.create_task(read_frames(http, url, until=_end)) for _ in range(20)]
        reads = await asyncio.wait_for(asyncio.gather(driver, *early, *late), 60)

    expected = _ids_and_keys(reads[0])
    assert expected and reads[0][-1].is_end
    for frames in reads[1:]:
        assert _ids_and_keys(frames) == expected


async def test_a_terminated_conversation_closes_its_open_streams(client, fake_llm, redis_url):
    """A workflow terminated by an operator writes no end: the gateway notices
    (one check per conversation) and finishes its streams with a snapshot; a
    reconnect then gets 204."""
    api_keys, keys = tenant_keys("alice")
    async with (
        agent_stack(
            client, fake_llm, redis_url, api_keys=api_keys, api_stream_closed_check_seconds=0.5
        ) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as http,
    ):
        created = await http.post("/v1/conversations", json={"goal": "travel"})
        assert created.status_code == 201, created.text
        cid, url = created.json()["id"], created.json()["events_url"]

        async def terminate_once_open(frame: StreamEvent) -> None:
            if frame.name == "RUN_FINISHED" and not terminated:
                terminated.append(frame.id)
                handle = stack.conversations.handle(tenant_of(keys["alice"]), cid)
                await handle.terminate("an operator stopped it")

        terminated: list[str] = []
        streams = [
            read_frames(http, url, on_frame=terminate_once_open),
            read_frames(http, url),
        ]
        both = await asyncio.wait_for(asyncio.gather(*streams), 30)
        again = await http.get(url, headers={"Last-Event-ID": both[0][-1].id})

    for frames in both:
        assert frames[-1].type == "STATE_SNAPSHOT", [f.name for f in frames]
        assert not any(f.is_end for f in frames)  # no end was written: the snapshot closes it
    assert again.status_code == 204
