"""The one reader of conversation events, for every client of the stream.

The gateway's SSE frames and the event log's entries carry the same JSON: an
AG-UI event with ``metadata = {"seq", "key"[, "n"]}``. ``StreamEvent`` is
that event as a client holds it: where it sits in the stream (the SSE id, the
``Last-Event-ID`` to resume from) and the typed AG-UI event (``ag_ui.core``),
validated on the way in, so a frame that is not AG-UI fails where it is read.
The terminal chat, the demo, the fault campaign and the tests all read
through it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ag_ui.core import Event
from httpx_sse import EventSource, ServerSentEvent
from pydantic import TypeAdapter

__all__ = ["StreamEvent", "aread_events"]

_AG_UI = TypeAdapter(Event)


@dataclass(frozen=True)
class StreamEvent:
    """One conversation event: its stream id, the typed event, its JSON as sent,
    and when it arrived."""

    id: str
    event: Event
    data: dict[str, Any]
    received: float = field(default_factory=time.monotonic, compare=False)

    @classmethod
    def parse(cls, id: str, raw: str | bytes) -> StreamEvent:
        """The event from its JSON; ``ValueError`` when it is not an AG-UI event."""
        data = json.loads(raw)
        return cls(id, _AG_UI.validate_python(data), data)

    @classmethod
    def from_sse(cls, sse: ServerSentEvent) -> StreamEvent | None:
        """The event a frame carries, or None for a keep-alive."""
        return cls.parse(sse.id or "", sse.data) if sse.data else None

    @property
    def type(self) -> str:
        """The AG-UI type (``TEXT_MESSAGE_CONTENT``, ``CUSTOM``, ...)."""
        return str(self.data.get("type"))

    @property
    def name(self) -> str:
        """The custom event's name (``status_changed``, ...), else the AG-UI type."""
        return str(self.data.get("name", "")) if self.type == "CUSTOM" else self.type

    @property
    def value(self) -> dict[str, Any]:
        value = self.data.get("value")
        return value if isinstance(value, dict) else {}

    @property
    def metadata(self) -> dict[str, Any]:
        return self.data.get("metadata") or {}

    @property
    def key(self) -> str | None:
        """Deterministic and unique in the conversation: what tells a repeat."""
        return self.metadata.get("key")

    @property
    def seq(self) -> int | None:
        """The conversation step the event belongs to."""
        return self.metadata.get("seq")

    @property
    def n(self) -> int | None:
        """The workflow's number for the events it writes (1, 2, ...); None for the rest."""
        return self.metadata.get("n")

    @property
    def is_end(self) -> bool:
        return self.name == "status_changed" and self.value.get("status") == "ended"


async def aread_events(source: EventSource) -> AsyncIterator[StreamEvent]:
    """The events of an open SSE response, keep-alives left out."""
    async for sse in source.aiter_sse():
        event = StreamEvent.from_sse(sse)
        if event is not None:
            yield event
