"""check_leave_balance: how many days of each leave kind remain (HR time-off goal)."""

from __future__ import annotations

from typing import Any

from agent_core.registry import ToolContext
from worker_tools.tools._hr import employee


async def check_leave_balance(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """Remaining days per leave kind, and who approves requests."""
    employee_id = args["employee_id"].strip().upper()
    await ctx.report_progress(f"Looking up leave balances for {employee_id}")
    record = employee(employee_id)
    return {
        "employee_id": employee_id,
        "name": record["name"],
        "balances": dict(record["balances"]),
        "unit": "working days",
        "approver": record["approver"],
    }
