"""Stream one agent message to the event log: start, coalesced deltas, end.

Deltas are a fast path: the workflow's ``agent_message`` repeats the whole
text, so a write the log refuses is skipped (with one warning) rather than
failing the model call. Writes are pipelined: the model's stream is read on
while one write is in flight, and what arrives meanwhile goes out in the
next, so a reply costs a few round trips to Redis, not one per delta, and
none of them holds up the reading.
"""

from __future__ import annotations

import asyncio
import logging
import time

from agent_core import events as ev
from agent_core.events import ConversationEvent, EventSink, publish_quietly

__all__ = ["TextStream"]

log = logging.getLogger(__name__)


class TextStream:
    """Publishes one agent message as start, coalesced deltas and end.

    The first delta is sent at once; later ones are flushed when ``min_chars``
    are buffered or ``max_delay`` seconds have passed, bounding the event rate
    for very chatty models. ``finish`` and ``void`` return once everything is
    written; ``cancel`` drops what is not (the call was given up). A ``silent``
    stream writes nothing.
    """

    def __init__(
        self,
        sink: EventSink,
        conversation_id: str,
        seq: int,
        message_id: str,
        min_chars: int = 24,
        max_delay: float = 0.05,
        silent: bool = False,
    ) -> None:
        self._sink, self._conversation_id, self._seq = sink, conversation_id, seq
        self.message_id = message_id
        self._min_chars, self._max_delay = min_chars, max_delay
        self._buffer = ""
        self._index = 0
        self._last_flush = time.monotonic()
        self._warned = False
        self._queued: list[ConversationEvent] = []
        self._writing: asyncio.Task[None] | None = None
        self._silent = silent  # write nothing: the workflow sends the text whole
        self.text = ""

    def start(self) -> None:
        """Queue the start: it is written while the model call goes out."""
        self._queue(ev.text_start(self._seq, self.message_id))

    async def add(self, delta: str) -> None:
        self._buffer += delta
        self.text += delta
        if (
            self._index == 0  # the first token goes out at once: it is what users wait for
            or len(self._buffer) >= self._min_chars
            or time.monotonic() - self._last_flush >= self._max_delay
        ):
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            event = ev.text_delta(self._seq, self.message_id, self._index, self._buffer)
            self._index += 1
            self._buffer = ""
            self._last_flush = time.monotonic()
            self._queue(event)

    async def finish(self, final_text: str) -> None:
        """Stream whatever ``final_text`` adds to what was streamed, then end."""
        if final_text.startswith(self.text):
            await self.add(final_text[len(self.text) :])
        self.flush()
        self._queue(ev.text_end(self._seq, self.message_id))
        await self._written()

    async def void(self) -> None:
        """This text will not be used (the reply is being repaired): close and void it."""
        self.flush()
        self._queue(*ev.close_messages(self._seq, [self.message_id]))
        await self._written()

    def cancel(self) -> None:
        """Write nothing more: the workflow closes the message once the call is given up."""
        self._queued.clear()
        if self._writing is not None:
            self._writing.cancel()

    def _queue(self, *events: ConversationEvent) -> None:
        if self._silent:
            return
        self._queued += events
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_queued())

    async def _written(self) -> None:
        if self._writing is not None:
            await self._writing

    async def _write_queued(self) -> None:
        """One write at a time, in order, each taking all that queued up meanwhile."""
        while self._queued:
            batch, self._queued = self._queued, []
            await self._publish(batch)

    async def _publish(self, events: list[ConversationEvent]) -> None:
        if not await publish_quietly(self._sink, self._conversation_id, events):
            if not self._warned:
                log.warning("event log unavailable; streaming of %s skipped", self.message_id)
                self._warned = True
