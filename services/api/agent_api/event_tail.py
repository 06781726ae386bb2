"""One blocking read per gateway process, waking every SSE stream it serves.

A blocking ``XREAD`` holds a Redis connection for its whole wait, so one per
open stream would exhaust the pool at a hundred clients. Instead this task
waits on all watched conversation streams in one ``XREAD`` and sets an
``asyncio.Event`` per watcher; the streams themselves only make short,
non-blocking reads. The wait is short (``block_ms``) so a newly watched
conversation joins the next read within that time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterator
from types import TracebackType
from typing import Self

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agent_core.event_log import conversation_of, stream_key

__all__ = ["EventTail"]

log = logging.getLogger(__name__)


class EventTail:
    def __init__(self, redis_url: str, block_ms: int = 100) -> None:
        self._redis = aioredis.from_url(
            redis_url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5
        )
        self._block_ms = block_ms
        self._watchers: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._positions: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()

    @contextlib.contextmanager
    def watch(self, conversation_id: str, position: str) -> Iterator[asyncio.Event]:
        """An event set whenever entries after ``position`` (or later ones) arrive."""
        event = asyncio.Event()
        self._watchers[conversation_id].add(event)
        self._positions.setdefault(conversation_id, position)
        self._wake.set()
        try:
            yield event
        finally:
            watchers = self._watchers[conversation_id]
            watchers.discard(event)
            if not watchers:
                del self._watchers[conversation_id]
                self._positions.pop(conversation_id, None)

    async def _run(self) -> None:
        while True:
            if not self._watchers:
                self._wake.clear()
                await self._wake.wait()
                continue
            streams = {stream_key(c): self._positions[c] for c in list(self._watchers)}
            try:
                reply = await self._redis.xread(streams, count=100, block=self._block_ms)
            except RedisError:
                log.warning("event tail: Redis unreachable; waking streams to recover")
                self._wake_all()
                await asyncio.sleep(1)
                continue
            for key, entries in reply or []:
                self._advance(key, entries[-1][0])

    def _advance(self, key: str, last_id: str) -> None:
        conversation_id = conversation_of(key)
        if conversation_id in self._positions:
            self._positions[conversation_id] = last_id
        for event in self._watchers.get(conversation_id, ()):
            event.set()

    def _wake_all(self) -> None:
        for watchers in self._watchers.values():
            for event in watchers:
                event.set()
