"""Benchmark: does the workflow's event history grow by the same amount every turn?

    uv run python bench/history_growth.py [--turns 120]

The seed handed the whole conversation to every activity, so each turn added
more bytes to the history than the one before (quadratic growth). Here the
activities get a window plus a summary, so the bytes a turn adds should stay
flat however long the conversation is. This drives a long scripted
conversation (odd turns: a tool call, run without confirmation, then a
report; even turns: a plain answer) and reads the history size after each
turn from ``describe()``. It runs twice: with the default roll-over
(continue-as-new every ``agent_max_turns_per_run`` turns, which resets the
size) and with roll-over pushed out of reach, so turn 10 and turn 100 fall in
one run and their per-turn deltas compare directly.

Starts Temporal, a private Redis and the fake LLM with the shared start-up code
(``durable_agent.harness.LocalStack``, the local stack without its gateway
and workers, whose workers this runs in-process with its own settings).
Writes bench/results/history_growth.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from agent_core.conversation_client import ConversationClient
from agent_core.event_log import EventLog
from agent_core.models import ConversationSnapshot, ConversationStatus, TaskQueues
from agent_core.settings import Settings
from durable_agent.harness import LocalStack
from fake_llm import RemoteFakeLLM, Reply
from worker_llm.main import build_workers as build_llm_workers
from worker_tools.main import build_workers as build_tool_workers

RESULTS = Path(__file__).parent / "results" / "history_growth.json"
COMMAND = "uv run python bench/history_growth.py"
ANSWER = (
    "Here is what I found about your trip so far. The festival runs for two weeks, "
    "most venues are in the city centre and easy to reach by tram. Flights from Sydney "
    "leave every hour; prices vary by day. Tell me which dates suit you and where you "
    "would like to fly from, and I will look at the options for you."
)


def _settings(fake: RemoteFakeLLM, redis_url: str, address: str, **overrides: Any) -> Settings:
    suffix = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "temporal_address": address,
        "workflow_task_queue": f"bench-wf-{suffix}",
        "llm_task_queue": f"bench-llm-{suffix}",
        "tools_task_queue": f"bench-tools-{suffix}",
        "llm_api_base": fake.api_base,
        "llm_api_key": "bench-key",
        "redis_url": redis_url,
        "agent_show_confirm": False,
        **overrides,
    }
    return Settings(**values)


def _script_turn(fake: RemoteFakeLLM, turn: int) -> tuple[str, int]:
    """Queue the model's replies for ``turn``; the user's text and the messages it adds."""
    if turn % 2:
        proposal = Reply.call("find_events", city="Melbourne", month="April")
        fake.script(
            "plan",
            proposal.replace(text=f"Turn {turn}: let me look up events in Melbourne in April."),
            f"Turn {turn}: the events are listed above. {ANSWER}",
        )
        return f"Turn {turn}: which events are on in Melbourne in April?", 4
    fake.script("plan", f"Turn {turn}: {ANSWER}")
    return f"Turn {turn}: thanks. What else should I know about the trip?", 2


async def _idle(conversations: ConversationClient, tenant: str, cid: str, messages: int) -> None:
    """Wait until the turn is answered and no activity (e.g. a summary) is still running."""
    handle = conversations.handle(tenant, cid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        snap: ConversationSnapshot = await conversations.snapshot(tenant, cid)
        if (
            len(snap.transcript) >= messages
            and snap.status == ConversationStatus.AWAITING_INPUT
            and not snap.queued_prompts
        ):
            described = await handle.describe()
            if not described.raw_description.pending_activities:
                return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"turn not answered; {messages} messages expected")


async def drive(
    client: Client, redis_url: str, fake: RemoteFakeLLM, turns: int, label: str, **overrides: Any
) -> dict[str, Any]:
    fake.reset()
    async with EventLog(redis_url) as events:
        address = client.service_client.config.target_host
        settings = _settings(fake, redis_url, address, **overrides)
        queues = TaskQueues(llm=settings.llm_task_queue, tools=settings.tools_task_queue)
        conversations = ConversationClient(client, settings.workflow_task_queue, queues)
        workers: list[Worker] = [
            *build_llm_workers(client, events, settings),
            *build_tool_workers(client, events, settings),
        ]
        runs = [asyncio.create_task(w.run()) for w in workers]
        try:
            tenant, cid = "bench", uuid.uuid4().hex[:12]
            handle = conversations.handle(tenant, cid)
            rows: list[dict[str, Any]] = []
            messages, last_bytes, last_run = 0, 0, ""
            started = time.monotonic()
            for turn in range(1, turns + 1):
                text, added = _script_turn(fake, turn)
                if turn == 1:
                    await conversations.start(tenant, cid, "travel", text)
                else:
                    await conversations.send(tenant, cid, text)
                messages += added
                await _idle(conversations, tenant, cid, messages)
                info = (await handle.describe()).raw_description.workflow_execution_info
                run_id = info.execution.run_id
                new_run = run_id != last_run
                size = info.history_size_bytes
                rows.append(
                    {
                        "turn": turn,
                        "kind": "tool" if turn % 2 else "question",
                        "run_id": run_id,
                        "new_run": new_run and turn > 1,
                        "history_bytes": size,
                        "history_events": info.history_length,
                        "delta_bytes": size if new_run else size - last_bytes,
                    }
                )
                last_bytes, last_run = size, run_id
                if turn % 10 == 0:
                    print(f"  [{label}] turn {turn}: {size:,} B, {info.history_length} events")
            elapsed = time.monotonic() - started
            await conversations.end(tenant, cid)
            snap = await conversations.snapshot(tenant, cid)
            runs_seen = len({r["run_id"] for r in rows})
        finally:
            for worker in workers:
                await worker.shutdown()
            await asyncio.gather(*runs, return_exceptions=True)
    return _summarise(label, settings, rows, runs_seen, len(snap.transcript), elapsed)


def _summarise(
    label: str,
    settings: Settings,
    rows: list[dict[str, Any]],
    runs: int,
    transcript: int,
    elapsed: float,
) -> dict[str, Any]:
    def at(turn: int) -> dict[str, Any]:
        row = next(r for r in rows if r["turn"] == turn)
        return {
            k: row[k]
            for k in ("turn", "kind", "history_bytes", "history_events", "delta_bytes", "new_run")
        }

    def mean_delta(first: int, last: int) -> float:
        return statistics.mean(
            r["delta_bytes"] for r in rows if first <= r["turn"] <= last and not r["new_run"]
        )

    return {
        "label": label,
        "max_turns_per_run": settings.agent_max_turns_per_run,
        "history_window": settings.agent_history_window,
        "turns": len(rows),
        "runs": runs,
        "transcript_messages": transcript,
        "seconds": round(elapsed, 1),
        "turn_10": at(10),
        "turn_100": at(100),
        "mean_delta_bytes_turns_2_11": round(mean_delta(2, 11)),
        "mean_delta_bytes_turns_91_100": round(mean_delta(91, 100)),
        "max_history_bytes": max(r["history_bytes"] for r in rows),
        "per_turn": [{k: v for k, v in r.items() if k != "run_id"} for r in rows],
    }


async def main(turns: int) -> None:
    async with LocalStack("--without", "api,workers") as stack:
        client = await Client.connect(
            stack.temporal_address, data_converter=pydantic_data_converter
        )
        fake = RemoteFakeLLM(stack.fake_llm)
        results = [
            await drive(client, stack.redis_url, fake, turns, "default roll-over"),
            await drive(
                client,
                stack.redis_url,
                fake,
                turns,
                "one run (no roll-over)",
                agent_max_turns_per_run=100_000,
                agent_max_history_events=50_000,
            ),
        ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"command": COMMAND, "results": results}, indent=1) + "\n")
    print()
    for r in results:
        t10, t100 = r["turn_10"], r["turn_100"]
        print(f"{r['label']}: {r['turns']} turns, {r['runs']} run(s), {r['seconds']} s")
        print(
            f"  turn 10 : +{t10['delta_bytes']:,} B (history {t10['history_bytes']:,} B, "
            f"{t10['history_events']} events)"
        )
        print(
            f"  turn 100: +{t100['delta_bytes']:,} B (history {t100['history_bytes']:,} B, "
            f"{t100['history_events']} events)"
            + ("  [first turn of a new run]" if t100["new_run"] else "")
        )
        print(
            f"  mean bytes per turn: turns 2-11 {r['mean_delta_bytes_turns_2_11']:,}, "
            f"turns 91-100 {r['mean_delta_bytes_turns_91_100']:,}; "
            f"largest history {r['max_history_bytes']:,} B"
        )
    print(
        f"\nwrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=120, help="user turns to drive (>= 100)")
    args = parser.parse_args()
    if args.turns < 100:
        parser.error("--turns must be at least 100 (turn 100 is reported)")
    asyncio.run(main(args.turns))
    sys.stdout.flush()
    os._exit(0)  # sdk-python #300: the SDK can crash at interpreter exit
