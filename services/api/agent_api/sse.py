"""The conversation event stream: log replay, resumption, repair, the end.

A stream starts from one of three places:

- ``Last-Event-ID`` (or ``?after=``) names an entry still in the log: go on
  right after it, so a reconnecting client gets no gap and no duplicate;
- no id, and the log still starts with the conversation's first event (or is
  empty and then gets it: a conversation just created): replay the whole log;
- otherwise (trimmed, expired, or lost with a Redis restart): send a
  ``STATE_SNAPSHOT`` built from the workflow query and go on from there.
  Temporal is the source of truth; Redis is the fast path.

The workflow numbers its events (``metadata.n``, contiguous). A stream that
sees a number it already delivered skips it; one that sees a number jump
(Redis lost entries) repairs the hole with a snapshot before going on. A
snapshot carries the log position it reflects as its id, or no id when the
log is empty, never ``0``.

The stream ends with the run that follows ``status_changed: ended``. While
idle it sends keep-alive comments; when Redis fails it waits, reconnects and,
if its position was lost, starts over from a snapshot. A workflow that closed
with no end in the log (terminated) is noticed by the feed (``EventTail``),
which has its streams finish from a snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse, ServerSentEvent
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle

from agent_api.event_tail import EventTail, IsClosed, Watch
from agent_api.schemas import SnapshotState
from agent_core import events as ev
from agent_core.event_log import EventLog, LoggedEvent
from agent_core.models import ConversationStatus

__all__ = [
    "RETRY_MS",
    "SEP",
    "StreamCursor",
    "closed_probe",
    "conversation_stream",
    "open_cursor",
    "run_frames",
    "sse_response",
]

log = logging.getLogger(__name__)

RETRY_MS = 2_000
SEP = "\n"
_RUN_ENDS = ("RUN_FINISHED", "RUN_ERROR")
_SHUTDOWN_GRACE_SECONDS = 2.0  # for streams to end themselves when the server stops
_ENCODED_KEPT = 4_096  # recent frames kept encoded, shared by the streams that send them
_ENDED = "status_changed:ended"

Snapshotter = Callable[[], Awaitable[SnapshotState]]


@dataclass
class StreamCursor:
    """Where a stream stands: the log position, the workflow number last sent,
    and whether the conversation's end has been seen."""

    position: str | None
    last_n: int = 0
    ended: bool = False
    expect_first: bool = False  # the log was empty: its first entry must be the first event

    def accept(self, entry: LoggedEvent) -> tuple[bool, bool]:
        """(deliver it?, is there a hole before it?) for the next entry read."""
        self.position = entry.id
        if self.expect_first:
            self.expect_first = False
            if entry.key != ev.FIRST_EVENT_KEY:
                return False, True  # the log was lost, not yet to come
        n = entry.n
        if n is None:
            return True, False
        if self.last_n and n <= self.last_n:
            return False, False
        hole = bool(self.last_n) and n > self.last_n + 1
        self.last_n = n
        return True, hole

    def finishes(self, entry: LoggedEvent) -> bool:
        """Whether the stream ends after this entry (the run that closes the end)."""
        if entry.tag == _ENDED:
            self.ended = True
        return self.ended and entry.type in _RUN_ENDS


def _sse(**fields: Any) -> bytes:
    """A frame with LF line ends: AG-UI's client splits frames on "\\n\\n" only."""
    return ServerSentEvent(**fields, sep=SEP).encode()


@functools.lru_cache(maxsize=_ENCODED_KEPT)
def _frame(entry: LoggedEvent) -> bytes:
    """An entry's frame, encoded once for every stream that sends it (the feed
    hands each stream of a conversation the same entry objects)."""
    return _sse(data=entry.data, id=entry.id, event=entry.type or "CUSTOM", retry=RETRY_MS)


@functools.lru_cache(maxsize=_ENCODED_KEPT)
def _run_frame(entry: LoggedEvent) -> bytes:
    return _sse(data=entry.data, id=entry.id, event=entry.type)


@contextlib.contextmanager
def _stopping(watch: Watch, stop: anyio.Event) -> Iterator[None]:
    """Stop the watch (waking its stream) when ``stop`` is set."""

    async def stop_when_set() -> None:
        await stop.wait()
        watch.stop()

    task = asyncio.create_task(stop_when_set())
    try:
        yield
    finally:
        task.cancel()


def sse_response(
    frames: Callable[[anyio.Event], AsyncIterator[bytes]], ping_seconds: float
) -> EventSourceResponse:
    """An SSE response whose frames end cooperatively when the server shuts down
    (``frames`` gets the event sse-starlette sets then): the response completes
    instead of being cut, and the client's EventSource reconnects elsewhere."""
    stop = anyio.Event()
    return EventSourceResponse(
        frames(stop),
        ping=ping_seconds,
        sep=SEP,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        shutdown_event=stop,
        shutdown_grace_period=_SHUTDOWN_GRACE_SECONDS,
    )


def closed_probe(handle: WorkflowHandle[Any, Any]) -> IsClosed:
    """Whether the conversation's workflow has closed (False when Temporal cannot say)."""

    async def is_closed() -> bool:
        try:
            return (await handle.describe()).status != WorkflowExecutionStatus.RUNNING
        except Exception:
            return False

    return is_closed


async def _snapshot_frame(
    log_: EventLog, conversation_id: str, snapshot: Snapshotter, cursor: StreamCursor
) -> tuple[bytes, bool]:
    """A snapshot at the log's current end, and whether the conversation ended."""
    try:
        position = await log_.last_id(conversation_id)
    except RedisError:
        position = None
    state = await snapshot()
    event = ev.snapshot(state.last_seq, state.payload())
    if position is not None:
        cursor.position = position
        cursor.last_n = await log_.last_number(conversation_id, position)
    frame = _sse(data=event.to_json(), id=position, event=event.type, retry=RETRY_MS)
    return frame, state.status is ConversationStatus.ENDED


async def open_cursor(
    log_: EventLog, conversation_id: str, resume_from: str | None
) -> StreamCursor:
    """Where to read from; ``position=None`` when a snapshot must come first."""
    try:
        if resume_from:
            if not await log_.contains(conversation_id, resume_from):
                return StreamCursor(None)
            n = await log_.last_number(conversation_id, resume_from)
            return StreamCursor(resume_from, n)
        first = await log_.first_key(conversation_id)
    except RedisError:
        return StreamCursor(None)
    if first is None:  # just created, or lost: the first entry to come tells which
        return StreamCursor("0", expect_first=True)
    return StreamCursor("0" if first == ev.FIRST_EVENT_KEY else None)


async def conversation_stream(
    log_: EventLog,
    tail: EventTail,
    conversation_id: str,
    cursor: StreamCursor,
    snapshot: Snapshotter,
    is_closed: IsClosed,
    stop: anyio.Event,
    on_events: Callable[[int], None] = lambda count: None,
) -> AsyncIterator[bytes]:
    """The stream's bytes: each read's frames go out in one write, so a woken
    stream costs one send however many entries it got. Ends when ``stop`` is set
    (the server is shutting down), so that the response completes."""
    with (
        tail.watch(conversation_id, cursor.position or "0", is_closed) as watch,
        _stopping(watch, stop),
    ):
        while not watch.stopped:
            watch.woken.clear()
            closed = watch.must_repair()  # the workflow closed with no end logged
            if closed or cursor.position is None:
                frame, ended = await _snapshot_frame(log_, conversation_id, snapshot, cursor)
                on_events(1)
                yield frame
                if ended or closed:
                    return
                cursor.position = cursor.position or "0"
            try:
                entries = await _next_entries(log_, tail, conversation_id, cursor.position)
            except RedisError:
                log.warning("event log unreachable while streaming; retrying")
                await asyncio.sleep(1)
                cursor.position = await _recover(log_, conversation_id, cursor.position)
                continue
            frames, finished = _deliverable(cursor, entries)
            if frames:
                on_events(len(frames))
                yield b"".join(frames)
            if finished:
                return
            if not entries:
                await watch.woken.wait()


def _deliverable(cursor: StreamCursor, entries: list[LoggedEvent]) -> tuple[list[bytes], bool]:
    """The frames of the entries to send, and whether the stream ends with them.
    A hole stops the batch and leaves the cursor to repair it with a snapshot."""
    frames: list[bytes] = []
    for entry in entries:
        deliver, hole = cursor.accept(entry)
        if hole:
            cursor.position = None
            break
        if deliver:
            frames.append(_frame(entry))
            if cursor.finishes(entry):
                return frames, True
    return frames, False


async def _next_entries(
    log_: EventLog, tail: EventTail, conversation_id: str, position: str
) -> list[LoggedEvent]:
    """What follows ``position``: from the shared feed, or from Redis to catch up."""
    entries = tail.after(conversation_id, position)
    return await log_.read_after(conversation_id, position) if entries is None else entries


async def _recover(log_: EventLog, conversation_id: str, position: str) -> str | None:
    try:
        if position == "0" or await log_.contains(conversation_id, position):
            return position
    except RedisError:
        return position
    return None


async def run_frames(
    log_: EventLog,
    tail: EventTail,
    conversation_id: str,
    position: str,
    run_id: str,
    is_closed: IsClosed,
    stop: anyio.Event,
) -> AsyncIterator[bytes]:
    """The events of one AG-UI run, from its ``RUN_STARTED`` to its end, read
    from the log after ``position``: what an AG-UI client asked to see. Ends
    early if the workflow closes with the run unfinished."""
    started = False
    with tail.watch(conversation_id, position, is_closed) as watch, _stopping(watch, stop):
        while not (watch.stopped or watch.must_repair()):
            watch.woken.clear()
            try:
                entries = await _next_entries(log_, tail, conversation_id, position)
            except RedisError:
                log.warning("event log unreachable while streaming a run; retrying")
                await asyncio.sleep(1)
                continue
            frames: list[bytes] = []
            for entry in entries:
                position = entry.id
                if not started and entry.type == "RUN_STARTED":
                    started = json.loads(entry.data).get("runId") == run_id
                if started:
                    frames.append(_run_frame(entry))
                    if entry.type in _RUN_ENDS:
                        yield b"".join(frames)
                        return
            if frames:
                yield b"".join(frames)
            if not entries:
                await watch.woken.wait()
