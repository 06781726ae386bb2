"""Everything the campaign produced that a secret could leak into, for the canary search.

Every log line of every part (the supervisor's services and the campaign's
own servers), every workflow's history (each event's wire bytes, so a
payload's JSON is searched as stored, not base64'd), every Redis value read
by type, every file of the object store (external payloads, ledger,
transcript pages), and the error bodies the clients got.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import redis.asyncio as aioredis
from temporalio.client import Client

from bench.faults.canaries import Canaries, SecretLeak
from bench.faults.stack import FaultStack

__all__ = ["scan"]


async def _histories(address: str) -> AsyncIterator[tuple[str, list[bytes]]]:
    client = await Client.connect(address)
    async for wf in client.list_workflows():
        handle = client.get_workflow_handle(wf.id, run_id=wf.run_id)
        events = [e.SerializeToString() async for e in handle.fetch_history_events()]
        yield wf.id, events


async def _redis_values(url: str) -> list[bytes]:
    r = aioredis.from_url(url)
    found: list[bytes] = []
    try:
        async for key in r.scan_iter(count=500):
            kind = (await r.type(key)).decode()
            found.append(key)
            if kind == "string":
                found.append(await r.get(key) or b"")
            elif kind == "stream":
                for _, fields in await r.xrange(key):
                    found += [*fields.keys(), *fields.values()]
            elif kind == "hash":
                found += [b"%s=%s" % kv for kv in (await r.hgetall(key)).items()]
            elif kind == "list":
                found += await r.lrange(key, 0, -1)
            elif kind in ("set", "zset"):
                found += await (r.smembers(key) if kind == "set" else r.zrange(key, 0, -1))
    finally:
        await r.aclose()
    return found


def _files(root: Path) -> list[bytes]:
    return [p.read_bytes() for p in root.rglob("*") if p.is_file()] if root.is_dir() else []


async def scan(
    stack: FaultStack, canaries: Canaries, errors: list[bytes]
) -> tuple[list[SecretLeak], dict[str, int]]:
    """The leaks found, and how much of each source was searched."""
    leaks = canaries.search("log", (line.encode() for line in stack.lines))
    logs = [p for p in stack.data.glob("*.log")]
    leaks += canaries.search("server log", (p.read_bytes() for p in logs))
    histories = 0
    async for wid, events in _histories(f"127.0.0.1:{stack.temporal.port}"):
        histories += 1
        leaks += canaries.search(f"history {wid}", events)
    values = await _redis_values(f"redis://127.0.0.1:{stack.redis.port}/0")
    leaks += canaries.search("redis", values)
    objects = _files(stack.objects)
    leaks += canaries.search("object store", objects)
    leaks += canaries.search("error body", errors)
    searched = {
        "log_lines": len(stack.lines), "server_logs": len(logs), "histories": histories,
        "redis_values": len(values), "objects": len(objects), "error_bodies": len(errors),
    }  # fmt: skip
    return leaks, searched
