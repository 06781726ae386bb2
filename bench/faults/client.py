"""One conversation's client, through the public HTTP API only, driven by SSE alone.

It acts as a front end would: it creates the conversation with a first
message, answers each proposal (the first one with a question, then with a
confirm) and each finished run (another message, up to a budget, then the
end), deciding only from what the stream tells it. Every request carries an
Idempotency-Key and is sent again with the same key after a timeout, a cut
connection, a 5xx or a 429 (``retry_all``: every request is also sent a
second time after it succeeded, as a client whose timeout fired after the
server acted would). The stream reconnects with Last-Event-ID after any cut.

When the stream has said nothing for ``quiet`` seconds the client looks at
``GET /v1/conversations/{id}`` once: if the workflow is waiting for the
client (a proposal, a question, the end) the stream failed it, which is
counted (``sse_waited_forever``: an SSE-only client would wait forever), and
the client goes on from what GET says so the rest can still be measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from durable_agent.event_stream import StreamEvent, aread_events

__all__ = ["ConversationClient", "Sent", "retrying_post"]

_RETRY = (429, 500, 502, 503, 504)
MESSAGE_BUDGET = 8
#: the whole trip in one message, so the agent asks nothing and the invoice (the
#: side effect the audit counts) is reached
TRIP = (
    "Book me a trip to an event in Melbourne in April, from Sydney 10 to 14 April; "
    "invoice the cheapest flight to traveller@example.com"
)


@dataclass
class Sent:
    """A message the client sent: its text (unique), whether a 202 came back."""

    text: str
    accepted: bool = False
    status: int = 0
    attempts: int = 0


async def retrying_post(
    http: httpx.AsyncClient,
    path: str,
    body: dict[str, Any],
    *,
    within: float,
    retry_all: bool = False,
    errors: list[bytes] | None = None,
    key: str | None = None,
) -> tuple[int, dict[str, Any] | None, int]:
    """(status, JSON body, attempts): one Idempotency-Key (``key``, or a new one) for
    every attempt, sent again after a timeout, a cut connection, 5xx or 429 until
    ``within`` seconds pass."""
    key = key or uuid.uuid4().hex
    headers = {"Idempotency-Key": key}
    deadline, attempts, status, answer = time.monotonic() + within, 0, 0, None
    while time.monotonic() < deadline:
        attempts += 1
        timeout = 0.05 if retry_all and attempts == 1 else 10.0  # the first one times out
        try:
            r = await http.post(path, json=body, headers=headers, timeout=timeout)
        except httpx.HTTPError:
            await asyncio.sleep(min(0.2 * attempts, 2))
            continue
        status = r.status_code
        if status >= 400 and errors is not None:
            errors.append(r.content)
        if status in _RETRY:
            await asyncio.sleep(min(float(r.headers.get("Retry-After", 0.5)), 2))
            continue
        answer = r.json() if r.content else None
        if retry_all and status < 300:  # and once more, as if that answer had been lost
            again = await retrying_post(http, path, body, within=within, errors=errors, key=key)
            status = again[0] if again[0] >= 300 else status
        return status, answer, attempts
    return status, answer, attempts


def _state_of(body: dict[str, Any]) -> dict[str, Any]:
    """What GET said, in short, for the evidence of a conversation the stream failed."""
    pending = body.get("pending_tool_call") or {}
    return {
        "status": body.get("status"),
        "pending": pending.get("id"),
        "queued": len(body.get("queued_messages") or []),
        "last_seq": body.get("last_seq"),
    }


@dataclass
class ConversationClient:
    """A travel conversation of one tenant, from creation to its end."""

    http: httpx.AsyncClient
    label: str
    retry_all: bool = False
    #: longer than anything the product promises an open stream within: the closed-workflow
    #: check (API_STREAM_CLOSED_CHECK_SECONDS, 30) after a worker restart (~15 s here)
    quiet: float = 60.0
    id: str = ""
    events: list[StreamEvent] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    errors: list[bytes] = field(default_factory=list)
    create_status: int = 0
    ended_by_sse: bool = False
    sse_waited_forever: int = 0
    reconnects: int = 0
    _polled_at: float = 0.0
    finished_at: float | None = None
    polls: list[dict[str, Any]] = field(default_factory=list)  # GET states that found us failed
    client_errors: list[str] = field(default_factory=list)  # this client's own failures
    decisions: list[str] = field(default_factory=list)  # each confirm: status, attempts
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _last_id: str | None = None
    _asked: bool = False
    _decided: set[str] = field(default_factory=set)
    _acted_seq: int = -1
    _busy: asyncio.Lock = field(default_factory=asyncio.Lock)
    _done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    async def run(self, within: float, delay: float = 0.0) -> None:
        """Create, then follow the stream to the end or until ``within`` seconds pass."""
        await asyncio.sleep(delay)
        deadline = time.monotonic() + within
        try:
            await self._run(deadline)
        finally:
            self.finished_at = time.monotonic()

    async def _run(self, deadline: float) -> None:
        within = deadline - time.monotonic()
        text = self._text(TRIP)
        status, body, attempts = await retrying_post(
            self.http, "/v1/conversations", {"goal": "travel", "message": text},
            within=within, retry_all=self.retry_all, errors=self.errors,
        )  # fmt: skip
        self.create_status = status
        self.sent.append(Sent(text, status == 201, status, attempts))
        if status != 201 or body is None:
            return
        self.id = body["id"]
        self._polled_at = time.monotonic()  # silence counts from here, not from boot
        reader = asyncio.create_task(self._read(deadline))
        try:
            await self._watch(deadline)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    def _text(self, what: str) -> str:
        return f"{what} [{self.label} #{len(self.sent)} {uuid.uuid4().hex[:6]}]"

    @property
    def path(self) -> str:
        return f"/v1/conversations/{self.id}"

    async def _read(self, deadline: float) -> None:
        """The stream, resumed with Last-Event-ID after every cut, until 204 or the end."""
        while time.monotonic() < deadline and not self._done.is_set():
            headers = {"Last-Event-ID": self._last_id} if self._last_id else {}
            try:
                async with aconnect_sse(
                    self.http, "GET", f"{self.path}/events", headers=headers,
                    timeout=httpx.Timeout(10.0, read=10.0),
                ) as source:  # fmt: skip
                    status = source.response.status_code
                    if status == 204:
                        self.ended_by_sse = self._ended_seen()
                        self._done.set()
                        return
                    if status != 200:
                        self.errors.append(await source.response.aread())
                    else:
                        async for event in aread_events(source):
                            await self._on(event)
            except httpx.HTTPError:
                pass
            except Exception as exc:  # a client bug must not pass for the product's
                self.client_errors.append(f"stream: {exc!r}")
            self.reconnects += 1
            await asyncio.sleep(0.2)

    def _ended_seen(self) -> bool:
        return any(e.is_end for e in self.events) or any(
            e.type == "STATE_SNAPSHOT" and e.data["snapshot"].get("status") == "ended"
            for e in self.events
        )

    async def _on(self, event: StreamEvent) -> None:
        """Record the frame, remember its id, and act on what it asks of the client."""
        self.events.append(event)
        if event.id:
            self._last_id = event.id
        seq = int(event.metadata.get("seq") or 0)
        if event.type == "RUN_FINISHED":
            outcome = event.data.get("outcome") or {}
            interrupts = (
                (outcome.get("interrupts") or []) if outcome.get("type") == "interrupt" else []
            )
            if interrupts:
                for item in interrupts:
                    name = (item.get("metadata") or {}).get("name", "")
                    self._spawn(self._decide(str(item["toolCallId"]), name))
            elif not self._ended_seen():
                self._spawn(self._answer(seq))
        elif event.type == "RUN_ERROR" and not self._ended_seen():
            self._spawn(self._answer(seq))
        elif event.type == "STATE_SNAPSHOT":
            self._on_state(event.data["snapshot"], "snapshot")

    def _on_state(self, snap: dict[str, Any], via: str) -> bool:
        """Act on a whole state (a snapshot, or GET's answer); True if it waits for us."""
        status = snap.get("status")
        pending = snap.get("pendingToolCall") or snap.get("pending_tool_call")
        seq = int(snap.get("lastSeq") or snap.get("last_seq") or 0)
        if status == "ended":
            if via == "get":
                self._done.set()
            return True
        if status == "awaiting_confirmation" and pending:
            self._spawn(self._decide(str(pending["id"]), str(pending.get("name", ""))))
            return True
        if status == "awaiting_input" and not (
            snap.get("queuedMessages") or snap.get("queued_messages")
        ):
            self._spawn(self._answer(seq, force=via == "get"))
            return True
        return False

    def _spawn(self, action: Coroutine[Any, Any, None]) -> None:
        """Act beside the reader (so the stream keeps being read); an action that
        fails is recorded, never silently lost."""

        async def guarded() -> None:
            try:
                await action
            except Exception as exc:
                self.client_errors.append(f"action: {exc!r}")

        self._tasks.add(task := asyncio.get_running_loop().create_task(guarded()))
        task.add_done_callback(self._tasks.discard)

    async def _think(self) -> None:
        await asyncio.sleep(random.uniform(0.05, 0.4))  # faults land anywhere in a turn

    async def _decide(self, call_id: str, name: str) -> None:
        """The first proposal gets a question (a message), every other one a confirm."""
        async with self._busy:
            if call_id in self._decided:
                return
            self._decided.add(call_id)
            await self._think()
            if not self._asked:
                self._asked = True
                await self._message(f"Before {name or 'that'}: can I cancel later?")
                return
            status, _, attempts = await retrying_post(
                self.http, f"{self.path}/tool-calls/{call_id}/confirm", {},
                within=120, retry_all=self.retry_all, errors=self.errors,
            )  # fmt: skip
            self.decisions.append(f"confirm {call_id}: {status} x{attempts}")
            if status != 202:  # a later snapshot or poll may try again
                self._decided.discard(call_id)

    async def _answer(self, seq: int, force: bool = False) -> None:
        """A finished run that asks nothing: another message, or the end past the budget."""
        async with self._busy:
            if seq <= self._acted_seq and not force:
                return
            self._acted_seq = max(seq, self._acted_seq)
            await self._think()
            if len(self.sent) < MESSAGE_BUDGET:
                await self._message("Please go on")
            else:
                await retrying_post(
                    self.http, f"{self.path}/end", {}, within=120, errors=self.errors
                )

    async def _message(self, what: str) -> None:
        sent = Sent(self._text(what))
        self.sent.append(sent)
        sent.status, _, sent.attempts = await retrying_post(
            self.http, f"{self.path}/messages", {"text": sent.text},
            within=120, retry_all=self.retry_all, errors=self.errors,
        )  # fmt: skip
        sent.accepted = sent.status == 202

    async def _watch(self, deadline: float) -> None:
        """Wait for the end; after ``quiet`` silent seconds, ask GET once whether the
        workflow waits on us (then the stream failed an SSE-only client)."""
        while not self._done.is_set() and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._done.wait(), 1.0)
            last = max(self.events[-1].received if self.events else 0.0, self._polled_at)
            if self._done.is_set() or self._busy.locked() or time.monotonic() - last < self.quiet:
                continue
            try:
                r = await self.http.get(self.path, timeout=10)
            except httpx.HTTPError:
                continue
            if r.status_code == 200 and self._on_state(r.json(), "get"):
                self.sse_waited_forever += 1
                self.polls.append(_state_of(r.json()))
            self._polled_at = time.monotonic()
