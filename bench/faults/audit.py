"""What went wrong for one conversation, counted after its client stopped.

The truth is read afresh through the public API: the event log from the
start on a new stream (no Last-Event-ID), the transcript (``GET`` and every
``GET .../messages`` page back to the first line), and the object store's
``ledger/`` records (one per side effect actually performed).

- lost: events of the fresh log the client never got and no snapshot it got
  covers (a ``STATE_SNAPSHOT`` reflects every step up to its ``lastSeq``),
  plus holes in the workflow's numbers (``metadata.n``) the client saw with
  no snapshot between (what a wiped Redis takes with it is in neither log);
- duplicated: frames whose ``metadata.key`` the client had already got;
- out of order: new frames whose ``n`` is below one already received;
- accepted 0 times: a message answered 202 that the transcript lacks;
  accepted twice: a message text the transcript holds twice or more;
- side effects twice: more than one ledger record, or more than one
  ``created: true`` invoice result, for one conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from bench.faults.client import ConversationClient
from durable_agent.event_stream import StreamEvent, aread_events

__all__ = ["ConversationAudit", "audit", "fresh_log", "transcript"]


@dataclass
class ConversationAudit:
    id: str
    ended: bool
    stuck: bool
    lost: int
    duplicated: int
    out_of_order: int
    accepted_zero: int
    accepted_twice: int
    invoices: int
    side_effects_twice: int
    sse_waited_forever: bool
    reconnects: int
    client_errors: int = 0  # the client's own failures (a bug here, not in the product)
    trace: dict[str, Any] | None = None  # evidence, when a must-be-0 count is not 0


async def fresh_log(http: httpx.AsyncClient, path: str, within: float = 15.0) -> list[StreamEvent]:
    """The log from the start on a new stream, until it closes (the conversation
    ended) or ``within`` seconds pass (it did not: keep-alives never let a read
    time out)."""
    events: list[StreamEvent] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            await _read_log(http, path, events)
    return events


async def _read_log(http: httpx.AsyncClient, path: str, events: list[StreamEvent]) -> None:
    idle = 10.0
    try:
        async with aconnect_sse(
            http, "GET", f"{path}/events", timeout=httpx.Timeout(10.0, read=idle)
        ) as source:
            if source.response.status_code != 200:
                return
            async for event in aread_events(source):
                events.append(event)
    except httpx.ReadTimeout:
        pass


async def transcript(http: httpx.AsyncClient, path: str) -> tuple[str, list[dict[str, Any]]]:
    """(status, every transcript line), walking ``older_messages`` back to the start."""
    r = await http.get(path, timeout=30)
    r.raise_for_status()
    body = r.json()
    lines, cursor = list(body["transcript"]), body.get("older_messages")
    while cursor:
        page = await http.get(f"{path}/messages", params={"before": cursor}, timeout=30)
        page.raise_for_status()
        older = page.json()
        lines = older["messages"] + lines
        cursor = older.get("older_messages")
    return str(body["status"]), lines


def _snapshot_seq(events: list[StreamEvent]) -> int:
    seqs = [
        int(e.data["snapshot"].get("lastSeq") or 0) for e in events if e.type == "STATE_SNAPSHOT"
    ]
    return max(seqs, default=-1)


def stream_counts(received: list[StreamEvent], fresh: list[StreamEvent]) -> tuple[int, int, int]:
    """(lost, duplicated, out of order) of what one client received."""
    seen: set[str] = set()
    duplicated = out_of_order = holes = 0
    top_n = 0
    snapshot_since = False
    for event in received:
        if event.type == "STATE_SNAPSHOT":
            snapshot_since = True
            continue
        if event.key is not None:
            if event.key in seen:
                duplicated += 1
                continue
            seen.add(event.key)
        if event.n is not None:
            if event.n < top_n:
                out_of_order += 1
            elif event.n > top_n + 1 and top_n and not snapshot_since:
                holes += event.n - top_n - 1
            top_n = max(top_n, event.n)
            snapshot_since = False
    covered = _snapshot_seq(received)
    missing = [
        e for e in fresh
        if e.key is not None and e.key not in seen and e.type != "STATE_SNAPSHOT"
        and int(e.metadata.get("seq") or 0) > covered
    ]  # fmt: skip
    return len(missing) + holes, duplicated, out_of_order


def trace(client: ConversationClient, fresh: list[StreamEvent]) -> dict[str, Any]:
    """The end of what the client got and of the fresh log, what it sent, what GET said:
    enough to tell a product bug from a client one."""

    def short(events: list[StreamEvent]) -> list[str]:
        return [f"{e.id} {e.type}{':' + e.name if e.type == 'CUSTOM' else ''} n={e.n} seq={e.metadata.get('seq')}"
                for e in events[-12:]]  # fmt: skip

    return {
        "received": short(client.events),
        "fresh_log": short(fresh),
        "sent": [f"{s.status} x{s.attempts} {s.text}" for s in client.sent],
        "decisions": client.decisions,
        "polls": client.polls,
        "client_errors": client.client_errors[:5],
        "reconnects": client.reconnects,
    }


def _invoices(lines: list[dict[str, Any]]) -> int:
    created = 0
    for line in lines:
        result = line.get("tool_result") or {}
        content = json.dumps(result)
        if '"invoice_id"' in content and '"created": true' in content:
            created += 1
    return created


def ledger_records(objects: Path, tenant: str, conversation_id: str) -> int:
    """Side effects performed for this conversation (one ledger record each)."""
    folder = objects / "ledger" / "agent" / tenant / conversation_id
    return sum(1 for _ in folder.rglob("*.json")) if folder.is_dir() else 0


async def audit(
    http: httpx.AsyncClient, client: ConversationClient, objects: Path, tenant: str
) -> ConversationAudit:
    """Count everything for one conversation (its client has stopped)."""
    path = client.path
    fresh = await fresh_log(http, path)
    status, lines = await transcript(http, path)
    lost, duplicated, out_of_order = stream_counts(client.events, fresh)
    said = Counter(line["text"] for line in lines if line["role"] == "user")
    accepted = [s for s in client.sent if s.accepted]
    records = ledger_records(objects, tenant, client.id)
    invoices = max(records, _invoices(lines))
    found = ConversationAudit(
        id=client.id,
        ended=status == "ended",
        stuck=status != "ended",
        lost=lost,
        duplicated=duplicated,
        out_of_order=out_of_order,
        accepted_zero=sum(1 for s in accepted if said[s.text] == 0),
        accepted_twice=sum(1 for s in client.sent if said[s.text] > 1),
        invoices=invoices,
        side_effects_twice=int(invoices > 1),
        sse_waited_forever=client.sse_waited_forever > 0,
        reconnects=client.reconnects,
        client_errors=len(client.client_errors),
    )
    bad = (found.stuck, found.lost, found.duplicated, found.out_of_order, found.accepted_zero,
           found.accepted_twice, found.side_effects_twice, found.sse_waited_forever,
           found.client_errors)  # fmt: skip
    if any(bad):
        found.trace = trace(client, fresh)
    return found
