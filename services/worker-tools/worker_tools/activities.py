"""The tool activity: validate arguments, run the tool once, report the outcome.

Every outcome the agent should hear about comes back as a ``ToolResult``
(``ok=False`` with the reason for bad arguments, an unknown tool or a
``ToolFailed``), so the workflow never mistakes a failure for success.
Unexpected exceptions propagate and Temporal retries them; side-effecting
tools see the same idempotency key on every attempt, so a retry does not
repeat the side effect. The workflow writes the tool's start and outcome;
this activity writes only its progress lines, as they happen. A tool named
``server__tool`` runs on that MCP server (``worker_tools.mcp``), with the
key in the request's ``_meta``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from temporalio import activity

from agent_core import activity_names as act
from agent_core import events as ev
from agent_core.errors import BadToolArgs, ToolFailed, UnknownTool
from agent_core.events import EventSink
from agent_core.heartbeat import heartbeating
from agent_core.metrics import TOOL_FAILURES, TOOL_LATENCY
from agent_core.models import RunToolInput, ToolResult
from agent_core.registry import Ledger, ToolContext, ToolHandler, validate_tool_args
from worker_tools.mcp.pool import ConnectionLost, McpPool

__all__ = ["ToolActivities", "idempotency_key"]

log = logging.getLogger(__name__)


def idempotency_key(workflow_id: str, call_id: str) -> str:
    """Stable across activity retries and worker restarts: one side effect per call."""
    return f"{workflow_id}/{call_id}"


class ToolActivities:
    """Runs registry tools; handlers, ledger and event sink come from the worker."""

    def __init__(
        self,
        handlers: Mapping[str, ToolHandler],
        ledger: Ledger,
        sink: EventSink,
        mcp: McpPool | None = None,
    ) -> None:
        self._handlers = handlers
        self._mcp = mcp
        self._ledger = ledger
        self._sink = sink

    @activity.defn(name=act.RUN_TOOL)
    async def run_tool(self, input: RunToolInput) -> ToolResult:
        started = time.monotonic()
        result = await self._run(input)
        TOOL_LATENCY.labels(input.call.name).observe(time.monotonic() - started)
        if not result.ok:
            TOOL_FAILURES.labels(input.call.name).inc()
        return result

    async def _run(self, input: RunToolInput) -> ToolResult:
        call = input.call
        try:
            async with heartbeating():
                output = await self._dispatch(input)
        except (BadToolArgs, UnknownTool, ToolFailed) as exc:
            return ToolResult(call_id=call.id, name=call.name, ok=False, error=str(exc))
        except ConnectionLost as exc:
            if activity.info().attempt < input.max_attempts:
                raise  # retried on a restarted server, with the same idempotency key
            log.warning("tool %s failed on its last attempt: %s", call.name, exc)
            error = f"{exc}; the tool may not have completed"
            return ToolResult(call_id=call.id, name=call.name, ok=False, error=error)
        except Exception as exc:
            if activity.info().attempt < input.max_attempts:
                raise  # Temporal retries; the idempotency key keeps side effects single
            log.exception("tool %s failed on its last attempt", call.name)
            error = (
                f"the tool failed unexpectedly ({type(exc).__name__}); it may not have completed"
            )
            return ToolResult(call_id=call.id, name=call.name, ok=False, error=error)
        return ToolResult(call_id=call.id, name=call.name, ok=True, output=output)

    async def _dispatch(self, input: RunToolInput) -> dict[str, Any]:
        """A native tool's handler, or the MCP server the tool's name points at."""
        call = input.call
        handler = self._handlers.get(call.name)
        if handler is not None:
            validate_tool_args(call.name, call.args)
            return await handler(call.args, self._context(input))
        if self._mcp is not None and self._mcp.serves(call.name):
            key = idempotency_key(input.workflow_id, call.id)
            return await self._mcp.call(call, key)
        raise UnknownTool(f"unknown tool {call.name!r}")

    def _context(self, input: RunToolInput) -> ToolContext:
        progress_index = 0

        async def report_progress(message: str) -> None:
            """Best effort: progress is a live view, the result is what counts."""
            nonlocal progress_index
            event = ev.tool_progress(input.seq, input.call.id, progress_index, message)
            progress_index += 1
            if not await ev.publish_quietly(self._sink, input.conversation_id, [event]):
                log.warning("event log unavailable; a progress line of %s skipped", input.call.name)

        key = idempotency_key(input.workflow_id, input.call.id)
        return ToolContext(
            idempotency_key=key, ledger=self._ledger, report_progress=report_progress
        )
