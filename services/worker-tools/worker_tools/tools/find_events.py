"""find_events: events in a city that run during a month (travel goal)."""

from __future__ import annotations

from datetime import date
from typing import Any

from agent_core.errors import ToolFailed
from agent_core.registry import ToolContext
from worker_tools.tools._data import find_key, load_json

_MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip


async def find_events(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """Events in ``city`` that overlap ``month``; an empty list when none do."""
    events = load_json("events.json")
    city = find_key(events, args["city"])
    if city is None:
        raise ToolFailed(f"no events data for {args['city'].strip()}")
    month = _month_number(args["month"])
    month_name = _MONTHS[month - 1].title()
    await ctx.report_progress(f"Looking for events in {city} in {month_name}")
    found = [dict(event) for event in events[city] if _runs_in(event, month)]
    await ctx.report_progress(f"Found {len(found)} event(s) in {city}")
    return {"city": city, "month": month_name, "events": found}


def _month_number(name: str) -> int:
    """1-12 for an English month name or its first three letters."""
    wanted = name.strip().casefold()
    for number, month in enumerate(_MONTHS, start=1):
        if wanted in (month, month[:3]):
            return number
    raise ToolFailed(f"{name!r} is not a month name (use e.g. April)")


def _runs_in(event: dict[str, str], month: int) -> bool:
    """Whether the event is on during ``month``, also when it runs over New Year."""
    first = date.fromisoformat(event["start"]).month
    last = date.fromisoformat(event["end"]).month
    return first <= month <= last if first <= last else month >= first or month <= last
