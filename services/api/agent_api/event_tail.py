"""One subscription and one reader per conversation, for every SSE stream of a gateway.

The append script publishes the conversation's stream key on one pub/sub
channel (``event_log.WAKE_CHANNEL``) whenever it adds entries. This task
listens on that channel; for a conversation some stream watches, one feed
reads the new entries once and keeps the recent ones in memory, then wakes
the conversation's streams, which take what follows their position from the
feed (``after``). A stream further behind than the feed reaches (a resume
from long ago) reads Redis itself until it catches up. So no stream blocks on
Redis or polls it, and a thousand streams of one conversation cost one read.

Pub/sub is a wake-up, not the data: a message missed while Redis was away is
made up for by reading again: every feed re-reads whenever the subscription's
connection comes back (also when redis-py reconnected it silently, within its
own retries), and a feed whose read failed retries until it gets through.

A conversation whose workflow closed without its end in the log (terminated
by an operator, or its log lost after the end) would leave its streams
waiting: each feed asks Temporal, every ``closed_check_seconds``
(``API_STREAM_CLOSED_CHECK_SECONDS``), whether
the workflow still runs, once for all its streams, and has them repair from
a snapshot (which ends them) when it does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType
from typing import Self

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agent_core.event_log import WAKE_CHANNEL, EventLog, LoggedEvent, conversation_of

__all__ = ["EventTail", "IsClosed", "Watch"]

log = logging.getLogger(__name__)

_KEPT = 2_000  # recent entries a feed keeps for streams that follow it
_RETRY_SECONDS = 0.5  # between a feed's reads while Redis is unreachable

IsClosed = Callable[[], Awaitable[bool]]


class _Feed:
    """The recent entries of one conversation, read once for all its streams."""

    def __init__(self, start: str) -> None:
        self.start = start  # the position the kept entries follow
        self.entries: list[LoggedEvent] = []
        self.index: dict[str, int] = {}
        self.watchers: set[Watch] = set()
        self.reading: asyncio.Task[None] | None = None
        self.checking: asyncio.Task[None] | None = None
        self.again = False
        self.repairs = 0  # bumped when every stream must rebuild from a snapshot

    @property
    def position(self) -> str:
        return self.entries[-1].id if self.entries else self.start

    def after(self, position: str) -> list[LoggedEvent] | None:
        """The kept entries after ``position``; None when it is not in reach."""
        if position == self.start:
            return list(self.entries)
        at = self.index.get(position)
        return None if at is None else self.entries[at + 1 :]

    def add(self, entries: list[LoggedEvent]) -> None:
        self.entries += entries
        if len(self.entries) > _KEPT:
            dropped = self.entries[: len(self.entries) - _KEPT]
            self.start, self.entries = dropped[-1].id, self.entries[len(dropped) :]
            self.index = {e.id: i for i, e in enumerate(self.entries)}
        else:
            first = len(self.entries) - len(entries)
            self.index.update((e.id, first + i) for i, e in enumerate(entries))

    def wake(self) -> None:
        for watch in self.watchers:
            watch.woken.set()


class Watch:
    """One stream's hold on its conversation's feed: woken when the log grew or
    a repair is due."""

    def __init__(self, feed: _Feed) -> None:
        self.woken = asyncio.Event()
        self.stopped = False  # the gateway is shutting down: the stream should end
        self._feed = feed
        self._repairs = feed.repairs

    def stop(self) -> None:
        self.stopped = True
        self.woken.set()

    def must_repair(self) -> bool:
        """Whether a repair came since this stream last asked."""
        if self._repairs == self._feed.repairs:
            return False
        self._repairs = self._feed.repairs
        return True


class EventTail:
    def __init__(self, redis_url: str, log_: EventLog, closed_check_seconds: float = 30.0) -> None:
        # no retry options here: a subscription that fails is made again from scratch
        # by ``_run``, which then re-reads every feed
        self._redis = aioredis.from_url(
            redis_url, decode_responses=True, socket_connect_timeout=2, health_check_interval=10
        )
        self._log = log_
        self._closed_check_seconds = closed_check_seconds
        self._feeds: dict[str, _Feed] = {}
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
        feeds = self._feeds.values()
        tasks = [self._task, *(f.reading for f in feeds), *(f.checking for f in feeds)]
        for task in tasks:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._redis.aclose()

    @contextlib.contextmanager
    def watch(self, conversation_id: str, position: str, is_closed: IsClosed) -> Iterator[Watch]:
        """A stream's watch on the conversation; a stream at ``position`` starts
        the feed there if it is the first."""
        feed = self._feeds.get(conversation_id)
        if feed is None:
            feed = self._feeds[conversation_id] = _Feed(position)
            self._refresh(conversation_id)  # what the log already holds after it
            feed.checking = asyncio.create_task(self._check_closed(feed, is_closed))
        watch = Watch(feed)
        feed.watchers.add(watch)
        try:
            yield watch
        finally:
            feed.watchers.discard(watch)
            if not feed.watchers:
                for task in (feed.reading, feed.checking):
                    if task is not None:
                        task.cancel()
                del self._feeds[conversation_id]

    def after(self, conversation_id: str, position: str) -> list[LoggedEvent] | None:
        """What follows ``position`` in the feed, or None: read Redis to catch up."""
        feed = self._feeds.get(conversation_id)
        return None if feed is None else feed.after(position)

    async def _run(self) -> None:
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(WAKE_CHANNEL)
                    # redis-py reconnects and resubscribes by itself within its retries,
                    # raising nothing: the wake-ups sent meanwhile are gone, so every
                    # (re)connect re-reads all feeds, not only one that raised
                    connection = pubsub.connection
                    connection.register_connect_callback(self._refresh_all)
                    try:
                        self._refresh_all()  # what came while away
                        async for message in pubsub.listen():
                            self._refresh(conversation_of(str(message.get("data", ""))))
                    finally:
                        connection.deregister_connect_callback(self._refresh_all)
            except RedisError:
                log.warning("event tail: Redis unreachable; subscribing again")
                await asyncio.sleep(1)
            except Exception:  # uvloop's RuntimeError on a reset connection, or a surprise:
                # a dead subscription would leave every stream of this gateway waiting
                log.exception("event tail: subscription failed; subscribing again")
                await asyncio.sleep(1)

    async def _check_closed(self, feed: _Feed, is_closed: IsClosed) -> None:
        while True:
            await asyncio.sleep(self._closed_check_seconds)
            if await is_closed():
                feed.repairs += 1
                feed.wake()
                return

    def _refresh_all(self, connection: object = None) -> None:
        """Re-read every watched conversation (a connect callback, or after a
        subscription came back)."""
        for conversation_id in list(self._feeds):
            self._refresh(conversation_id)

    def _refresh(self, conversation_id: str) -> None:
        feed = self._feeds.get(conversation_id)
        if feed is None:
            return
        if feed.reading is not None and not feed.reading.done():
            feed.again = True
            return
        feed.reading = asyncio.create_task(self._read(conversation_id, feed))

    async def _read(self, conversation_id: str, feed: _Feed) -> None:
        """Read until nothing is new, then wake the conversation's streams."""
        while True:
            feed.again = False
            try:
                entries = await self._log.read_after(conversation_id, feed.position)
            except RedisError:
                # Redis is away: the wake-ups that come back with it may already be
                # spent, so this feed reads again until it gets through
                await asyncio.sleep(_RETRY_SECONDS)
                continue
            except Exception:  # a driver's surprise must not leave the streams waiting
                log.exception("event tail: reading %s failed; reading again", conversation_id)
                await asyncio.sleep(_RETRY_SECONDS)
                continue
            feed.add(entries)
            if entries:
                feed.wake()
            if not entries and not feed.again:
                return
