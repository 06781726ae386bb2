"""Many conversations at once through the gateway: latency and completion.

Drives N travel conversations concurrently against a running stack (``make
run``), each over its own SSE stream, confirming every proposed tool, and
records per conversation: time to the first text delta, time to the first
proposal, total time, and whether it ended with three tool results.
Prints a summary and writes ``bench/results/concurrent_conversations.json``.

    uv run python bench/concurrent_conversations.py --conversations 50 --url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from durable_agent.event_stream import aread_events

#: all the fake's auto brain needs for the three tools, so it asks nothing
TRIP = (
    "Melbourne in April, from Sydney 10 to 14 April; the cheapest flight, invoice to b@example.com"
)
RESULTS = Path(__file__).parent / "results" / "concurrent_conversations.json"


async def one_conversation(http: httpx.AsyncClient) -> dict[str, Any]:
    started = time.perf_counter()
    created = await http.post("/v1/conversations", json={"goal": "travel"})
    created.raise_for_status()
    body = created.json()
    marks: dict[str, float] = {}
    tools = 0
    async with aconnect_sse(http, "GET", body["events_url"]) as source:
        sent = await http.post(f"/v1/conversations/{body['id']}/messages", json={"text": TRIP})
        sent.raise_for_status()
        async for event in aread_events(source):
            now = time.perf_counter() - started
            if event.type == "TEXT_MESSAGE_CONTENT":
                marks.setdefault("first_delta", now)
            elif event.type == "TOOL_CALL_RESULT":
                tools += 1
            elif event.name == "tool_call_awaiting_confirmation":
                marks.setdefault("first_proposal", now)
                call_id = event.value["toolCallId"]
                (
                    await http.post(f"/v1/conversations/{body['id']}/tool-calls/{call_id}/confirm")
                ).raise_for_status()
            elif event.is_end:
                break
    return {**marks, "total": time.perf_counter() - started, "tools": tools}


def _percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
    return {"p50": round(pick(0.5), 3), "p95": round(pick(0.95), 3), "max": round(values[-1], 3)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--api-key", default="")
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    limits = httpx.Limits(max_connections=args.conversations * 3)
    async with httpx.AsyncClient(
        base_url=args.url, headers=headers, timeout=120, limits=limits
    ) as http:
        began = time.perf_counter()
        runs = await asyncio.gather(
            *(one_conversation(http) for _ in range(args.conversations)), return_exceptions=True
        )
        wall = time.perf_counter() - began
    ok = [r for r in runs if isinstance(r, dict) and r["tools"] == 3]
    failed = [repr(r) for r in runs if not isinstance(r, dict)] + [
        str(r) for r in runs if isinstance(r, dict) and r["tools"] != 3
    ]
    summary = {
        "conversations": args.conversations,
        "completed": len(ok),
        "failed": failed[:10],
        "wall_seconds": round(wall, 2),
        "first_delta_seconds": _percentiles([r["first_delta"] for r in ok if "first_delta" in r])
        if ok
        else None,
        "first_proposal_seconds": _percentiles(
            [r["first_proposal"] for r in ok if "first_proposal" in r]
        )
        if ok
        else None,
        "total_seconds": _percentiles([r["total"] for r in ok]) if ok else None,
        "mean_total_seconds": round(statistics.mean(r["total"] for r in ok), 3) if ok else None,
    }
    print(json.dumps(summary, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
