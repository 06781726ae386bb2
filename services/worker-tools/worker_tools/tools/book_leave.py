"""book_leave: request time off (HR time-off goal, side effect).

The request counts working days (weekdays the company is open) against the
balance of that leave kind. Like every side-effecting tool it records the
request through the ledger, so a retried run files nothing twice.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from agent_core.errors import ToolFailed
from agent_core.registry import ToolContext
from worker_tools.tools._data import parse_date
from worker_tools.tools._effects import effect_id, record_once
from worker_tools.tools._hr import company_closures, employee

MAX_SPAN_DAYS = 90


async def book_leave(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """The leave request, pending the approver, with ``created`` false on a rerun."""
    employee_id = args["employee_id"].strip().upper()
    record = employee(employee_id)
    start = parse_date(args["start_date"], "start_date")
    end = parse_date(args["end_date"], "end_date")
    _check_span(start, end)
    kind = args["kind"]
    await ctx.report_progress(f"Checking {kind} leave for {employee_id}, {start} to {end}")
    days = _working_days(start, end)
    if days == 0:
        raise ToolFailed(f"{start} to {end} has no working days: nothing to book")
    balance = record["balances"][kind]
    if days > balance:
        raise ToolFailed(f"{days} working days of {kind} leave needed but only {balance} left")
    booking = await record_once(
        ctx,
        {
            "booking_id": effect_id("LV", ctx),
            "employee_id": employee_id,
            "kind": kind,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "working_days": days,
            "balance_after": balance - days,
            "status": "pending_approval",
            "approver": record["approver"],
        },
    )
    await ctx.report_progress(f"Leave request {booking['booking_id']} sent to {record['approver']}")
    return booking


def _check_span(start: date, end: date) -> None:
    if end < start:
        raise ToolFailed(f"end date {end} is before start date {start}")
    if (end - start).days >= MAX_SPAN_DAYS:
        raise ToolFailed(f"one request covers at most {MAX_SPAN_DAYS} days; split it up")


def _working_days(start: date, end: date) -> int:
    """Weekdays from ``start`` to ``end`` inclusive on which the company is open."""
    closed = company_closures()
    span = (start + timedelta(days=n) for n in range((end - start).days + 1))
    return sum(1 for day in span if day.weekday() < 5 and day not in closed)
