"""What a turn's window looks like to the model: large tool results are cut."""

from __future__ import annotations

import json

import pytest

from agent_core.models import Message, ToolCall, ToolResult
from worker_llm.prompts import TOOL_OUTPUT_CHARS, render_window

pytestmark = pytest.mark.fast


def _window(output: dict) -> list[Message]:
    call = ToolCall(id="c1", name="find_events", args={"city": "Melbourne"})
    result = ToolResult(call_id="c1", name="find_events", ok=True, output=output)
    return [
        Message(seq=1, role="user", text="events?"),
        Message(seq=2, role="agent", text="Searching.", tool_call=call),
        Message(
            seq=3, role="tool", text="find_events completed.", tool_call=call, tool_result=result
        ),
    ]


def test_a_megabyte_tool_result_reaches_the_model_cut_to_the_limit() -> None:
    big = {"events": ["x" * 1000] * 1000}
    tool = render_window(_window(big))[-1]
    assert tool["role"] == "tool" and tool["tool_call_id"] == "c1"
    assert len(tool["content"]) < TOOL_OUTPUT_CHARS + 500
    content = json.loads(tool["content"])
    assert content["ok"] is True
    assert content["output"]["start"] == json.dumps(big)[:TOOL_OUTPUT_CHARS]
    assert str(len(json.dumps(big))) in content["output"]["truncated"]


def test_a_small_tool_result_reaches_the_model_whole() -> None:
    small = {"events": ["Comedy festival"]}
    content = json.loads(render_window(_window(small))[-1]["content"])
    assert content["output"] == small
