"""find_order: look up orders by id or by the email they were placed with
(order-tracking goal)."""

from __future__ import annotations

from typing import Any

from agent_core.errors import ToolFailed
from agent_core.registry import ToolContext
from worker_tools.tools._orders import order, orders_of

_SUMMARY_FIELDS = ("order_id", "placed_on", "status", "items", "total", "currency", "final_sale")


async def find_order(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """Summaries of the matching orders, oldest first."""
    found = _lookup(args.get("order_id"), args.get("email"))
    await ctx.report_progress(f"Found {len(found)} order(s)")
    return {"orders": [{key: o[key] for key in _SUMMARY_FIELDS} for o in found]}


def _lookup(order_id: str | None, email: str | None) -> list[dict[str, Any]]:
    if order_id:
        return _by_id(order_id, email)
    if email:
        return _by_email(email)
    raise ToolFailed("give an order id or the email the order was placed with")


def _by_id(order_id: str, email: str | None) -> list[dict[str, Any]]:
    """The order; with an email too, only if it was placed with that email, so
    one customer cannot read another's order by guessing ids."""
    record = order(order_id)
    if email and record["email"] != email.strip().casefold():
        raise ToolFailed(f"order {record['order_id']} was not placed with {email}")
    return [record]


def _by_email(email: str) -> list[dict[str, Any]]:
    found = orders_of(email)
    if not found:
        raise ToolFailed(f"no orders placed with {email}")
    return found
