"""A minimal Server-Sent Events reader on a raw asyncio connection.

Thousands of open streams on one machine make the client's cost part of what
is measured: a general HTTP client spends tens of microseconds per line. This
reader does one ``read`` per TCP segment and splits frames with bytes
operations; callers get ``(received, id, event, data)`` per frame and parse
``data`` only when they need it. Good for the gateway's responses: HTTP/1.1,
chunked or not (chunk-size lines fall outside any ``field: value`` line),
frames separated by a blank line (LF framing).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Frame", "SseStream"]

_READ = 1 << 16


@dataclass(frozen=True, slots=True)
class Frame:
    received: float  # time.time() when the bytes arrived
    id: bytes
    event: bytes
    data: bytes


class SseStream:
    """One ``GET`` of an SSE endpoint; ``frames()`` yields until the server closes."""

    def __init__(self, base_url: str, path: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.path = path
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pending = b""

    async def open(self) -> None:
        """Connect and read the response head; raises unless the status is 200."""
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._writer.write(
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        await self._writer.drain()
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        if status != b"200":
            await self.close()
            raise ConnectionError(f"GET {self.path}: HTTP {status.decode()}")

    async def frames(self) -> AsyncIterator[Frame]:
        assert self._reader is not None
        while True:
            chunk = await self._reader.read(_READ)
            if not chunk:
                return
            now = time.time()
            *complete, self._pending = (self._pending + chunk).split(b"\n\n")
            for raw in complete:
                frame = _parse(raw, now)
                if frame is not None:
                    yield frame

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = None


def _parse(raw: bytes, received: float) -> Frame | None:
    fields = {b"id": b"", b"event": b"", b"data": b""}
    for line in raw.split(b"\n"):
        name, sep, value = line.partition(b": ")
        if sep and name in fields:
            fields[name] = value
    if not (fields[b"event"] or fields[b"data"]):
        return None  # a keep-alive comment or chunk framing
    return Frame(received, fields[b"id"], fields[b"event"], fields[b"data"])
