"""The tool activity on its own: unexpected errors retry, then fail visibly.

Run in Temporal's ActivityEnvironment with recording fakes handed to the
constructor, so the attempt number can be set directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from agent_core.models import EventRecord, RunToolInput, ToolCall
from worker_tools.activities import ToolActivities

pytestmark = pytest.mark.fast


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[EventRecord] = []

    async def publish(self, conversation_id: str, events: Sequence[EventRecord]) -> None:
        self.events.extend(events)


class NoLedger:
    async def record_once(self, key: str, value: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        return value, True


async def broken_tool(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    raise KeyError("a bug in the tool")


def run(attempt: int, sink: RecordingSink):  # type: ignore[no-untyped-def]
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=attempt)
    activities = ToolActivities({"find_events": broken_tool}, NoLedger(), sink)
    call = ToolCall(id="call-3", name="find_events", args={"city": "Melbourne", "month": "April"})
    return env.run(
        activities.run_tool,
        RunToolInput(conversation_id="c", workflow_id="w", seq=4, call=call, max_attempts=3),
    )


async def test_an_unexpected_error_is_retried_before_the_last_attempt():
    with pytest.raises(KeyError):
        await run(attempt=2, sink=RecordingSink())


async def test_the_last_attempt_reports_an_unexpected_error_as_a_failure():
    sink = RecordingSink()
    result = await run(attempt=3, sink=sink)
    assert not result.ok and "KeyError" in (result.error or "")
    # the workflow writes the failure; the activity writes only progress lines
    assert sink.events == []
