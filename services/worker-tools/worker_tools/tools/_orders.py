"""The demo order book, shared by the order-tracking tools."""

from __future__ import annotations

import copy
from typing import Any

from agent_core.errors import ToolFailed
from worker_tools.tools._data import load_json

__all__ = ["order", "orders_of"]


def order(order_id: str) -> dict[str, Any]:
    """A copy of the order with its ``order_id``; ``ToolFailed`` if there is none."""
    order_id = order_id.strip().upper()
    record = load_json("orders.json").get(order_id)
    if record is None:
        raise ToolFailed(f"no order {order_id}")
    return {"order_id": order_id, **copy.deepcopy(record)}


def orders_of(email: str) -> list[dict[str, Any]]:
    """Copies of every order placed with ``email``, oldest first."""
    wanted = email.strip().casefold()
    found = [order(oid) for oid, rec in load_json("orders.json").items() if rec["email"] == wanted]
    return sorted(found, key=lambda o: o["placed_on"])
