"""The fake's mutable state: scripted reply queues and the request log.

Shared by the HTTP handlers (in the server's event loop) and by whoever
scripts the fake: a test in the same loop, a caller in another thread, or
the control endpoints. A lock makes each operation atomic across threads.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from fake_llm.inbound import RecordedRequest
from fake_llm.replies import Kind, Reply

__all__ = ["KINDS", "FakeState"]

KINDS: tuple[Kind, ...] = ("validate", "plan", "summarize")


class FakeState:
    """Per-kind FIFO queues of scripted replies, and every request seen.

    ``auto_style`` holds delivery options (``chunk_chars``, ``chunk_delay``)
    applied to auto-brain replies. ``api_key``, when set, is required as the
    bearer token. ``closing`` tells in-flight stalls to give up at shutdown.
    """

    def __init__(self, *, api_key: str | None = None, auto_style: dict[str, Any] | None = None):
        self._lock = threading.Lock()
        self._queues: dict[Kind, deque[Reply]] = {kind: deque() for kind in KINDS}
        self._requests: list[RecordedRequest] = []
        self.api_key = api_key
        self.auto_style = dict(auto_style or {})
        self.closing = False

    def script(self, kind: Kind, replies: list[Reply]) -> None:
        if kind not in self._queues:
            raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
        with self._lock:
            self._queues[kind].extend(replies)

    def next_scripted(self, kind: Kind, model: str = "") -> Reply | None:
        """The oldest reply of ``kind`` for ``model`` (one scripted for no model fits any)."""
        with self._lock:
            queue = self._queues[kind]
            for reply in queue:
                if reply.model is None or reply.model == model:
                    queue.remove(reply)
                    return reply
            return None

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def pending(self) -> dict[str, int]:
        """How many scripted replies each kind still has queued."""
        with self._lock:
            return {kind: len(queue) for kind, queue in self._queues.items()}

    def reset(self) -> None:
        with self._lock:
            for queue in self._queues.values():
                queue.clear()
            self._requests.clear()
