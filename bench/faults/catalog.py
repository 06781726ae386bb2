"""The faults, each a way to hurt the live stack, injected a few times per batch.

Kills are SIGKILL of the process group: no shutdown code runs. Workers and
the gateway come back through the supervisor (what a user's ``make run``
does); Temporal and Redis are restarted by the campaign on the same port
and data (Redis wiped first when it runs without persistence). Model faults
are the fake LLM's own scripted replies, queued for whichever calls come
next: an HTTP error status, a reply that arrives after ``LLM_TIMEOUT_SECONDS``,
a stream cut after a few chunks, tool arguments that are not JSON.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.faults.procs import persist
from bench.faults.stack import FaultStack
from fake_llm import RemoteFakeLLM, Reply

__all__ = ["CATALOG", "SHORT", "Fault"]

#: injects the fault once; the seconds until the hurt part was back, if it was restarted
Inject = Callable[[FaultStack], Awaitable[float | None]]


@dataclass(frozen=True)
class Fault:
    name: str
    times: int  # injections while the batch's conversations are live
    inject: Inject | None = None
    retry_all: bool = False  # the clients send every request twice


def _kill(part: str) -> Inject:
    async def inject(stack: FaultStack) -> float | None:
        return await stack.kill_supervised(part)

    return inject


def _restart_redis(persistent: bool) -> Inject:
    async def inject(stack: FaultStack) -> float | None:
        persist(stack.redis, persistent)
        took = await stack.redis.restart()
        persist(stack.redis, True)
        return took

    return inject


async def _restart_temporal(stack: FaultStack) -> float | None:
    return await stack.temporal.restart()


async def _cut_redis(stack: FaultStack) -> float | None:
    stack.proxy.cut(5.0)
    return None


def _model(*replies: Reply, kinds: tuple[str, ...] = ("plan",)) -> Inject:
    async def inject(stack: FaultStack) -> float | None:
        fake = RemoteFakeLLM(f"http://127.0.0.1:{stack.fake_llm.port}")
        for kind in kinds:
            await asyncio.to_thread(fake.script, kind, *replies)  # type: ignore[arg-type]
        return None

    return inject


#: past the stack's LLM_TIMEOUT_SECONDS (5)
_HANG = Reply.say("This answer comes far too late.", hang_seconds=8)
_CUT = Reply.say("A long answer that the network cuts off half-way through.", abort_after_chunks=3)
_GARBAGE = Reply.call_raw("find_events", '{"city": "Melb', text="Let me look that up")

CATALOG: tuple[Fault, ...] = (
    Fault("none", 0),
    Fault("kill -9 worker-llm", 3, _kill("worker-llm")),
    Fault("kill -9 worker-tools", 3, _kill("worker-tools")),
    Fault("kill -9 gateway", 3, _kill("api")),
    Fault("kill -9 redis (AOF fsync always)", 2, _restart_redis(True)),
    Fault("kill -9 redis (no persistence: wiped)", 2, _restart_redis(False)),
    Fault("kill -9 temporal dev server", 2, _restart_temporal),
    Fault("network cut services-redis 5s", 3, _cut_redis),
    Fault("llm 429", 3, _model(*[Reply.error(429)] * 4, kinds=("plan", "validate"))),
    Fault("llm 500/502/503", 3, _model(Reply.error(500), Reply.error(502), Reply.error(503))),
    Fault("llm 401", 2, _model(*[Reply.error(401)] * 2)),
    Fault("llm 403", 2, _model(*[Reply.error(403)] * 2)),
    Fault("llm garbage tool args", 3, _model(_GARBAGE, _GARBAGE)),
    Fault("llm hang past timeout", 2, _model(_HANG, _HANG)),
    Fault("llm cut stream", 3, _model(_CUT, _CUT, _CUT)),
    Fault("client retries every request", 0, retry_all=True),
)

#: the CI version: one kill of each process, a network cut, one model fault, the retrying client
SHORT: tuple[Fault, ...] = (
    Fault("kill -9 worker-llm", 1, _kill("worker-llm")),
    Fault("kill -9 worker-tools", 1, _kill("worker-tools")),
    Fault("kill -9 gateway", 1, _kill("api")),
    Fault("kill -9 redis (no persistence: wiped)", 1, _restart_redis(False)),
    Fault("kill -9 temporal dev server", 1, _restart_temporal),
    Fault("network cut services-redis 5s", 1, _cut_redis),
    Fault("llm cut stream", 1, _model(_CUT, _CUT)),
    Fault("client retries every request", 0, retry_all=True),
)
