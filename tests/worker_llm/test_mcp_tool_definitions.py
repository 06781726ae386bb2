"""An MCP tool reaches the model as a tool definition with the schema its
server listed, and a proposed call is read against that schema."""

from __future__ import annotations

import pytest

from agent_core.chat_model import ModelReply, ModelToolCall
from agent_core.models import McpTool
from worker_llm.prompts import plan_tools
from worker_llm.replies import Malformed, read_step

pytestmark = pytest.mark.fast

NOTE = McpTool(
    name="notes__add_note",
    server="notes",
    tool="add_note",
    description="Write a note.",
    parameters={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
)


def test_mcp_tools_follow_the_goals_own_with_their_listed_schema():
    tools = plan_tools("order_tracking", mcp_tools=[NOTE])
    names = [t["function"]["name"] for t in tools]
    assert names[:4] == ["find_order", "track_shipment", "request_return", "notes__add_note"]
    assert tools[3]["function"]["parameters"] == NOTE.parameters
    withheld = plan_tools("order_tracking", withheld=["notes__add_note"], mcp_tools=[NOTE])
    assert "notes__add_note" not in [t["function"]["name"] for t in withheld]


def _reply(arguments: str) -> ModelReply:
    return ModelReply(text="", tool_calls=[ModelToolCall("notes__add_note", arguments)])


def test_a_proposed_mcp_call_is_checked_against_its_schema():
    step = read_step(_reply('{"text": "milk"}'), "order_tracking", "c1", False, (), [NOTE])
    assert step.next == "confirm" and step.tool_call is not None
    assert step.tool_call.args == {"text": "milk"}
    missing = read_step(_reply("{}"), "order_tracking", "c1", False, (), [NOTE])
    assert missing.next == "question" and "missing text" in missing.response
    with pytest.raises(Malformed, match="no tool named"):
        read_step(_reply('{"text": "milk"}'), "order_tracking", "c1", False)  # not offered
