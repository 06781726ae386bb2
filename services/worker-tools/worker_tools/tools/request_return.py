"""request_return: open a return and send a label (order-tracking goal, side effect).

Only delivered orders that were not final-sale can come back. The return is
recorded through the ledger, so a retried run sends no second label.
"""

from __future__ import annotations

from typing import Any

from agent_core.errors import ToolFailed
from agent_core.registry import ToolContext
from worker_tools.tools._effects import effect_id, record_once
from worker_tools.tools._orders import order


async def request_return(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """The return authorisation with its label and refund, ``created`` false on a rerun."""
    record = order(args["order_id"])
    order_id = record["order_id"]
    if record["status"] != "delivered":
        raise ToolFailed(
            f"order {order_id} is {record['status']}: only delivered orders can be returned"
        )
    if record["final_sale"]:
        raise ToolFailed(f"order {order_id} was a final-sale purchase and cannot be returned")
    await ctx.report_progress(f"Opening a return for {order_id}")
    return_id = effect_id("RMA", ctx)
    opened = await record_once(
        ctx,
        {
            "return_id": return_id,
            "order_id": order_id,
            "reason": args["reason"],
            "refund_amount": record["total"],
            "currency": record["currency"],
            "carrier": record["shipment"]["carrier"],
            "label_url": f"https://returns.example.com/labels/{return_id}.pdf",
            "status": "label_sent",
        },
    )
    await ctx.report_progress(f"Return label for {order_id} sent to {record['email']}")
    return opened
