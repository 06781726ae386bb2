"""The measured phases: turn latency, throughput, history growth; project and floor alike.

Each phase drives the project through the gateway and the floor through the
Temporal client on the same server, one after the other (latency phases in
alternating blocks, so drift in the machine's load hits both alike), and
returns plain numbers for the report. The model's replies are scripted
(every plan call answers with text, after ``delay_ms``), so a turn is one
model call and its answer, which is what the floor's two activities stand for.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from temporalio.client import Client, WorkflowHandle

from agent_core.conversation_ids import workflow_id
from bench.agent_client import Conversation, Turn
from bench.cpu import CpuMeter
from bench.floor import FloorWorkflow, floor_turns, start_floors
from bench.prometheus import scrape
from bench.stats import summary
from durable_agent.harness import RunningStack
from fake_llm import RemoteFakeLLM, Reply

__all__ = ["Bench", "faults", "history_growth", "latency", "throughput", "warm_up"]

T = TypeVar("T")
#: the moments of a turn, in order, from the POST: where its time goes
MARKS = ("accepted", "first_token", "text_end", "answered", "finished")
GOAL = "travel"
TENANT = "dev"  # what the gateway's dev mode acts as
ANSWER = (
    "Melbourne in April has a comedy festival and plenty of live music. Flights from "
    "Sydney leave every hour. Tell me your dates and I will look at the options."
)


@dataclass
class Bench:
    """What every phase uses: the running stack, the clients, the floor's queue and pids."""

    stack: RunningStack
    temporal: Client
    http: aiohttp.ClientSession
    fake: RemoteFakeLLM
    floor_queue: str
    floor_pid: int

    def script(self, turns: int, delay_ms: int) -> None:
        """Every plan call of the next ``turns`` answers in text, after ``delay_ms``."""
        self.fake.reset()
        reply = Reply.say(ANSWER, hang_seconds=delay_ms / 1000)
        summary_reply = Reply.say("Summary: the user plans a trip.", hang_seconds=delay_ms / 1000)
        # a retried model call (a heartbeat missed under load) takes a reply of its own
        self.fake.script("plan", *[reply] * (turns + turns // 2 + 50))
        self.fake.script("summarize", *[summary_reply] * (turns // 2 + 50))

    async def publish_counters(self) -> dict[str, float]:
        """worker-llm's publishing counters (``agent_event_publish_seconds``...)."""
        return await scrape(self.http, self.stack.metrics["worker-llm"])

    def project_cpu(self) -> CpuMeter:
        return CpuMeter(self.stack.pids)

    def floor_cpu(self) -> CpuMeter:
        return CpuMeter({"temporal": self.stack.pids["temporal"], "floor-worker": self.floor_pid})

    async def conversations(self, count: int) -> list[Conversation]:
        return await _bounded(
            [lambda: Conversation.start(self.http, self.stack.gateway, GOAL)] * count, 50
        )

    async def floors(self, count: int) -> list[WorkflowHandle]:
        return await start_floors(self.temporal, self.floor_queue, count)


async def _bounded(factories: list[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    """Run the coroutines ``factories`` make, at most ``limit`` at once, in order."""
    gate = asyncio.Semaphore(limit)

    async def one(factory: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await factory()

    return list(await asyncio.gather(*(one(f) for f in factories)))


async def _talk(conversation: Conversation, turns: int, within: float = 30.0) -> list[Turn]:
    return [
        await conversation.turn(f"Question {i}: what else should I know about the trip?", within)
        for i in range(1, turns + 1)
    ]


def _ms(turns: list[Turn], mark: str) -> list[float]:
    return [v for t in turns if (v := t.ms(getattr(t, mark))) is not None]


async def warm_up(bench: Bench, turns: int = 10) -> None:
    """Imports, connections and caches warmed on both sides; nothing recorded."""
    bench.script(turns, 0)
    (conversation,) = await bench.conversations(1)
    await _talk(conversation, turns)
    await conversation.close()
    (floor,) = await bench.floors(1)
    await floor_turns(floor, turns)


async def latency(bench: Bench, blocks: int, turns: int, delay_ms: int) -> dict[str, Any]:
    """One turn at a time: ``blocks`` conversations of ``turns``, alternating with the floor."""
    bench.script(blocks * turns, delay_ms)
    project: list[Turn] = []
    floor: list[float] = []
    talks: list[Conversation] = []
    published = await bench.publish_counters()
    for _ in range(blocks):
        (conversation,) = await bench.conversations(1)
        talks.append(conversation)
        project += await _talk(conversation, turns)
        await conversation.close()
        (handle,) = await bench.floors(1)
        floor += await floor_turns(handle, turns, delay_ms)
    published = _per_turn(await bench.publish_counters(), published, len(project))
    return {
        "model_delay_ms": delay_ms,
        "turns": len(project),
        "turn_ms": summary(_ms(project, "answered")),
        "first_token_ms": summary(_ms(project, "first_token")),
        "run_finished_ms": summary(_ms(project, "finished")),
        "p50_marks_ms": {m: summary(_ms(project, m))["p50"] for m in MARKS},
        "floor_ms": summary(floor),
        "faults": await faults_of(talks),
        "publishing": published,
    }


def _per_turn(after: dict[str, float], before: dict[str, float], turns: int) -> dict[str, float]:
    """What the workflow's event publishing cost each turn: batches (local activities),
    events, and the milliseconds those batches took inside worker-llm."""

    def delta(name: str) -> float:
        return (after.get(name, 0.0) - before.get(name, 0.0)) / max(turns, 1)

    return {
        "batches": round(delta("agent_event_publish_seconds_count"), 2),
        "events": round(delta("agent_events_published_total"), 2),
        "ms": round(delta("agent_event_publish_seconds_sum") * 1000, 2),
    }


async def _at_once(
    meter: CpuMeter, runs: list[Awaitable[list[T]]]
) -> tuple[list[T], float, dict[str, float]]:
    """Every run at once: what they returned, the wall seconds, CPU ms per item."""
    meter.start()
    began = time.perf_counter()
    done = [item for run in await asyncio.gather(*runs) for item in run]
    wall = time.perf_counter() - began
    return done, wall, meter.per(len(done))


async def throughput(
    bench: Bench, concurrency: int, turns: int, with_floor: bool = True
) -> dict[str, Any]:
    """``concurrency`` conversations of ``turns`` at once; then as many floor workflows."""
    bench.script(concurrency * turns, 0)
    conversations = await bench.conversations(concurrency)
    within = 60 + concurrency * 0.6  # a turn waits behind every other conversation's
    done, wall, cpu = await _at_once(
        bench.project_cpu(), [_talk(c, turns, within) for c in conversations]
    )
    await asyncio.sleep(1)  # late duplicates would arrive now
    found = await faults_of(conversations)
    await asyncio.gather(*(c.close() for c in conversations))
    result = {
        "conversations": concurrency,
        "turns_each": turns,
        "turns": len(done),
        "seconds": round(wall, 2),
        "turns_per_s": round(len(done) / wall, 1),
        "turn_ms": summary(_ms(done, "answered")),
        "cpu_ms_per_turn": cpu,
        "faults": found,
    }
    if not with_floor:
        return result
    floors = await bench.floors(concurrency)
    floor, floor_wall, floor_cpu = await _at_once(
        bench.floor_cpu(), [floor_turns(h, turns) for h in floors]
    )
    await asyncio.gather(*(h.signal(FloorWorkflow.end) for h in floors))
    return {
        **result,
        "floor_seconds": round(floor_wall, 2),
        "floor_per_s": round(len(floor) / floor_wall, 1),
        "floor_ms": summary(floor),
        "floor_cpu_ms_per_turn": floor_cpu,
    }


async def faults_of(conversations: list[Conversation]) -> dict[str, Any]:
    """What the workflows hold, read back once the runs are over. Lost: a message the
    client sent that the transcript lacks, or holds with no agent message after it.
    Doubled: a message the transcript holds twice, or an event a stream delivered
    twice. ``errors`` counts POSTs that never got their 202 (retried for minutes)."""
    transcripts = await _bounded([c.transcript for c in conversations], 50)
    turns = [t for c in conversations for t in c.turns]
    lost = doubled = 0
    for conversation, transcript in zip(conversations, transcripts, strict=True):
        for turn in conversation.turns:
            at = [
                i
                for i, m in enumerate(transcript)
                if m["role"] == "user" and m["text"] == turn.text
            ]
            answered = [
                i for i in at if i + 1 < len(transcript) and transcript[i + 1]["role"] == "agent"
            ]
            lost += not answered
            doubled += len(at) > 1
    return {
        "messages": len(turns),
        "lost": lost,
        "doubled": doubled,
        "redelivered_events": sum(c.redelivered for c in conversations),
        "errors": sum(1 for t in turns if t.error),
        "retried_posts": sum(c.retries for c in conversations),
        "error_samples": sorted({t.error for t in turns if t.error})[:5],
    }


async def faults(bench: Bench, concurrency: int, turns: int) -> dict[str, Any]:
    """Many conversations at once, counting only what went missing or came twice."""
    result = await throughput(bench, concurrency, turns, with_floor=False)
    return {k: result[k] for k in ("conversations", "turns_each", "turns_per_s", "faults")}


async def _history_bytes(handle: WorkflowHandle) -> int:
    """The history's size once nothing (a background summary) is still running."""
    for _ in range(200):
        raw = (await handle.describe()).raw_description
        if not raw.pending_activities:
            return raw.workflow_execution_info.history_size_bytes
        await asyncio.sleep(0.05)
    raise TimeoutError("an activity is still running after 10 s")


async def history_growth(bench: Bench, turns: int) -> dict[str, Any]:
    """History bytes a turn adds, from turn 2 to ``turns + 1`` (turn 1 pays the start)."""
    bench.script(turns + 1, 0)
    (conversation,) = await bench.conversations(1)
    handle = bench.temporal.get_workflow_handle(workflow_id(TENANT, conversation.id))
    await _talk(conversation, 1)
    first = await _history_bytes(handle)
    await _talk(conversation, turns)
    last = await _history_bytes(handle)
    await conversation.close()

    (floor,) = await bench.floors(1)
    await floor_turns(floor, 1)
    floor_first = await _history_bytes(floor)
    await floor_turns(floor, turns)
    floor_last = await _history_bytes(floor)
    await floor.signal(FloorWorkflow.end)
    return {
        "turns": turns,
        "bytes_per_turn": round((last - first) / turns),
        "floor_bytes_per_turn": round((floor_last - floor_first) / turns),
        "history_bytes": last,
    }


def new_queue() -> str:
    return f"bench-floor-{uuid.uuid4().hex[:8]}"
