"""track_shipment: where an order's parcel is (order-tracking goal)."""

from __future__ import annotations

from typing import Any

from agent_core.errors import ToolFailed
from agent_core.registry import ToolContext
from worker_tools.tools._orders import order


async def track_shipment(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """The carrier's scan history, newest last, and when it arrived or should."""
    record = order(args["order_id"])
    await ctx.report_progress(f"Tracking the shipment of {record['order_id']}")
    shipment = record["shipment"]
    if shipment is None:
        raise ToolFailed(f"order {record['order_id']} is {record['status']}: nothing has shipped")
    return {"order_id": record["order_id"], "status": record["status"], **shipment}
