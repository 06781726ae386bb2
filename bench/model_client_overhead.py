"""Benchmark: CPU and wall time of one streamed model call through each model client.

    uv run python bench/model_client_overhead.py [--calls 300] [--baseline]

Serves the fake LLM on loopback (zero chunk delay, so the time measured is
the client's, not the model's) and drives ``LitellmChatModel.complete`` with
both clients (``openai``: the OpenAI SDK client that ``openai/`` models
take; ``litellm``: the litellm client every other provider takes) with
a small plan-like request (a system prompt, a short exchange and the travel
goal's tools; the fake answers with a sentence of text and a tool call, about
forty chunks), with logging set up as the worker service sets it (root at
INFO). Per call it records wall time and the client process's CPU time
(``time.process_time()``, which counts litellm's helper threads too).

``--baseline`` also runs the original client (``litellm.acompletion`` and a
``litellm.stream_chunk_builder`` pass, with litellm's default settings) for
comparison. Each client runs in a subprocess of its own, since the litellm
client sets process-wide litellm flags, and the parent (which also serves the
fake, so its CPU is not counted) has them take turns in blocks of calls
(A B B A ...) so drift in the machine's speed hits both alike. CPU a call
leaves behind (litellm's logging tasks and threads) is caught by the block
totals, measured after the block has settled: ``cpu_ms_mean`` is that total
per call (``cpu_ms_mean_within_calls`` the mean of the per-call deltas). Both
clients must return the same ``ModelReply``. Writes bench/results/model_client_overhead.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
WARMUP_CALLS = 20
SETTLE_SECONDS = 0.2  # lets a block's trailing logging work finish inside its CPU total

MESSAGES = [
    {
        "role": "system",
        "content": (
            "You are a travel agent. Your goal: help the user find an event to go to and book "
            "the trip. Work towards the goal one step at a time. Ask the user for anything a "
            "tool needs that you do not know yet; never invent argument values. When you have "
            "every argument a tool needs, say in one or two sentences what you will do and "
            "call the tool: the user is asked to confirm before it runs."
        ),
    },
    {"role": "user", "content": "Hi, I'd like to go to an event somewhere nice."},
    {"role": "assistant", "content": "Happy to help. Which city, and which month?"},
    {"role": "user", "content": "An event in Melbourne in April"},
]

VARIANTS = {
    "openai": "OpenAIChatModel (worker_llm.openai_model): the default for openai/ models",
    "litellm": "LitellmChatModel (worker_llm.litellm_model): every other provider",
    "baseline": "original: litellm.acompletion + litellm.stream_chunk_builder, default settings",
}


# --- worker side: one client, driven over a pipe -----------------------------------------


def _plan_tools() -> list[dict[str, Any]]:
    try:
        from worker_llm.prompts import plan_tools
    except ImportError:  # before the prompts moved to the LLM worker
        from agent_core.prompts import plan_tools  # type: ignore[no-redef]
    return plan_tools("travel")


class OriginalChatModel:
    """The client as it was: litellm's defaults, its chunk builder on every reply."""

    def __init__(self, api_base: str) -> None:
        import litellm

        # as the original module did at import
        import litellm.proxy.openai_files_endpoints.common_utils

        litellm.suppress_debug_info = True
        self._litellm, self._api_base = litellm, api_base

    async def complete(self, messages: list[dict[str, Any]], tools: Any, on_text: Any) -> Any:
        from agent_core.chat_model import ModelReply, ModelToolCall

        litellm = self._litellm
        response = await litellm.acompletion(
            model="openai/fake-agent",
            messages=messages,
            api_base=self._api_base,
            api_key="k",
            stream=True,
            stream_options={"include_usage": True},
            timeout=60.0,
            num_retries=0,
            max_retries=0,
            tools=tools,
        )
        chunks = []
        async for chunk in response:
            chunks.append(chunk)
            delta = chunk.choices[0].delta.content if chunk.choices else None
            if delta:
                await on_text(delta)
        built = litellm.stream_chunk_builder(chunks, messages=messages)
        message = built.choices[0].message
        return ModelReply(
            text=message.content or "",
            tool_calls=[
                ModelToolCall(name=c.function.name or "", arguments=c.function.arguments or "")
                for c in (message.tool_calls or [])
            ],
            prompt_tokens=built.usage.prompt_tokens,
            completion_tokens=built.usage.completion_tokens,
        )


def _client(variant: str, api_base: str) -> Any:
    if variant == "baseline":
        return OriginalChatModel(api_base)
    from agent_core.settings import Settings
    from worker_llm.chat_model import chat_model_for

    client = "auto" if variant == "openai" else "litellm"
    settings = Settings(
        llm_model="openai/fake-agent", llm_api_base=api_base, llm_api_key="k", llm_client=client
    )
    return chat_model_for(settings)


async def _worker(variant: str, api_base: str) -> None:
    """Run blocks of calls on request: read a count, answer one JSON line of timings."""
    # Protocol on the original stdout; anything litellm prints goes to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    import logging

    # as the worker service configures logging (agent_core.worker_host)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    client = _client(variant, api_base)
    tools = _plan_tools()
    streamed: list[str] = []

    async def on_text(delta: str) -> None:
        streamed.append(delta)

    loop = asyncio.get_running_loop()
    proto.write(json.dumps({"ready": True}) + "\n")
    while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
        if line == "quit":
            break
        walls, cpus, reply = [], [], None
        block_cpu, block_wall = time.process_time(), time.perf_counter()
        for _ in range(int(line)):
            streamed.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            reply = await client.complete(MESSAGES, tools, on_text)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            assert "".join(streamed) == reply.text, "streamed text differs from the reply"
        await asyncio.sleep(SETTLE_SECONDS)
        block = {
            "wall": walls,
            "cpu": cpus,
            "block_cpu": time.process_time() - block_cpu,
            "block_wall": time.perf_counter() - block_wall - SETTLE_SECONDS,
            "reply": repr(reply),
        }
        proto.write(json.dumps(block) + "\n")


# --- parent side: the fake LLM and the turns -----------------------------------------------


class _Worker:
    def __init__(self, variant: str, process: asyncio.subprocess.Process) -> None:
        self.variant, self.process = variant, process
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.block_cpu = 0.0
        self.replies: set[str] = set()

    @classmethod
    async def start(cls, variant: str, api_base: str) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--worker", variant, "--api-base", api_base,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        worker = cls(variant, process)
        await worker._read()
        return worker

    async def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.variant} worker exited (code {await self.process.wait()})")
        return json.loads(line)

    async def run(self, calls: int, *, record: bool = True) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{calls}\n".encode())
        await self.process.stdin.drain()
        block = await self._read()
        if record:
            self.wall += block["wall"]
            self.cpu += block["cpu"]
            self.block_cpu += block["block_cpu"]
            self.replies.add(block["reply"])

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"quit\n")
        await self.process.stdin.drain()
        await self.process.wait()


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def _summary(worker: _Worker) -> dict[str, Any]:
    return {
        "variant": worker.variant,
        "what": VARIANTS[worker.variant],
        "calls": len(worker.wall),
        "wall_ms_p50": _ms(worker.wall, 0.5),
        "wall_ms_p99": _ms(worker.wall, 0.99),
        "cpu_ms_p50": _ms(worker.cpu, 0.5),
        "cpu_ms_p99": _ms(worker.cpu, 0.99),
        "cpu_ms_mean": round(1000 * worker.block_cpu / len(worker.wall), 2),
        "cpu_ms_mean_within_calls": round(1000 * statistics.mean(worker.cpu), 2),
        "wall_ms_mean": round(1000 * statistics.mean(worker.wall), 2),
    }


async def _measure(calls: int, block: int, baseline: bool) -> dict[str, Any]:
    from fake_llm import FakeLLM

    async with FakeLLM(chunk_delay=0.0) as fake:
        variants = ["openai", "litellm", *(["baseline"] if baseline else [])]
        workers = [await _Worker.start(v, fake.api_base) for v in variants]
        try:
            for worker in workers:
                await worker.run(WARMUP_CALLS, record=False)
            done, turn = 0, 0
            while done < calls:
                size = min(block, calls - done)
                order = workers if turn % 2 == 0 else workers[::-1]
                for worker in order:
                    await worker.run(size)
                done, turn = done + size, turn + 1
        finally:
            for worker in workers:
                await worker.stop()
    replies = {r for w in workers for r in w.replies}
    if len(replies) != 1:
        raise AssertionError(f"the clients' replies differ: {sorted(replies)}")
    return {
        "calls_per_variant": calls,
        "block": block,
        "warmup_calls": WARMUP_CALLS,
        "reply": replies.pop(),
        "litellm": _dist_version("litellm"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "results": [_summary(w) for w in workers],
    }


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


_COLUMNS = [
    ("variant", "variant"),
    ("wall_ms_p50", "wall p50 ms"),
    ("wall_ms_p99", "wall p99 ms"),
    ("cpu_ms_p50", "CPU p50 ms"),
    ("cpu_ms_p99", "CPU p99 ms"),
    ("cpu_ms_mean", "CPU mean ms (incl. trailing work)"),
]


def _table(report: dict[str, Any]) -> str:
    rows = [[str(r[key]) for key, _ in _COLUMNS] for r in report["results"]]
    lines = [
        "| " + " | ".join(title for _, title in _COLUMNS) + " |",
        "|" + "|".join("---" for _ in _COLUMNS) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    by = {r["variant"]: r for r in report["results"]}
    for variant in ("openai", "litellm"):
        if "baseline" in by:
            saved = 1 - by[variant]["cpu_ms_mean"] / by["baseline"]["cpu_ms_mean"]
            lines.append(f"\n`{variant}`: CPU per call (mean) {saved:.0%} less than the baseline.")
    return "\n".join(lines)


def _markdown(report: dict[str, Any], command: str) -> str:
    return (
        "# Model client overhead\n\n"
        f"`{command}`\n\n"
        f"{report['calls_per_variant']} streamed calls per client against the fake LLM on "
        f"loopback (zero chunk delay), after {report['warmup_calls']} warm-up calls; clients take "
        f"turns in blocks of {report['block']}. litellm {report['litellm']}, Python "
        f"{report['python']}, {report['cpus']} CPUs.\n\n"
        + "\n".join(f"- `{r['variant']}`: {r['what']}" for r in report["results"])
        + "\n\n"
        + _table(report)
        + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="measured calls per client")
    parser.add_argument("--block", type=int, default=25, help="calls per turn")
    parser.add_argument("--baseline", action="store_true", help="also run the original client")
    parser.add_argument("--worker", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--api-base", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(_worker(args.worker, args.api_base))
        return
    report = asyncio.run(_measure(args.calls, args.block, args.baseline))
    command = "uv run python bench/model_client_overhead.py " + " ".join(sys.argv[1:])
    report["command"] = command.strip()
    print(_table(report))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "model_client_overhead.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "model_client_overhead.md").write_text(_markdown(report, report["command"]))


if __name__ == "__main__":
    main()
