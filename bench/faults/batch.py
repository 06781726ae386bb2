"""One fault's batch: N live conversations, the fault injected a few times, the counts.

Each batch has a tenant of its own (its own API key), so its conversation
list shows exactly what its clients created, and what a retried create made
twice (an orphan) stands out.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from bench.faults.audit import ConversationAudit, audit
from bench.faults.catalog import Fault
from bench.faults.client import ConversationClient
from bench.faults.stack import FaultStack

__all__ = ["MUST_BE_ZERO", "BatchResult", "run_batch"]

#: counts that a durable agent keeps at 0 whatever the fault
MUST_BE_ZERO = (
    "stuck", "create_failed", "lost", "duplicated", "out_of_order", "accepted_zero",
    "accepted_twice", "orphans", "side_effects_twice", "sse_waited_forever", "client_errors",
)  # fmt: skip


@dataclass
class BatchResult:
    fault: str
    injections: int
    conversations: int
    ended: int = 0
    stuck: int = 0
    create_failed: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    accepted_zero: int = 0
    accepted_twice: int = 0
    orphans: int = 0
    side_effects_twice: int = 0
    invoices: int = 0
    sse_waited_forever: int = 0
    reconnects: int = 0
    client_errors: int = 0  # the campaign's clients' own failures: must be 0 for a fair count
    recover_p50_s: float | None = None
    recover_max_s: float | None = None
    restart_max_s: float | None = None  # kill to the part back (ready), the longest
    seconds: float = 0.0
    examples: dict[str, list[str]] = field(default_factory=dict)  # count -> conversation ids
    traces: dict[str, Any] = field(default_factory=dict)  # conversation id -> evidence (a few)

    def failures(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in MUST_BE_ZERO if getattr(self, name)}

    def row(self) -> dict[str, Any]:
        return asdict(self)


async def _inject(stack: FaultStack, fault: Fault, clients: list[ConversationClient],
                  marks: list[float], restarts: list[float], gap: float) -> None:  # fmt: skip
    """Inject ``fault.times`` times, ``gap`` seconds apart, while conversations are live."""
    if fault.inject is None:
        return
    await asyncio.sleep(min(2.0, gap))  # conversations under way first
    for _ in range(fault.times):
        if all(c.finished for c in clients):
            return
        marks.append(time.monotonic())
        took = await fault.inject(stack)
        if took is not None:
            restarts.append(took)
        await asyncio.sleep(gap)


def _recovery(clients: list[ConversationClient], marks: Iterable[float]) -> list[float]:
    """Per injection: seconds until every conversation live at that moment got an event."""
    took = []
    for mark in marks:
        waits = []
        for c in clients:
            if c.finished_at is not None and c.finished_at < mark:
                continue
            after = [e.received for e in c.events if e.received >= mark]
            waits.append((after[0] if after else (c.finished_at or time.monotonic())) - mark)
        if waits:
            took.append(max(waits))
    return took


async def _orphans(http: httpx.AsyncClient, clients: list[ConversationClient]) -> int:
    r = await http.get("/v1/conversations", timeout=30)
    r.raise_for_status()
    listed = {c["id"] for c in r.json()["conversations"]}
    return len(listed - {c.id for c in clients if c.id})


def _add(result: BatchResult, one: ConversationAudit) -> None:
    for name in ("lost", "duplicated", "out_of_order", "accepted_zero", "accepted_twice",
                 "side_effects_twice", "invoices", "reconnects", "client_errors"):  # fmt: skip
        value = int(getattr(one, name))
        setattr(result, name, getattr(result, name) + value)
        if value and name not in ("invoices", "reconnects"):
            result.examples.setdefault(name, []).append(one.id)
    if one.trace is not None and len(result.traces) < 5:
        result.traces[one.id] = one.trace
    result.ended += one.ended
    result.stuck += one.stuck
    result.sse_waited_forever += one.sse_waited_forever
    if one.stuck:
        result.examples.setdefault("stuck", []).append(one.id)
    if one.sse_waited_forever:
        result.examples.setdefault("sse_waited_forever", []).append(one.id)


async def run_batch(stack: FaultStack, fault: Fault, tenant: str, key: str,
                    conversations: int, within: float, gap: float) -> tuple[BatchResult, list[bytes]]:  # fmt: skip
    """Run one batch; its counts and every error body its clients got."""
    began = time.monotonic()
    result = BatchResult(fault.name, 0, conversations)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=200)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=stack.gateway, headers=headers, limits=limits) as http:
        clients = [
            ConversationClient(http, f"{tenant}-{i}", retry_all=fault.retry_all)
            for i in range(conversations)
        ]
        marks: list[float] = []
        restarts: list[float] = []
        injector = asyncio.create_task(_inject(stack, fault, clients, marks, restarts, gap))
        await asyncio.gather(*(c.run(within, delay=i * 0.05) for i, c in enumerate(clients)))
        await injector
        result.injections = len(marks)
        result.create_failed = sum(1 for c in clients if not c.id)
        gate = asyncio.Semaphore(8)

        async def one(c: ConversationClient) -> ConversationAudit:
            async with gate:
                return await audit(http, c, stack.objects, tenant)

        for found in await asyncio.gather(*(one(c) for c in clients if c.id)):
            _add(result, found)
        result.stuck += result.create_failed
        result.orphans = await _orphans(http, clients)
        took = _recovery(clients, marks)
        if took:
            result.recover_p50_s = round(statistics.median(took), 2)
            result.recover_max_s = round(max(took), 2)
        if restarts:
            result.restart_max_s = round(max(restarts), 2)
    result.seconds = round(time.monotonic() - began, 1)
    return result, [e for c in clients for e in c.errors]
