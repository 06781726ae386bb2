"""Benchmark: one conversation of 5,000 turns, with a 1 MB tool result every 50.

    python -m bench.long_conversation [--turns 5000] [--quick]

(from the repository root; ``uv run python -m bench.long_conversation`` likewise).

Does anything grow with the conversation's length? The workflow keeps only the
recent part of the transcript (older lines go to the object store in pages),
rolls over every ``AGENT_MAX_TURNS_PER_RUN`` turns, and hands payloads over
``STORAGE_PAYLOAD_THRESHOLD_BYTES`` to External Storage; so a run's history,
the state continue-as-new carries and the gateway's GET should stay the same
size at turn 5,000 as at turn 100, and so should the turn's latency.

Starts the local stack's Temporal, Redis, fake LLM and gateway
(``durable_agent.harness.LocalStack`` without its workers) with a file object
store in a temporary directory and External Storage at its default threshold,
and runs the services' own workers in this process, on the same store. The
tool worker's ``find_events`` handler is replaced (here only) by one that
returns about 1 MB; every 50th turn the scripted model calls it (it runs
without confirmation), every other turn it answers in text. Each turn is
driven through the gateway over HTTP, timed from the ``POST .../messages`` to
the run's end on the SSE stream, and followed by one timed
``GET /v1/conversations/{id}``.

Every run the conversation closes is read back from Temporal (its whole
history): its size, the input that started it (the state the previous run
carried over: inline bytes in history, and the size External Storage holds for
it), its largest payload. Per block of 100 turns it prints and keeps: the
history bytes of the last run closed in the block, the input carried into the
run open after it (and what that state is made of), the largest payload, turn
and GET p50/p99. A tool turn's continuation counts as a turn of its run, so a
run holds 49 or 50 user turns and the tool turn drifts against the roll-over:
over 5,000 turns it lands at every distance from it. At the end it
walks ``GET .../messages`` back to the first page and checks that every user
line is there. Writes bench/results/long_conversation.json
(``--quick``: long_conversation.quick.json).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import aiohttp
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message as Proto
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

from agent_core.conversation_ids import workflow_id
from agent_core.event_log import EventLog
from agent_core.models import ConversationInput
from agent_core.object_store import FileObjectStore
from agent_core.registry import TOOLS, ToolContext
from agent_core.settings import Settings
from agent_core.temporal_client import data_converter
from agent_core.worker_host import worker_options
from agent_core.workflow import ARCHIVE_PAGE_SIZE, ConversationWorkflow
from bench.agent_client import Conversation, http_session
from bench.machine import machine_facts
from bench.stats import percentile
from durable_agent.harness import LocalStack
from fake_llm import RemoteFakeLLM, Reply
from worker_llm.main import build_workers as build_llm_workers
from worker_llm.prompts import TOOL_OUTPUT_CHARS
from worker_tools.activities import ToolActivities
from worker_tools.ledger import ObjectLedger
from worker_tools.tools import load_handlers

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
GOAL = "travel"
TENANT = "dev"  # what the gateway's dev mode acts as
BLOCK = 100  # turns per reported row
TOOL_EVERY = 50  # every 50th turn calls the big tool
BIG_TOOL = "find_events"
TOOL_OUTPUT_BYTES = 1_000_000
QUICK_TURNS = 300
TWO_MB = 2 * 1024 * 1024  # Temporal's default payload (blob) size limit
#: measured by the issue's own campaign against the tutorial app, not by this bench
REFERENCE = {
    "tutorial_app_dies_at_turn": 125,
    "how": "a payload over 2 MB at continue-as-new (the whole conversation carried in "
    "the workflow's state)",
    "source": "quoted from issue 13 (measured by the issue's campaign, not by this bench)",
}
ANSWER = (
    "Melbourne in April has a comedy festival and plenty of live music. Flights from "
    "Sydney leave every hour. Tell me your dates and I will look at the options."
)
#: lines a part prints that say something went wrong
TROUBLE = re.compile(r"Traceback|ERROR|CRITICAL|WARNING|exceeds|too large|BlobSizeLimit")
#: what the supervisor says when it stops the stack (a part died, or a signal)
STACK_DOWN = re.compile(r"stopping|exited with code|was killed by")
#: ... except these, printed at every start
EXPECTED = re.compile(r"Memory overcommit must be enabled|DEVELOPMENT MODE")


async def big_find_events(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """Stands in for ``find_events`` in this bench: about ``TOOL_OUTPUT_BYTES`` of events."""
    filler = "A long description of the event, its venues, its history and its tickets. " * 6
    event = {"name": "Festival", "start": "2025-04-01", "end": "2025-04-30", "about": filler}
    size = len(json.dumps(event)) + 2
    count = TOOL_OUTPUT_BYTES // size
    await ctx.report_progress(f"Found {count} event(s)")
    return {
        "city": args["city"],
        "month": args["month"],
        "events": [{**event, "name": f"Festival {i}"} for i in range(count)],
    }


def _tool_worker(
    client: Client, events: EventLog, store: FileObjectStore, settings: Settings
) -> Worker:
    """``worker_tools.main.build_workers`` with the one handler replaced."""
    handlers = {**load_handlers(TOOLS.values()), BIG_TOOL: big_find_events}
    activities = ToolActivities(handlers, ObjectLedger(store), events)
    return Worker(
        client,
        task_queue=settings.tools_task_queue,
        activities=[activities.run_tool],
        **worker_options(settings),
    )


# ---- payloads in a history ---------------------------------------------------------


def _payloads(message: Proto) -> Iterator[Payload]:
    """Every ``Payload`` anywhere inside ``message`` (maps and lists included)."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        if field.message_type.GetOptions().map_entry:
            if field.message_type.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE:
                for item in value.values():
                    yield from _payloads(item)
        elif isinstance(value, Proto):
            yield from _payloads(value)
        else:
            for item in value:
                yield from _payloads(item)


def _external(payload: Payload) -> int:
    return sum(d.size_bytes for d in payload.external_payloads)


async def _run_figures(client: Client, wid: str, run_id: str) -> dict[str, Any]:
    """One run's size, the input that started it and its largest payloads."""
    handle = client.get_workflow_handle(wid, run_id=run_id)
    info = (await handle.describe()).raw_description.workflow_execution_info
    history = await handle.fetch_history()
    events = history.events
    started = events[0].workflow_execution_started_event_attributes
    inputs = list(started.input.payloads)
    largest_inline, largest_external = (0, ""), (0, "")
    externals = 0
    for event in events:
        kind = event.WhichOneof("attributes") or ""
        kind = kind.removesuffix("_event_attributes")
        for payload in _payloads(event):
            inline, external = payload.ByteSize(), _external(payload)
            largest_inline = max(largest_inline, (inline, kind))
            if external:
                externals += 1
                largest_external = max(largest_external, (external, kind))
    return {
        "run_id": run_id,
        "previous_run_id": started.continued_execution_run_id,
        "status": WorkflowExecutionStatus(info.status).name,
        "history_bytes": info.history_size_bytes,
        "history_bytes_events_sum": sum(e.ByteSize() for e in events),
        "history_events": len(events),
        "input_inline_bytes": sum(p.ByteSize() for p in inputs),
        "input_external_bytes": sum(_external(p) for p in inputs),
        "largest_inline_bytes": largest_inline[0],
        "largest_inline_in": largest_inline[1],
        "largest_external_bytes": largest_external[0],
        "largest_external_in": largest_external[1],
        "external_payloads": externals,
    }


# ---- the run -----------------------------------------------------------------------


def _say(text: str) -> None:
    print(f"[long {time.strftime('%H:%M:%S')}] {text}", flush=True)


def _script_turn(fake: RemoteFakeLLM, turn: int) -> tuple[str, str]:
    """Queue the model's replies for ``turn``: (the user's text, the turn's kind)."""
    fake.reset()  # also drops the request log, which would keep every prompt
    if turn % TOOL_EVERY == 0:
        call = Reply.call(BIG_TOOL, city="Melbourne", month="April")
        fake.script(
            "plan",
            call.replace(text=f"Turn {turn}: let me look up the events."),
            f"Turn {turn}: the events are listed above. {ANSWER}",
        )
        return f"Turn {turn}: which events are on in Melbourne in April?", "tool"
    fake.script("plan", f"Turn {turn}: {ANSWER}")
    return f"Turn {turn}: thanks. What else should I know about the trip?", "question"


class LogWatch:
    """Counts the lines each part prints that look like trouble, keeps a few, keeps
    the supervisor's own lines, and notes when it stops the stack (a part died, or
    a signal came): ``down`` is set, with the line that said so."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.samples: list[str] = []
        self.supervisor: deque[str] = deque(maxlen=60)
        self.down = asyncio.Event()
        self.why_down = ""

    def __call__(self, part: str, text: str) -> None:
        if TROUBLE.search(text) and not EXPECTED.search(text):
            self.counts[part] += 1
            if len(self.samples) < 20:
                self.samples.append(f"{part}: {text[:400]}")
        if part == "stack":
            self.supervisor.append(f"{time.strftime('%H:%M:%S')} {text[:400]}")
            if STACK_DOWN.search(text) and not self.down.is_set():
                self.why_down = text[:400]
                self.down.set()
                _say(f"the stack is stopping: {text[:300]}")


class Runs:
    """The runs of the conversation, each read back once it has closed."""

    def __init__(self, client: Client, wid: str) -> None:
        self.client, self.wid = client, wid
        self.closed: dict[str, dict[str, Any]] = {}  # run id -> figures, in close order
        self.current = ""

    async def latest(self) -> str:
        handle = self.client.get_workflow_handle(self.wid)
        return (await handle.describe()).run_id or ""

    async def after_turn(self) -> list[dict[str, Any]]:
        """Note the run that answered; read back every run closed since the last call."""
        latest = await self.latest()
        closed: list[dict[str, Any]] = []
        if self.current and latest != self.current:
            closed = await self._close_chain(latest)
        self.current = latest
        return closed

    async def _close_chain(self, latest: str) -> list[dict[str, Any]]:
        """From ``latest`` back to the run noted last, every run in between closed."""
        chain: list[str] = []
        run = latest
        while run and run != self.current and len(chain) < 100:
            first = await self._first_event(run)
            run = first.continued_execution_run_id
            chain.append(run)
        closed = []
        for run_id in reversed([r for r in chain if r and r not in self.closed]):
            figures = await _run_figures(self.client, self.wid, run_id)
            self.closed[run_id] = figures
            closed.append(figures)
        return closed

    async def _first_event(self, run_id: str) -> Any:
        handle = self.client.get_workflow_handle(self.wid, run_id=run_id)
        async for event in handle.fetch_history_events(page_size=1):
            return event.workflow_execution_started_event_attributes
        raise RuntimeError(f"run {run_id} has no history")

    async def current_figures(self) -> dict[str, Any]:
        figures = await _run_figures(self.client, self.wid, self.current)
        figures["carried_state"] = await self.carried_state(self.current)
        return figures

    async def carried_state(self, run_id: str) -> dict[str, int]:
        """What the state that started ``run_id`` is made of: JSON bytes per field
        (those over 100 B), and its transcript's lines."""
        first = await self._first_event(run_id)
        decode = self.client.data_converter.decode
        (value,) = await decode(list(first.input.payloads), [ConversationInput])
        if value.state is None:
            return {}
        dumped = value.state.model_dump(mode="json")
        sizes = {name: len(json.dumps(field)) for name, field in dumped.items()}
        big = sorted(((n, b) for n, b in sizes.items() if b > 100), key=lambda f: -f[1])
        return {"transcript_lines": len(value.state.transcript), **dict(big)}


def _ms_summary(values: list[float]) -> dict[str, float | int | None]:
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 1)

    return {
        "n": len(values),
        "p50": r(percentile(values, 50)),
        "p99": r(percentile(values, 99)),
        "max": r(max(values) if values else None),
    }


def _block_row(
    last_turn: int,
    turns: list[dict[str, Any]],
    closed: list[dict[str, Any]],
    current: dict[str, Any],
) -> dict[str, Any]:
    """One row: the block's turns, the runs that closed in it and the run now open."""
    # the last run that closed in the block, whole; the open one only if none closed
    served = closed[-1] if closed else current
    runs = [*closed, current]
    return {
        "turns": f"{last_turn - len(turns) + 1}-{last_turn}",
        "last_turn": last_turn,
        "run_history_bytes": served["history_bytes"],
        "run_history_events": served["history_events"],
        "run_closed": bool(closed),
        "runs_closed_in_block": len(closed),
        "max_run_history_bytes_in_block": max(r["history_bytes"] for r in closed)
        if closed
        else None,
        # the state carried into the run now open: continue-as-new's input
        "can_input_inline_bytes": current["input_inline_bytes"],
        "can_input_external_bytes": current["input_external_bytes"],
        "carried_state_bytes": current["carried_state"],
        "largest_inline_bytes": max(r["largest_inline_bytes"] for r in runs),
        "largest_external_bytes": max(r["largest_external_bytes"] for r in runs),
        "turn_ms": _ms_summary([t["ms"] for t in turns if t["ms"] is not None]),
        "tool_turn_ms": [t["ms"] for t in turns if t["kind"] == "tool"],
        "get_ms": _ms_summary([t["get_ms"] for t in turns if t["get_ms"] is not None]),
        "get_bytes_max": max((t["get_bytes"] or 0) for t in turns),
        "failed_turns": sum(1 for t in turns if t["error"]),
    }


async def _timed_get(http: aiohttp.ClientSession, url: str) -> tuple[float | None, int, Any]:
    started = time.perf_counter()
    try:
        async with http.get(url) as response:
            body = await response.read()
            if response.status != 200:
                return None, len(body), f"HTTP {response.status}: {body[:200]!r}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return None, 0, f"{type(exc).__name__}: {exc}"
    return (time.perf_counter() - started) * 1000, len(body), json.loads(body)


async def _walk_pages(
    http: aiohttp.ClientSession, base: str, cid: str, turns: int
) -> dict[str, Any]:
    """``GET .../messages`` from the recent part back to the first page: is every line there?"""
    url = f"{base}/v1/conversations/{cid}/messages"
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    started = time.perf_counter()
    page_ms: list[float] = []
    while True:
        ms, _, body = await _timed_get(http, url + (f"?before={cursor}" if cursor else ""))
        if ms is None:
            return {"ok": False, "error": str(body), "pages_read": len(pages)}
        page_ms.append(ms)
        pages.append(body)
        cursor = body["older_messages"]
        if cursor is None:
            break
    pages.reverse()  # oldest first
    lines = [m for p in pages for m in p["messages"]]
    contiguous = all(
        a["first_index"] + len(a["messages"]) == b["first_index"]
        for a, b in itertools.pairwise(pages)
    )
    users = [m for m in lines if m["role"] == "user"]
    numbered = [int(m.group(1)) for u in users if (m := re.match(r"Turn (\d+):", u["text"]))]
    return {
        "ok": pages[0]["first_index"] == 0
        and contiguous
        and len(users) == turns
        and numbered == list(range(1, turns + 1)),
        "pages": len(pages),
        "archived_pages": len(pages) - 1,
        "lines": len(lines),
        "user_lines": len(users),
        "user_lines_in_order": numbered == list(range(1, turns + 1)),
        "first_index_of_first_page": pages[0]["first_index"],
        "contiguous": contiguous,
        "seconds": round(time.perf_counter() - started, 1),
        "page_get_ms": _ms_summary(page_ms),
    }


def _store_size(root: Path) -> dict[str, int]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return {"objects": len(files), "bytes": sum(p.stat().st_size for p in files)}


Checkpoint = Callable[[dict[str, Any]], None]
T = TypeVar("T")


class StackDown(RuntimeError):
    """The stack stopped under the bench (the supervisor's line says why)."""


async def _unless_down(log: LogWatch, step: Awaitable[T], within: float = 600) -> T:
    """``step``, unless the stack stops first (or ``within`` seconds pass): a client
    of a dead Temporal retries for ever, so the bench would hang."""
    work = asyncio.ensure_future(step)
    down = asyncio.ensure_future(log.down.wait())
    try:
        await asyncio.wait({work, down}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        down.cancel()
    if not work.done():
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await work
        raise StackDown(log.why_down or f"a step took over {within:.0f} s")
    return work.result()


async def drive(
    turns: int, store_dir: Path, log: LogWatch, checkpoint: Checkpoint
) -> dict[str, Any]:
    objects = store_dir / "objects"
    queues = {
        "WORKFLOW_TASK_QUEUE": "long-wf",
        "LLM_TASK_QUEUE": "long-llm",
        "TOOLS_TASK_QUEUE": "long-tools",
    }
    env = {
        "API_DEV_MODE": "true",
        "API_RATE_LIMIT_PER_MINUTE": "100000000",
        "FAKE_LLM_CHUNK_DELAY": "0",
        "STORAGE_URL": f"file:{objects}",
        **queues,
    }
    async with LocalStack("--without", "workers", env=env, on_line=log) as stack:
        _say(f"stack up: gateway {stack.gateway}, Temporal {stack.temporal_address}")
        store = FileObjectStore.at(str(objects))
        settings = Settings(
            temporal_address=stack.temporal_address,
            workflow_task_queue=queues["WORKFLOW_TASK_QUEUE"],
            llm_task_queue=queues["LLM_TASK_QUEUE"],
            tools_task_queue=queues["TOOLS_TASK_QUEUE"],
            llm_api_base=f"{stack.fake_llm}/v1",
            llm_api_key="bench-key",
            redis_url=stack.redis_url,
            storage_url=f"file:{objects}",
            agent_show_confirm=False,
        )
        client = await Client.connect(
            stack.temporal_address,
            data_converter=data_converter(store, settings.storage_payload_threshold_bytes),
        )
        fake = RemoteFakeLLM(stack.fake_llm, timeout=60)
        async with EventLog(stack.redis_url) as events, http_session() as http:
            workers = [
                *build_llm_workers(client, events, store, settings),
                _tool_worker(client, events, store, settings),
            ]
            running = [asyncio.create_task(w.run()) for w in workers]
            try:
                return await _converse(
                    client, http, fake, stack.gateway, settings, turns, objects, log, checkpoint
                )
            finally:
                for worker in workers:
                    await worker.shutdown()
                await asyncio.gather(*running, return_exceptions=True)


async def _converse(
    client: Client,
    http: aiohttp.ClientSession,
    fake: RemoteFakeLLM,
    gateway: str,
    settings: Settings,
    turns: int,
    objects: Path,
    log: LogWatch,
    checkpoint: Checkpoint,
) -> dict[str, Any]:
    conversation = await Conversation.start(http, gateway, GOAL)
    cid = conversation.id
    wid = workflow_id(TENANT, cid)
    runs = Runs(client, wid)
    runs.current = await runs.latest()
    get_url = f"{gateway}/v1/conversations/{cid}"
    rows: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    block: list[dict[str, Any]] = []
    closed_in_block: list[dict[str, Any]] = []
    began = time.monotonic()
    last_turn, consecutive = 0, 0
    _say(f"conversation {cid} (workflow {wid}); {turns} turns, blocks of {BLOCK}")
    stopped: str | None = None
    for turn in range(1, turns + 1):
        text, kind = _script_turn(fake, turn)
        try:
            t = await _unless_down(log, conversation.turn(text, within=120))
            error = t.error or (None if t.finished is not None else "no RUN_FINISHED in 120 s")
            ms = t.ms(t.finished) if error is None else None
            get_ms, get_bytes, body = await _unless_down(log, _timed_get(http, get_url))
            if get_ms is None:
                error = error or f"GET: {body}"
            record = {"turn": turn, "kind": kind, "ms": ms, "get_ms": get_ms}
            record.update(get_bytes=get_bytes, error=error)
            block.append(record)
            closed_in_block += await _unless_down(log, runs.after_turn())
        except StackDown as exc:
            stopped = f"turn {turn}: {exc}"
            failures.append({"turn": turn, "kind": kind, "error": f"the stack stopped: {exc}"})
            _say(f"turn {turn}: the stack stopped ({exc}); stopping")
            break
        last_turn = turn
        if error:
            consecutive += 1
            failures.append(
                {**record, "status": body.get("status") if isinstance(body, dict) else None}
            )
            _say(f"turn {turn} failed: {error}")
            if consecutive >= 3:
                _say("three turns in a row failed; stopping")
                break
        else:
            consecutive = 0
        if turn % BLOCK == 0 or turn == turns:
            try:
                current = await _unless_down(log, runs.current_figures())
            except StackDown as exc:
                stopped = f"after turn {turn}: {exc}"
                break
            row = _block_row(turn, block, closed_in_block, current)
            rows.append(row)
            _print_progress(row, time.monotonic() - began)
            block, closed_in_block = [], []
            checkpoint(
                {
                    "partial": True,
                    "turns_driven": last_turn,
                    "blocks": rows,
                    "runs": list(runs.closed.values()),
                    "failures": failures,
                }
            )
    elapsed = time.monotonic() - began
    end: dict[str, Any] = {"runs_closed": len(runs.closed), "stack_stopped": stopped}
    if stopped is None:
        if block:  # stopped early: what there is of the block
            current = await runs.current_figures()
            rows.append(_block_row(last_turn, block, closed_in_block, current))
        end.update(await _finish(client, http, gateway, cid, last_turn, objects))
    await conversation.close()
    return {
        "settings": {
            "max_turns_per_run": settings.agent_max_turns_per_run,
            "history_window": settings.agent_history_window,
            "storage_payload_threshold_bytes": settings.storage_payload_threshold_bytes,
        },
        "conversation_id": cid,
        "turns_driven": last_turn,
        "seconds": round(elapsed, 1),
        "turns_per_second": round(last_turn / elapsed, 2),
        "blocks": rows,
        "runs": list(runs.closed.values()),
        "failures": failures,
        "end": end,
    }


async def _finish(
    client: Client,
    http: aiohttp.ClientSession,
    gateway: str,
    cid: str,
    turns: int,
    objects: Path,
) -> dict[str, Any]:
    """The conversation at the end: its runs and pages, and the walk back through them."""
    _say("walking the transcript back to its first page")
    walk = await _walk_pages(http, gateway, cid, turns)
    _, _, final = await _timed_get(http, f"{gateway}/v1/conversations/{cid}")
    snap = await client.get_workflow_handle_for(
        ConversationWorkflow.run, workflow_id(TENANT, cid)
    ).query(ConversationWorkflow.history)
    return {
        "run_number": snap.run_number,
        "archive_pages": snap.archive_pages,
        "archived_messages": snap.archived_messages,
        "archive_pages_walked": walk.get("archived_pages"),
        "first_index": final.get("first_index") if isinstance(final, dict) else None,
        "recent_lines": len(final["transcript"]) if isinstance(final, dict) else None,
        "transcript_check": walk,
        "object_store": _store_size(objects),
    }


def _kb(value: int | None) -> str:
    return "-" if value is None else f"{value / 1024:,.1f}"


COLUMNS = (
    ("turns", 11),
    ("run hist KB", 11),
    ("CAN in KB", 9),
    ("CAN ext KB", 10),
    ("max inl KB", 10),
    ("max ext KB", 10),
    ("turn p50/p99 ms", 16),
    ("GET p50/p99 ms", 15),
    ("GET KB", 8),
)


def _cells(row: dict[str, Any]) -> list[str]:
    return [
        row["turns"],
        _kb(row["run_history_bytes"]) + ("" if row["run_closed"] else "*"),
        _kb(row["can_input_inline_bytes"]),
        _kb(row["can_input_external_bytes"]),
        _kb(row["largest_inline_bytes"]),
        _kb(row["largest_external_bytes"]),
        f"{row['turn_ms']['p50']} / {row['turn_ms']['p99']}",
        f"{row['get_ms']['p50']} / {row['get_ms']['p99']}",
        _kb(row["get_bytes_max"]),
    ]


def _line(cells: list[str]) -> str:
    return "  ".join(c.rjust(w) for c, (_, w) in zip(cells, COLUMNS, strict=True))


def _print_progress(row: dict[str, Any], elapsed: float) -> None:
    if row["last_turn"] == BLOCK or row["last_turn"] < BLOCK:
        print(_line([name for name, _ in COLUMNS]), flush=True)
    print(_line(_cells(row)) + f"  ({elapsed:,.0f} s, load {os.getloadavg()[0]:.2f})", flush=True)
    state = dict(row["carried_state_bytes"])
    lines = state.pop("transcript_lines", 0)
    parts = ", ".join(f"{name} {_kb(size)}" for name, size in list(state.items())[:4])
    print(f"{'':>13}carried state KB: {parts} ({lines} transcript lines)", flush=True)


def _flags(result: dict[str, Any]) -> list[str]:
    """What looks wrong at length: oversized payloads, failures, growth."""
    flags = []
    for run in result["runs"]:
        if run["largest_inline_bytes"] > TWO_MB or run["input_inline_bytes"] > TWO_MB:
            flags.append(f"run {run['run_id']}: an inline payload over 2 MB")
    if result["failures"]:
        first = result["failures"][0]
        flags.append(f"{len(result['failures'])} failed turn(s), first at turn {first['turn']}")
    blocks = [b for b in result["blocks"] if b["turn_ms"]["p50"] is not None]
    if len(blocks) >= 3:
        early, late = blocks[1], blocks[-1]  # block 1 includes the start-up
        for key in ("turn_ms", "get_ms"):
            a, b = early[key]["p50"], late[key]["p50"]
            if a and b and b > 1.5 * a:
                flags.append(
                    f"{key} p50 grew from {a} (turns {early['turns']}) to {b} (turns {late['turns']})"
                )
        closed = [r for r in result["runs"] if r["status"] == "CONTINUED_AS_NEW"]
        if len(closed) >= 3:
            a, b = closed[1]["history_bytes"], closed[-1]["history_bytes"]
            if b > 1.5 * a:
                flags.append(
                    f"run history grew from {a:,} B (2nd run) to {b:,} B (last closed run)"
                )
    end = result.get("end")
    if end is not None and end.get("stack_stopped"):
        flags.append(f"the stack stopped under the bench: {end['stack_stopped']}")
    elif end is not None and not end["transcript_check"].get("ok"):
        flags.append("the transcript walk did not find every user line in order")
    return flags


def _outcome(
    machine: dict[str, Any], turns: int, result: dict[str, Any], log: LogWatch
) -> dict[str, Any]:
    result = dict(result)
    outcome = {
        "command": " ".join(["python -m bench.long_conversation", *sys.argv[1:]]),
        "machine": {**machine, "loadavg_now": os.getloadavg()},
        "setup": {
            "turns": turns,
            "tool_every": TOOL_EVERY,
            "tool": BIG_TOOL,
            "tool_output_bytes": TOOL_OUTPUT_BYTES,
            **result.pop("settings", {}),
            "archive_page_size": ARCHIVE_PAGE_SIZE,
            "prompt_tool_output_chars": TOOL_OUTPUT_CHARS,
            "object_store": "file (a temporary directory)",
            "block": BLOCK,
            "notes": "run hist: history_size_bytes (describe) of the last run that closed "
            "in the block, at its close (of the open run, marked *, if none closed); CAN in: "
            "inline bytes of the input that started the run open after the block (the state "
            "continue-as-new carried) and the size External Storage holds for it; largest: "
            "the largest payload in the histories of the runs closed in the block and the "
            "one open after it; a tool turn's continuation counts as a turn of its run, so "
            "runs roll over every 49-50 user turns and the tool turn drifts against them",
        },
        "reference": REFERENCE,
        **result,
        "log_trouble": {"counts": dict(log.counts), "samples": log.samples},
        "supervisor_lines": list(log.supervisor),
    }
    outcome["flags"] = _flags(outcome)
    return outcome


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=5000, help="user turns to drive")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_TURNS} turns")
    args = parser.parse_args(argv)
    turns = QUICK_TURNS if args.quick else args.turns
    if turns < 1:
        parser.error("--turns must be at least 1")
    out = RESULTS / ("long_conversation.quick.json" if args.quick else "long_conversation.json")
    RESULTS.mkdir(parents=True, exist_ok=True)
    machine = machine_facts()
    _say(f"{turns} turns; load average {machine['loadavg_at_start']}; {machine['cpus']} CPUs")
    log = LogWatch()

    def checkpoint(partial: dict[str, Any]) -> None:
        """The figures so far, so that a run that dies or hangs still leaves them."""
        out.write_text(json.dumps(_outcome(machine, turns, partial, log), indent=1) + "\n")

    with tempfile.TemporaryDirectory(prefix="long-conversation-") as tmp:
        result = asyncio.run(drive(turns, Path(tmp), log, checkpoint))
    outcome = _outcome(machine, turns, result, log)
    out.write_text(json.dumps(outcome, indent=1) + "\n")
    print()
    print(_line([name for name, _ in COLUMNS]))
    for row in outcome["blocks"]:
        print(_line(_cells(row)))
    end = outcome["end"]
    walk = end.get("transcript_check", {})
    store = end.get("object_store", {"objects": 0, "bytes": 0})
    print(
        f"\n{outcome['turns_driven']} turns in {outcome['seconds']} s; runs closed "
        f"{end['runs_closed']}, run number {end.get('run_number')}, archive pages "
        f"{end.get('archive_pages')}; transcript walk: {walk.get('user_lines')} user lines of "
        f"{outcome['turns_driven']}, {'ok' if walk.get('ok') else 'NOT OK'}; object store "
        f"{store['objects']} objects, {store['bytes'] / 1e6:,.1f} MB"
    )
    if end.get("stack_stopped"):
        print(f"the stack stopped: {end['stack_stopped']}")
        print("\n".join(f"  stack | {line}" for line in log.supervisor))
    print(
        f"reference: the tutorial app dies at turn {REFERENCE['tutorial_app_dies_at_turn']} "
        f"({REFERENCE['source']})"
    )
    for flag in outcome["flags"]:
        print(f"FLAG: {flag}")
    if log.counts:
        print(f"log lines that look like trouble: {dict(log.counts)}")
    print(f"wrote {out.relative_to(ROOT)}")
    sys.stdout.flush()
    os._exit(0)  # sdk-python #300: the SDK can crash at interpreter exit


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
