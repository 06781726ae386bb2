"""Connections that Redis reset while they sat idle in a pool, under both event loops.

The gateway runs on uvloop, where writing to such a connection raises a bare
``RuntimeError`` rather than redis-py's ``ConnectionError``: it used to reach
the rate limiter as a 500 and kill the stream reader of a conversation, whose
streams then waited forever (found by the fault campaign's network cut).
Every connection goes through a proxy that resets them all at once; once it
lets connections through again, the next command must simply work.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop

from agent_api.event_tail import EventTail
from agent_core.event_log import EventLog
from agent_core.models import EventRecord
from bench.faults.tcp_proxy import TcpProxy

LOOPS: dict[str, Callable[[Coroutine[Any, Any, None]], None]] = {
    "asyncio": asyncio.run,
    "uvloop": uvloop.run,
}
CUT_SECONDS = 0.3


def _record(n: int) -> EventRecord:
    return EventRecord(key=f"test/{n}", data=f'{{"type": "CUSTOM", "n": {n}}}', type="CUSTOM")


async def _behind_proxy(redis_url: str) -> TcpProxy:
    target = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    proxy = TcpProxy(target)
    await proxy.start()
    return proxy


async def _reset_idle_connections(proxy: TcpProxy) -> None:
    proxy.cut(CUT_SECONDS)
    await asyncio.sleep(CUT_SECONDS + 0.3)  # the loop has seen the resets; the link is back


async def _log_survives(redis_url: str) -> None:
    proxy = await _behind_proxy(redis_url)
    conversation = f"reset-{uuid.uuid4().hex}"
    try:
        async with EventLog(f"redis://127.0.0.1:{proxy.port}/0") as log:
            await log.publish(conversation, [_record(1)])
            await _reset_idle_connections(proxy)
            await log.publish(conversation, [_record(2)])
            read = await log.read_after(conversation, "0")
            assert [e.key for e in read] == ["test/1", "test/2"]
    finally:
        await proxy.close()


async def _tail_survives(redis_url: str) -> None:
    """A stream's reader reads on after the reset: it is woken with the new entry.
    The entries are written past the proxy, so the reader's own pooled connection
    is the one that meets the reset."""
    proxy = await _behind_proxy(redis_url)
    url = f"redis://127.0.0.1:{proxy.port}/0"
    conversation = f"reset-{uuid.uuid4().hex}"

    async def running() -> bool:
        return False

    try:
        async with (
            EventLog(redis_url) as writer,
            EventLog(url) as log,
            EventTail(url, log, closed_check_seconds=3600) as tail,
        ):
            await writer.publish(conversation, [_record(1)])
            with tail.watch(conversation, "0", running) as watch:
                await asyncio.wait_for(watch.woken.wait(), 5)
                await _reset_idle_connections(proxy)
                watch.woken.clear()
                await writer.publish(conversation, [_record(2)])
                await asyncio.wait_for(watch.woken.wait(), 5)
                keys = [e.key for e in tail.after(conversation, "0") or []]
                assert keys == ["test/1", "test/2"]
    finally:
        await proxy.close()


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_the_event_log_works_on_after_its_idle_connections_were_reset(
    loop: str, redis_url: str
) -> None:
    LOOPS[loop](_log_survives(redis_url))


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_a_stream_reader_reads_on_after_its_idle_connections_were_reset(
    loop: str, redis_url: str
) -> None:
    LOOPS[loop](_tail_survives(redis_url))
