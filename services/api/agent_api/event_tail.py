"""One subscription per gateway process, waking the SSE streams it serves.

The append script publishes the conversation's stream key on one pub/sub channel
(``event_log.WAKE_CHANNEL``) whenever it adds entries. This task listens on
that channel and sets an ``asyncio.Event`` for each watcher of that
conversation; the woken streams then make one short, non-blocking read each.
No stream blocks on Redis or polls it, so thousands of open streams hold no
connection while they wait. Pub/sub is a wake-up, not the data: a message
missed while Redis was away is made up for by the streams' idle re-check,
and every watcher is woken when the subscription is re-established.
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

from agent_core.event_log import WAKE_CHANNEL, conversation_of

__all__ = ["EventTail"]

log = logging.getLogger(__name__)


class EventTail:
    def __init__(self, redis_url: str) -> None:
        self._redis = aioredis.from_url(
            redis_url, decode_responses=True, socket_connect_timeout=2, health_check_interval=10
        )
        self._watchers: dict[str, set[asyncio.Event]] = defaultdict(set)
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
    def watch(self, conversation_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever the conversation's log may have grown."""
        event = asyncio.Event()
        self._watchers[conversation_id].add(event)
        try:
            yield event
        finally:
            watchers = self._watchers[conversation_id]
            watchers.discard(event)
            if not watchers:
                del self._watchers[conversation_id]

    async def _run(self) -> None:
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(WAKE_CHANNEL)
                    self._wake_all()  # anything appended while we were not listening
                    async for message in pubsub.listen():
                        self._wake(conversation_of(str(message.get("data", ""))))
            except RedisError:
                log.warning("event tail: Redis unreachable; waking streams to recover")
                self._wake_all()
                await asyncio.sleep(1)

    def _wake(self, conversation_id: str) -> None:
        for event in self._watchers.get(conversation_id, ()):
            event.set()

    def _wake_all(self) -> None:
        for watchers in self._watchers.values():
            for event in watchers:
                event.set()
