"""The project's side: conversations driven through the gateway's public API.

A turn is timed as a user sees it: from the ``POST .../messages`` to the
``agent_message`` event on the conversation's SSE stream (and to its first
``TEXT_MESSAGE_CONTENT``); the next message is sent once the run has finished
(``RUN_FINISHED``), so turns never overlap. Every event is checked against
the turn it belongs to (first token, answer, run end); what was lost or
doubled is read from the workflow's transcript afterwards (``transcript``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.sse import Frame, SseStream

__all__ = ["Conversation", "Turn", "http_session", "post_safely"]


def http_session() -> aiohttp.ClientSession:
    """One client for all POSTs: no connection limit, JSON bodies sent as bytes."""
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120))


async def post_safely(
    http: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    expect: int,
    within: float = 300.0,
) -> tuple[dict[str, Any] | None, str, int]:
    """POST as a careful client does: one idempotency key, sent again after a 503/429 or
    a cut connection (a kept-alive one the server closed meanwhile, too) until
    ``within`` seconds have passed; the gateway applies it once. The answer's JSON
    (None on failure), the last error, the retries."""
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    error = ""
    deadline = time.monotonic() + within
    attempt = 0
    while time.monotonic() < deadline:
        try:
            async with http.post(url, json=body, headers=headers) as response:
                if response.status == expect:
                    return await response.json(), "", attempt
                error = f"HTTP {response.status}: {(await response.text())[:200]}"
                if response.status not in (429, 503):
                    return None, error, attempt
                wait = float(response.headers.get("Retry-After", 1))
        except (aiohttp.ClientError, TimeoutError) as exc:
            error, wait = f"{type(exc).__name__}: {exc}", 0.2
        attempt += 1
        await asyncio.sleep(min(wait * attempt, 5))
    return None, error, attempt


@dataclass
class Turn:
    text: str  # unique in its conversation: how the transcript tells its answer
    posted: float  # time.perf_counter() before the POST
    accepted: float | None = None  # the 202 read
    first_token: float | None = None
    text_end: float | None = None
    answered: float | None = None
    finished: float | None = None
    answers: int = 0  # agent_message events in this turn (1 expected)
    prompts: int = 0  # user_message events in this turn (1 expected)
    error: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def ms(self, mark: float | None) -> float | None:
        return None if mark is None else (mark - self.posted) * 1000


class Conversation:
    """A conversation of the gateway at ``base``, listening to its own SSE stream."""

    def __init__(self, http: aiohttp.ClientSession, base: str, body: dict[str, Any]) -> None:
        self.http, self.base = http, base
        self.id: str = body["id"]
        self.stream = SseStream(base, body["events_url"])
        self.turns: list[Turn] = []
        self.redelivered = 0  # events whose key was seen before on this stream
        self.retries = 0  # POSTs sent again after a 503/429 or a cut connection
        self._keys: set[str] = set()
        self._listener: asyncio.Task[None] | None = None
        self._opened = asyncio.Event()

    @classmethod
    async def start(cls, http: aiohttp.ClientSession, base: str, goal: str) -> Conversation:
        """Create the conversation (no first message) and open its stream."""
        body, error, _ = await post_safely(http, f"{base}/v1/conversations", {"goal": goal}, 201)
        if body is None:
            raise RuntimeError(f"create: {error}")
        conversation = cls(http, base, body)
        await conversation.stream.open()
        conversation._listener = asyncio.create_task(conversation._listen())
        await asyncio.wait_for(conversation._opened.wait(), 30)
        return conversation

    async def turn(self, text: str, within: float = 30.0) -> Turn:
        """Send ``text`` and wait for the run it starts to finish (or ``within`` seconds)."""
        return await self.act(text, "messages", {"text": text}, within)

    async def act(self, label: str, path: str, body: dict[str, Any], within: float) -> Turn:
        """POST ``body`` to the conversation's ``path`` (a message, a decision on a
        proposed call) and wait for the run it starts to finish, as a turn."""
        turn = Turn(text=label, posted=time.perf_counter())
        self.turns.append(turn)
        turn.error = await self._send(path, body)
        if turn.error is not None:
            turn.done.set()
            return turn
        turn.accepted = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(turn.done.wait(), within)
        return turn

    async def _send(self, path: str, body: dict[str, Any]) -> str | None:
        url = f"{self.base}/v1/conversations/{self.id}/{path}"
        answer, error, retries = await post_safely(self.http, url, body, 202)
        self.retries += retries
        return None if answer is not None else error

    async def _listen(self) -> None:
        async for frame in self.stream.frames():
            self._on(frame)

    def _on(self, frame: Frame) -> None:
        event = json.loads(frame.data)
        key = (event.get("metadata") or {}).get("key")
        if key is not None:
            if key in self._keys:
                self.redelivered += 1
                return
            self._keys.add(key)
        kind = event.get("type")
        if not self.turns:  # the creation's run
            if kind in ("RUN_FINISHED", "RUN_ERROR"):
                self._opened.set()
            return
        turn, now = self.turns[-1], time.perf_counter()
        if kind == "TEXT_MESSAGE_CONTENT" and turn.first_token is None:
            turn.first_token = now
        elif kind == "TEXT_MESSAGE_END" and turn.text_end is None:
            turn.text_end = now
        elif kind == "CUSTOM" and event.get("name") == "agent_message":
            turn.answers += 1
            turn.answered = turn.answered or now
        elif kind == "CUSTOM" and event.get("name") == "user_message":
            turn.prompts += 1
        elif kind in ("RUN_FINISHED", "RUN_ERROR"):
            turn.finished = now
            if kind == "RUN_ERROR":
                turn.error = str(event.get("message"))
            turn.done.set()

    async def transcript(self) -> list[dict[str, Any]]:
        """The conversation's messages as the workflow holds them (``GET``)."""
        async with self.http.get(f"{self.base}/v1/conversations/{self.id}") as response:
            response.raise_for_status()
            body = await response.json()
        return list(body["transcript"])

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        await self.stream.close()
