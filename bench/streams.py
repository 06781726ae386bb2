"""Fan-out: thousands of SSE streams open on one gateway, every event to every stream.

``streams`` streams are opened on ``conversations`` conversations (as many on
each). Burst: round after round, every conversation gets a message at once
and the round ends when every stream has seen the run finish (what one
gateway does when all its conversations answer together: its queueing shows).
Steady: then one conversation answers at a time, each once, while every
stream stays open (what a stream sees on a gateway holding that many). An event's delivery
latency is its arrival at a stream minus the moment Redis appended it (the
stream entry id is Redis's clock in milliseconds, the same machine's clock the
client reads): the gateway's whole share, wake-up to bytes on the socket,
for every event and every stream. Redis connection-pool errors are what the
gateway logged meanwhile (``errors`` counts them).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import time
from collections.abc import Callable
from typing import Any

from bench.cpu import CpuMeter
from bench.phases import Bench, _bounded
from bench.sse import SseStream
from bench.stats import summary

__all__ = ["fan_out", "raise_open_files"]

_FINISHED = b"RUN_FINISHED"


def raise_open_files(wanted: int) -> int:
    """Lift the soft open-files limit towards ``wanted`` (children inherit it); the new one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class _Tally:
    """Latencies of every frame since ``since_ms``, and runs finished per stream."""

    def __init__(self, streams: int) -> None:
        self.since_ms = float("inf")
        self.latencies: list[float] = []
        self.finished = [0] * streams
        self.changed = asyncio.Event()


async def _consume(stream: SseStream, index: int, tally: _Tally) -> None:
    async for frame in stream.frames():
        appended = int(frame.id.partition(b"-")[0] or 0)
        if appended >= tally.since_ms:
            tally.latencies.append(frame.received * 1000 - appended)
        if frame.event == _FINISHED:
            tally.finished[index] += 1
            tally.changed.set()


async def _until(tally: _Tally, done: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while not done():
        tally.changed.clear()
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.changed.wait(), min(left, 1.0))
    return True


async def fan_out(
    bench: Bench, streams: int, conversations: int, rounds: int, errors: Callable[[], int]
) -> dict[str, Any]:
    bench.script(conversations * rounds, 0)
    talks = await bench.conversations(conversations)
    paths = [f"/v1/conversations/{talks[i % conversations].id}/events" for i in range(streams)]
    opened = [SseStream(bench.stack.gateway, path) for path in paths]
    began = time.perf_counter()
    await _bounded([s.open for s in opened], 100)
    open_seconds = time.perf_counter() - began
    meter = CpuMeter({p: bench.stack.pids[p] for p in ("api", "redis")} | {"bench": os.getpid()})
    tally = _Tally(streams)
    readers = [asyncio.create_task(_consume(s, i, tally)) for i, s in enumerate(opened)]
    complete = True
    try:
        # each stream first replays the creation's run
        complete = await _until(tally, lambda: min(tally.finished) >= 1, 120)
        errors_before = errors()
        tally.since_ms = time.time() * 1000
        meter.start()
        for round_ in range(1, rounds + 1):
            await asyncio.gather(
                *(t.turn(f"Round {round_}: anything new?", within=120) for t in talks)
            )
            complete = complete and await _until(
                tally, lambda r=round_: min(tally.finished) >= r + 1, 120
            )
        burst, frames = tally.latencies, len(tally.latencies)
        cpu = meter.per(frames / 1000)  # ms per 1,000 frames
        tally.latencies = []
        for index, talk in enumerate(talks):
            await talk.turn("One more question, please.", within=120)
            mine = range(index, streams, conversations)
            complete = complete and await _until(
                tally, lambda m=mine: min(tally.finished[i] for i in m) >= rounds + 2, 120
            )
        pool_errors = errors() - errors_before
    finally:
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await asyncio.gather(*(s.close() for s in opened))
        await asyncio.gather(*(t.close() for t in talks))
    return {
        "streams": streams,
        "conversations": conversations,
        "rounds": rounds,
        "open_seconds": round(open_seconds, 1),
        "frames": frames,
        "complete": complete,
        "delivery_ms": summary(burst),
        "steady_frames": len(tally.latencies),
        "steady_delivery_ms": summary(tally.latencies),
        "cpu_ms_per_1000_frames": cpu,
        "redis_errors": pool_errors,
    }
