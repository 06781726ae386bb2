"""Run-once records for tools with side effects.

A tool activity can run again after a worker crash or a retry. A side-effecting
tool derives its record's id from the run's idempotency key and stores the
record through the ledger, so every run after the first returns the record the
first run made and does nothing new.
"""

from __future__ import annotations

from typing import Any

from agent_core.registry import ToolContext
from worker_tools.tools._data import digest

__all__ = ["effect_id", "record_once"]


def effect_id(prefix: str, ctx: ToolContext) -> str:
    """A short id that is the same for every run with this idempotency key."""
    return f"{prefix}-{digest(ctx.idempotency_key)[:10].upper()}"


async def record_once(ctx: ToolContext, record: dict[str, Any]) -> dict[str, Any]:
    """Store ``record`` unless this key already has one; return the stored record
    with ``created`` telling whether this run made it."""
    stored, created = await ctx.ledger.record_once(ctx.idempotency_key, record)
    return {**stored, "created": created}
