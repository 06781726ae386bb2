"""The per-conversation event log on Redis streams: publish and read.

One stream per conversation (``conv:{id}:events``) holds the events in the
order they were published; its entry ids (assigned by Redis, only growing)
are the SSE ``id:``. A hash beside it (``conv:{id}:keys``) maps each event's
deterministic key to its entry id. A Lua script checks the hash and appends
in one atomic step, so a retried or duplicate publish, from any process and
at any time, is a no-op. Both keys are capped and expire (settings).

Publishing raises ``EventLogUnavailable`` when Redis is unreachable, so the caller (an
activity, which Temporal retries) tries again until the event is in the log:
nothing is dropped. Temporal holds the truth; a reader that finds the log
gone or trimmed rebuilds its view from a snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agent_core.errors import EventLogUnavailable
from agent_core.models import EventRecord
from agent_core.redis_options import connection_options

__all__ = ["WAKE_CHANNEL", "EventLog", "LoggedEvent", "conversation_of", "stream_key"]

# every append publishes the conversation's stream key here (agent_api.event_tail)
WAKE_CHANNEL = "conv-events:appended"


# KEYS: stream, key hash, wake channel. ARGV: maxlen, ttl, then per event: key,
# payload, after, type, tag, n. An event whose ``after`` key is set but not in the
# hash is skipped. Readers are woken by the stream key published on the channel.
_APPEND = """
local added = 0
for i = 3, #ARGV, 6 do
  local after = ARGV[i + 2]
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0
     and (after == '' or redis.call('HEXISTS', KEYS[2], after) == 1) then
    local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'key', ARGV[i],
      'event', ARGV[i + 1], 'type', ARGV[i + 3], 'tag', ARGV[i + 4], 'n', ARGV[i + 5])
    redis.call('HSET', KEYS[2], ARGV[i], id)
    added = added + 1
  end
end
if added > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
  redis.call('PUBLISH', KEYS[3], KEYS[1])
end
return added
"""


@dataclass(frozen=True)
class LoggedEvent:
    """An event as read back: its stream entry id, key, AG-UI JSON, and what
    routing needs without parsing it (see ``EventRecord``)."""

    id: str
    key: str
    data: str
    type: str = ""
    tag: str = ""
    n: int | None = None

    @classmethod
    def of(cls, entry_id: str, fields: dict[str, str]) -> LoggedEvent:
        data, n = fields.get("event", "{}"), fields.get("n", "")
        # entries written before 0.2 carry no type field: read it from the JSON
        kind = fields.get("type") or str(json.loads(data).get("type", ""))
        return cls(
            entry_id,
            fields.get("key", ""),
            data,
            kind,
            fields.get("tag", ""),
            int(n) if n.isdigit() else None,
        )


_STREAM_PREFIX, _STREAM_SUFFIX = "conv:", ":events"


def stream_key(conversation_id: str) -> str:
    return f"{_STREAM_PREFIX}{conversation_id}{_STREAM_SUFFIX}"


def conversation_of(key: str) -> str:
    """The conversation id a ``stream_key`` was made from."""
    return key.removeprefix(_STREAM_PREFIX).removesuffix(_STREAM_SUFFIX)


def _keys_key(conversation_id: str) -> str:
    return f"conv:{conversation_id}:keys"


class EventLog:
    """Redis-backed ``EventSink`` and reader. Use as an async context manager."""

    def __init__(
        self,
        redis_url: str,
        maxlen: int = 10_000,
        ttl_seconds: int = 7 * 24 * 3600,
        max_connections: int = 100,
    ) -> None:
        # Past ``max_connections`` a caller waits for a connection instead of failing:
        # thousands of woken streams share one bounded pool.
        pool = aioredis.BlockingConnectionPool.from_url(
            redis_url,
            decode_responses=True,
            socket_connect_timeout=2,
            socket_timeout=5,
            max_connections=max_connections,
            timeout=10,
            **connection_options(),
        )
        self._redis = aioredis.Redis(connection_pool=pool)
        self._append = self._redis.register_script(_APPEND)
        self._maxlen = maxlen
        self._ttl = ttl_seconds

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._redis.aclose()

    async def publish(self, conversation_id: str, events: Sequence[EventRecord]) -> None:
        """Append the events whose keys are new, in order, in one atomic step."""
        if not events:
            return
        args: list[str | int] = [self._maxlen, self._ttl]
        for event in events:
            n = "" if event.n is None else str(event.n)
            args += [event.key, event.data, event.after or "", event.type, event.tag, n]
        keys = [stream_key(conversation_id), _keys_key(conversation_id), WAKE_CHANNEL]
        try:
            await self._append(keys=keys, args=args)
        except RedisError as exc:
            raise EventLogUnavailable(f"event log unavailable ({type(exc).__name__})") from exc

    async def expire(self, conversation_id: str, seconds: int) -> None:
        """Shorten the log's life once the conversation has ended."""
        try:
            for key in (stream_key(conversation_id), _keys_key(conversation_id)):
                await self._redis.expire(key, seconds)
        except RedisError as exc:
            raise EventLogUnavailable(f"event log unavailable ({type(exc).__name__})") from exc

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except RedisError:
            return False

    async def last_id(self, conversation_id: str) -> str | None:
        entries = await self._redis.xrevrange(stream_key(conversation_id), count=1)
        return entries[0][0] if entries else None

    async def first_key(self, conversation_id: str) -> str | None:
        entries = await self._redis.xrange(stream_key(conversation_id), count=1)
        return entries[0][1].get("key") if entries else None

    async def read_after(
        self, conversation_id: str, after: str, block_ms: int | None = None, count: int = 500
    ) -> list[LoggedEvent]:
        """Entries strictly after ``after`` ("0" for all), waiting up to ``block_ms``."""
        reply = await self._redis.xread(
            {stream_key(conversation_id): after}, count=count, block=block_ms
        )
        return [
            LoggedEvent.of(entry_id, fields)
            for _, entries in reply or []
            for entry_id, fields in entries
        ]

    async def read_back(
        self, conversation_id: str, before: str, count: int = 100
    ) -> list[LoggedEvent]:
        """Up to ``count`` entries at or before ``before``, newest first."""
        entries = await self._redis.xrevrange(
            stream_key(conversation_id), max=before, min="-", count=count
        )
        return [LoggedEvent.of(i, f) for i, f in entries]

    async def last_number(self, conversation_id: str, position: str = "+") -> int:
        """The workflow number (``n``) of the newest numbered entry at or before
        ``position`` (among the 200 before it), 0 if none."""
        for entry in await self.read_back(conversation_id, position, count=200):
            if entry.n is not None:
                return entry.n
        return 0

    async def contains(self, conversation_id: str, entry_id: str) -> bool:
        """Whether ``entry_id`` is still in the stream (not trimmed, not lost)."""
        entries = await self._redis.xrange(stream_key(conversation_id), min=entry_id, max=entry_id)
        return bool(entries)
