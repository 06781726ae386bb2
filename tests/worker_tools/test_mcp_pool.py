"""The tools worker's MCP pool against real servers written with the SDK."""

from __future__ import annotations

import pytest

from agent_core.errors import BadToolArgs, ToolFailed, UnknownTool
from agent_core.mcp_config import McpServer
from agent_core.models import ToolCall, ToolPolicy
from tests.support.mcp_servers import TOKEN_SECRET, http_notes, http_notes_server, stdio_notes
from worker_tools.mcp.pool import ConnectionLost, McpPool


def _pool(servers: dict[str, McpServer], secrets: dict[str, str] | None = None) -> McpPool:
    return McpPool(lambda: servers, (secrets or {}).get)


def _call(name: str, **args: object) -> ToolCall:
    return ToolCall(id="c1", name=name, args=args)


async def test_stdio_tools_are_listed_with_their_schemas_and_policies(tmp_path):
    server = stdio_notes(tmp_path, tools={"whoami": {"approval": "auto"}})
    pool = _pool({"notes": server})
    try:
        catalog = await pool.catalog(["notes"])
    finally:
        await pool.close()
    tools = {t.name: t for t in catalog.tools}
    assert set(tools) == {"notes__add_note", "notes__crash_once", "notes__whoami", "notes__fail"}
    add = tools["notes__add_note"]
    assert add.tool == "add_note" and add.server == "notes"
    assert add.parameters["required"] == ["text"] and "ctx" not in add.parameters["properties"]
    assert add.approval is ToolPolicy.ASK and tools["notes__whoami"].approval is ToolPolicy.AUTO
    assert catalog.errors == {}


async def test_a_stdio_server_is_started_once_and_restarted_when_it_dies(tmp_path):
    pool = _pool({"notes": stdio_notes(tmp_path)})
    try:
        first = await pool.call(_call("notes__whoami"), "k0")
        again = await pool.call(_call("notes__whoami"), "k0")
        assert first["pid"] == again["pid"]  # reused, not spawned per call
        with pytest.raises(ConnectionLost):
            await pool.call(_call("notes__crash_once", text="hi"), "wf/call-1")
        note = await pool.call(_call("notes__crash_once", text="hi"), "wf/call-1")
        assert note["key"] == "wf/call-1" and note["pid"] != first["pid"]
        repeat = await pool.call(_call("notes__add_note", text="hi"), "wf/call-1")
        assert repeat["duplicate"] is True  # the key reached the server in _meta
    finally:
        await pool.close()


async def test_errors_are_clear_and_hold_no_secret(tmp_path):
    broken = McpServer(command=str(tmp_path / "no-such-server"))
    pool = _pool({"notes": stdio_notes(tmp_path), "broken": broken})
    try:
        with pytest.raises(ToolFailed, match="'broken' could not be started"):
            await pool.call(_call("broken__anything"), "k")
        with pytest.raises(UnknownTool, match="has no tool named 'notes__nope'"):
            await pool.call(_call("notes__nope"), "k")
        with pytest.raises(BadToolArgs, match="missing text"):
            await pool.call(_call("notes__add_note"), "k")
        with pytest.raises(ToolFailed, match="refused: no"):
            await pool.call(_call("notes__fail", reason="no"), "k")
        catalog = await pool.catalog(["broken", "notes"])
        assert "could not be started" in catalog.errors["broken"]
        assert {t.server for t in catalog.tools} == {"notes"}
    finally:
        await pool.close()


async def test_streamable_http_with_a_secret_header(tmp_path):
    token = "s3cret-token-value"
    with http_notes_server(tmp_path, token) as server:
        url = server.url
        pool = _pool({"web": http_notes(url)}, {TOKEN_SECRET: token})
        try:
            note = await pool.call(_call("web__add_note", text="over http"), "wf/c9")
            assert note["text"] == "over http" and note["key"] == "wf/c9"
        finally:
            await pool.close()
        wrong = _pool({"web": http_notes(url)}, {TOKEN_SECRET: "wrong"})
        missing = _pool({"web": http_notes(url)})
        try:
            with pytest.raises(ToolFailed) as refused:
                await wrong.call(_call("web__add_note", text="x"), "k")
            assert "wrong" not in str(refused.value) and token not in str(refused.value)
            with pytest.raises(ToolFailed, match=f"the secret {TOKEN_SECRET} is not set"):
                await missing.call(_call("web__add_note", text="x"), "k")
        finally:
            await wrong.close()
            await missing.close()
