"""GET /v1/goals shows a goal's MCP tools, listed by the tools worker through
Temporal (the gateway connects to no MCP server), and names a server that
could not be listed."""

from __future__ import annotations

from agent_core.mcp_config import McpFile, McpGoal, McpServer
from agent_core.models import ToolPolicy
from agent_core.registry import use_mcp
from tests.api.sse_client import tenant_keys
from tests.support.gateway import api_client, gateway
from tests.support.mcp_servers import stdio_notes
from tests.support.stack import agent_stack


async def test_goals_list_mcp_tools_with_schemas_and_policies(
    client, fake_llm, redis_url, tmp_path
):
    servers = {
        "notes": stdio_notes(
            tmp_path, approval=ToolPolicy.AUTO, tools={"fail": {"approval": "never"}}
        ),
        "broken": McpServer(command=str(tmp_path / "not-installed")),
    }
    goals = {
        "order_tracking": McpGoal(mcp_servers=("notes", "broken")),  # adds to a shipped goal
    }
    api_keys, keys = tenant_keys("alice")
    with use_mcp(McpFile(servers=servers, goals=goals)):
        async with (
            agent_stack(client, fake_llm, redis_url, api_keys=api_keys) as stack,
            gateway(stack.settings) as base,
            api_client(base, keys["alice"]) as http,
        ):
            response = await http.get("/v1/goals")
            assert response.status_code == 200, response.text
            created = await http.post(
                "/v1/conversations",
                json={"goal": "order_tracking", "tool_policies": {"notes__add_note": "ask"}},
            )
            unknown = await http.post(
                "/v1/conversations",
                json={"goal": "order_tracking", "tool_policies": {"nowhere__x": "ask"}},
            )
    goal = next(g for g in response.json()["goals"] if g["id"] == "order_tracking")
    tools = {t["name"]: t for t in goal["tools"]}
    assert {"find_order", "track_shipment", "request_return"} <= set(tools)
    add = tools["notes__add_note"]
    assert add["mcp_server"] == "notes" and add["approval"] == "auto"
    assert add["parameters"]["required"] == ["text"]
    assert tools["notes__fail"]["approval"] == "never"
    assert goal["mcp_servers"] == ["notes", "broken"]
    assert "could not be started" in goal["unavailable_mcp_servers"]["broken"]
    travel = next(g for g in response.json()["goals"] if g["id"] == "travel")
    assert travel["mcp_servers"] == [] and not any("__" in t["name"] for t in travel["tools"])
    assert created.status_code == 201, created.text
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_tool"
