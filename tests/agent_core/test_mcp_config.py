"""The operator's MCP file: what it accepts, what it refuses, what the registry makes of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from agent_core.errors import UnknownGoal
from agent_core.mcp_config import McpFile, SecretRef, load_mcp_file, public_name, server_of
from agent_core.models import ToolPolicy
from agent_core.registry import GOALS, use_mcp

pytestmark = pytest.mark.fast

EXAMPLE = Path(__file__).parents[2] / "docs" / "mcp-servers.example.json"


def test_the_documented_example_loads_and_names_secrets_only():
    mcp = load_mcp_file(EXAMPLE)
    crm = mcp.servers["crm"]
    assert crm.headers["Authorization"] == SecretRef(secret="CRM_MCP_TOKEN", prefix="Bearer ")
    assert crm.approval_of("lookup_customer") is ToolPolicy.AUTO
    assert crm.approval_of("update_customer") is ToolPolicy.ASK
    assert (
        mcp.servers["notes"].approval_of("add_note") is ToolPolicy.ASK
    )  # MCP tools ask by default
    assert load_mcp_file(None) == McpFile()


def test_the_registry_adds_servers_to_shipped_goals_and_declares_new_ones():
    with use_mcp(load_mcp_file(EXAMPLE)):
        assert GOALS["order_tracking"].mcp_servers == ("crm",)
        assert GOALS["order_tracking"].tools == ("find_order", "track_shipment", "request_return")
        assert GOALS["notes_keeper"].agent_name == "Note keeper"
    assert "notes_keeper" not in GOALS and GOALS["order_tracking"].mcp_servers == ()


@pytest.mark.parametrize(
    "data",
    [
        {"servers": {"x": {}}},  # neither transport
        {"servers": {"x": {"command": "a", "url": "http://h/mcp"}}},  # both
        {"servers": {"a__b": {"command": "a"}}},  # would break server__tool names
        {"servers": {"x": {"url": "ftp://h"}}},
        {"goals": {"travel": {"mcp_servers": ["nowhere"]}}},
        {"servers": {"x": {"command": "a", "headerz": {}}}},  # typos are refused
    ],
)
def test_bad_files_are_refused(data):
    with pytest.raises(ValidationError):
        McpFile.model_validate(data)


def test_a_new_goal_needs_its_texts():
    with (
        pytest.raises(UnknownGoal, match="title"),
        use_mcp(McpFile.model_validate({"goals": {"new": {}}})),
    ):
        pass


def test_public_names_are_namespaced_and_fit_model_apis():
    assert public_name("crm", "lookup.customer") == "crm__lookup_customer"
    assert len(public_name("crm", "x" * 100)) == 64
    assert server_of("crm__lookup") == "crm" and server_of("find_order") is None
