"""The project against a floor, figure by figure, on one machine, in one command.

    python -m bench.compare [--quick | --full] [--model-delay-ms 300] [--only streams,...]

(from the repository root; ``uv run python -m bench.compare`` likewise).

Starts the whole local stack with the shared start-up code
(``durable_agent.harness.LocalStack``: the supervisor behind ``make run``, on
free ports, a private Redis and the fake LLM, every part its own process) and,
on the same Temporal dev server, a FLOOR: a minimal workflow written for the
bench whose update runs two no-op activities (``bench.floor``, its worker a
process of its own). Then it measures, each beside the floor:

1. one turn p50/p99: ``POST .../messages`` to the ``agent_message`` event on
   SSE, against the floor's update round trip (targets 1.3x and 3x);
2. first token p50: to the first ``TEXT_MESSAGE_CONTENT`` (target floor + 15 ms);
3. the turn p50 with a slow model (``--model-delay-ms``, the floor's first
   activity sleeping as long);
4. throughput of 20 and 100 conversations x 10 turns at once (``--quick``:
   20 x 5 and 100 x 2), and the floor's updates per second at the same
   concurrency;
5. lost and doubled answers (over every concurrent run; ``--full`` adds
   1,000 conversations x 10 turns);
6. SSE fan-out: 500 (``--full``: 5,000) open streams on one gateway, the
   delivery latency of every event to every stream, and the Redis pool errors
   the gateway logged;
7. CPU ms per turn of each process (``/proc``), the floor's alongside;
8. history bytes per turn, the floor's alongside.

The model's replies are scripted: every plan call answers with a short text,
so a turn is one model call, as the floor's turn is one stand-in activity and
one more. ``--quick`` (the default) takes under three minutes on two cores;
``--full`` about forty (the 1,000 x 10 run alone takes twenty at eight turns
a second). The machine should be otherwise idle: the command
prints the load average it started at. Writes ``bench/results/compare.json``
and ``bench/results/compare.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client

from bench import phases, report
from bench.agent_client import http_session
from bench.machine import machine_facts
from bench.phases import Bench
from bench.streams import fan_out, raise_open_files
from durable_agent.harness import LocalStack, RunningStack
from fake_llm import RemoteFakeLLM

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
#: what the gateway logs when Redis (or its connection pool) fails it
REDIS_TROUBLE = re.compile(
    r"unreachable|No connection available|Too many connections|ConnectionError|"
    r"MaxConnectionsError|redis\.exceptions|unhandled error"
)
#: the services' settings for the run (the stack sees nothing else of this environment)
STACK_ENV = {
    "API_DEV_MODE": "true",
    "API_RATE_LIMIT_PER_MINUTE": "100000000",  # the bench is one tenant doing 10,000 turns
    "FAKE_LLM_CHUNK_DELAY": "0",
}
#: the stack's data (Temporal's SQLite file) in memory where possible, like a bare
#: ``temporal server start-dev``: on this machine's disk every fsync lands in the figures
MEMORY = Path("/dev/shm")
DATA_PARENT = MEMORY if MEMORY.is_dir() else None


@dataclass(frozen=True)
class Sizes:
    latency_blocks: int  # conversations of ``turns`` turns, one turn at a time
    delay_blocks: int  # the same with the slow model
    throughput: tuple[tuple[int, int], ...]  # (conversations at once, turns each)
    turns: int  # turns per conversation, one at a time
    faults: int  # conversations of the lost/doubled run (0: none beyond throughput)
    streams: int
    stream_conversations: int
    stream_rounds: int
    history_turns: int


#: the throughput runs cut short (100 x 2, not 100 x 10) so that a quick run stays
#: under three minutes on two cores; --full runs them as the issue asks
PHASES = ("latency", "history", "throughput", "streams")
QUICK = Sizes(10, 2, ((20, 5), (100, 2)), 10, 0, 500, 5, 2, 20)
FULL = Sizes(100, 10, ((20, 10), (100, 10)), 10, 1000, 5000, 50, 5, 20)


class LogWatch:
    """Counts the lines a part prints that match ``REDIS_TROUBLE``, and keeps a few."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.samples: list[str] = []

    def __call__(self, part: str, text: str) -> None:
        if part in ("api", "worker-llm", "worker-tools") and REDIS_TROUBLE.search(text):
            self.counts[part] += 1
            if len(self.samples) < 10:
                self.samples.append(f"{part}: {text[:300]}")

    def gateway(self) -> int:
        return self.counts["api"]


async def _floor_worker(address: str, queue: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.floor", "--address", address, "--task-queue", queue,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    if b"polling" not in line:
        raise RuntimeError(f"the floor worker did not start: {line.decode(errors='replace')}")
    return proc


def _say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


async def _measure(
    stack: RunningStack,
    sizes: Sizes,
    delay_ms: int,
    only: set[str],
    log: LogWatch,
    results: dict[str, Any],
) -> None:
    """Every phase in turn, each one's figures put in ``results`` as soon as it ends."""
    queue = phases.new_queue()
    worker = await _floor_worker(stack.temporal_address, queue)
    try:
        client = await Client.connect(stack.temporal_address)
        async with http_session() as http:
            fake = RemoteFakeLLM(stack.fake_llm, timeout=120)
            bench = Bench(stack, client, http, fake, queue, worker.pid)
            _say("warming up")
            await phases.warm_up(bench)
            if "latency" in only:
                _say(f"one turn at a time: {sizes.latency_blocks} x {sizes.turns} turns")
                results["latency"] = await phases.latency(
                    bench, sizes.latency_blocks, sizes.turns, 0
                )
                _say(f"with a {delay_ms} ms model: {sizes.delay_blocks} x {sizes.turns} turns")
                results["model_delay"] = await phases.latency(
                    bench, sizes.delay_blocks, sizes.turns, delay_ms
                )
            if "history" in only:
                _say(f"history growth: {sizes.history_turns} turns")
                results["history"] = await phases.history_growth(bench, sizes.history_turns)
            if "throughput" in only:
                results["throughput"] = []
                for count, turns in sizes.throughput:
                    _say(f"throughput: {count} x {turns} turns at once")
                    results["throughput"].append(await phases.throughput(bench, count, turns))
                if sizes.faults:
                    _say(f"lost / doubled: {sizes.faults} x {sizes.turns} turns at once")
                    results["faults"] = await phases.faults(bench, sizes.faults, sizes.turns)
            if "streams" in only:
                _say(
                    f"fan-out: {sizes.streams} streams on {sizes.stream_conversations} "
                    "conversations"
                )
                results["streams"] = await fan_out(
                    bench,
                    sizes.streams,
                    sizes.stream_conversations,
                    sizes.stream_rounds,
                    log.gateway,
                )
    finally:
        worker.terminate()
        await worker.wait()


async def run(sizes: Sizes, delay_ms: int, label: str, only: set[str]) -> dict[str, Any]:
    files = raise_open_files(2 * sizes.streams + 2048)
    machine = machine_facts()
    _say(f"{label} run; load average {machine['loadavg_at_start']}; open files {files}")
    log = LogWatch()
    began = time.monotonic()
    async with LocalStack(env=STACK_ENV, on_line=log, parent=DATA_PARENT) as stack:
        _say(f"stack up: gateway {stack.gateway}, Temporal {stack.temporal_address}")
        results: dict[str, Any] = {}
        try:
            await _measure(stack, sizes, delay_ms, only, log, results)
        except BaseException:
            partial = RESULTS / "compare.partial.json"
            RESULTS.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps(results, indent=1) + "\n")
            _say(f"failed; the phases done so far are in {partial}")
            raise
    results["log_trouble"] = {"counts": dict(log.counts), "samples": log.samples}
    return {
        "command": " ".join(["python -m bench.compare", *sys.argv[1:]]),
        "mode": label,
        "sizes": asdict(sizes),
        "machine": machine,
        "seconds": round(time.monotonic() - began, 1),
        "results": results,
    }


def _write(outcome: dict[str, Any]) -> str:
    table = report.rows(outcome["results"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "compare.json").write_text(json.dumps(outcome, indent=1) + "\n")
    m = outcome["machine"]
    head = (
        f"# durable-agent against the floor ({outcome['mode']})\n\n"
        f"`{outcome['command']}` at {m['commit']}"
        f"{' (with uncommitted changes)' if m['uncommitted_changes'] else ''}, "
        f"{m['cpus']} CPUs, load average at start {m['loadavg_at_start'][0]:.2f}, "
        f"{outcome['seconds']} s.\n\n"
        "floor: a workflow whose update runs two no-op activities, same Temporal server; "
        "ratio: project / floor. Tutorial figures as reported in the issue.\n\n"
    )
    (RESULTS / "compare.md").write_text(head + report.markdown(table))
    return report.text_table(table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small counts, < 3 minutes (default)")
    size.add_argument("--full", action="store_true", help="every figure at full size")
    parser.add_argument("--model-delay-ms", type=int, default=300, help="the slow model's latency")
    parser.add_argument(
        "--only",
        default=",".join(PHASES),
        help=f"comma-separated phases to run, of {','.join(PHASES)} (default: all)",
    )
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    if not only <= set(PHASES):
        parser.error(f"--only takes {','.join(PHASES)}")
    sizes, label = (FULL, "full") if args.full else (QUICK, "quick")
    outcome = asyncio.run(run(sizes, args.model_delay_ms, label, only))
    print()
    print(_write(outcome))
    print(f"wrote {RESULTS / 'compare.json'} and {RESULTS / 'compare.md'}")
    sys.stdout.flush()
    os._exit(0)  # sdk-python #300: the SDK can crash at interpreter exit


if __name__ == "__main__":
    main()
