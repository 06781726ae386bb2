"""The conversation event stream: log replay, resumption, snapshots, the end.

A stream starts from one of three places:

- ``Last-Event-ID`` (or ``?after=``) names an entry still in the log: go on
  right after it, so a reconnecting client gets no gap and no duplicate;
- no id, and the log still starts with the conversation's first event:
  replay the whole retained log;
- otherwise (trimmed, expired, or lost with a Redis restart): send a
  ``STATE_SNAPSHOT`` built from the workflow query, whose id is the log
  position it reflects, and go on from there. Temporal is the source of
  truth; Redis is the fast path.

The stream ends after the ``status_changed: ended`` event. While idle it
sends keep-alive comments; when Redis fails it waits, reconnects and, if
its position was lost, starts over from a snapshot.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from redis.exceptions import RedisError
from sse_starlette import ServerSentEvent

from agent_api.event_tail import EventTail
from agent_core import events as ev
from agent_core.event_log import EventLog, LoggedEvent
from agent_core.models import ConversationSnapshot, ConversationStatus

__all__ = ["conversation_stream"]

log = logging.getLogger(__name__)

RETRY_MS = 2_000
# How long a quiet stream waits before checking whether the workflow closed
# without its end being logged (Redis was down at the time).
_IDLE_CHECK_SECONDS = 3.0

Snapshotter = Callable[[], Awaitable[ConversationSnapshot]]
IsClosed = Callable[[], Awaitable[bool]]


def _is_end(data: str) -> bool:
    if '"ended"' not in data:
        return False
    event = json.loads(data)
    return event.get("name") == "status_changed" and event.get("value", {}).get("status") == "ended"


def _frame(entry: LoggedEvent) -> ServerSentEvent:
    kind = json.loads(entry.data).get("type", "CUSTOM")
    return ServerSentEvent(data=entry.data, id=entry.id, event=kind, retry=RETRY_MS)


async def _snapshot_frames(
    log_: EventLog, conversation_id: str, snapshot: Snapshotter
) -> tuple[list[ServerSentEvent], str, bool]:
    """Frames for a snapshot, the log position it reflects, and whether it ended."""
    try:
        position = await log_.last_id(conversation_id) or "0"
    except RedisError:
        position = "0"
    snap = await snapshot()
    snap_event = ev.snapshot(snap)
    frames = [
        ServerSentEvent(
            data=snap_event.to_json(), id=position, event=snap_event.type, retry=RETRY_MS
        )
    ]
    ended = snap.status is ConversationStatus.ENDED
    if ended:
        end = ev.status_changed(snap.last_seq, ConversationStatus.ENDED)
        frames.append(ServerSentEvent(data=end.to_json(), id=position, event=end.type))
    return frames, position, ended


async def _start(log_: EventLog, conversation_id: str, resume_from: str | None) -> str | None:
    """Where to read from without a snapshot, or None when one is needed."""
    try:
        if resume_from:
            return resume_from if await log_.contains(conversation_id, resume_from) else None
        return "0" if await log_.first_key(conversation_id) == ev.FIRST_EVENT_KEY else None
    except RedisError:
        return None


async def conversation_stream(
    log_: EventLog,
    tail: EventTail,
    conversation_id: str,
    resume_from: str | None,
    snapshot: Snapshotter,
    is_closed: IsClosed,
    on_event: Callable[[], None] = lambda: None,
) -> AsyncIterator[ServerSentEvent]:
    position = await _start(log_, conversation_id, resume_from)
    with tail.watch(conversation_id, position or "0") as woken:
        while True:
            if position is None:
                frames, position, ended = await _snapshot_frames(log_, conversation_id, snapshot)
                for frame in frames:
                    on_event()
                    yield frame
                if ended:
                    return
            woken.clear()
            try:
                entries = await log_.read_after(conversation_id, position)
            except RedisError:
                log.warning("event log unreachable while streaming; retrying")
                await asyncio.sleep(1)
                position = await _recover(log_, conversation_id, position)
                continue
            for entry in entries:
                position = entry.id
                on_event()
                yield _frame(entry)
                if _is_end(entry.data):
                    return
            if entries:
                continue
            try:
                await asyncio.wait_for(woken.wait(), _IDLE_CHECK_SECONDS)
            except TimeoutError:
                if await is_closed():
                    position = (
                        None  # the end was not logged (Redis was down): finish from a snapshot
                    )


async def _recover(log_: EventLog, conversation_id: str, position: str) -> str | None:
    try:
        if position == "0" or await log_.contains(conversation_id, position):
            return position
    except RedisError:
        return position
    return None
