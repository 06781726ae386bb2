"""MCP tools through the whole stack: a real dev server, both workers, the
fake LLM scripted to call them, and the notes server written with the SDK
(stdio, started by the tools worker; streamable HTTP on loopback)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_core.mcp_config import McpFile, McpGoal
from agent_core.models import ConversationStatus, ToolPolicy
from agent_core.registry import use_mcp
from fake_llm import Reply
from tests.support.mcp_servers import TOKEN_SECRET, http_notes, http_notes_server, stdio_notes
from tests.support.stack import agent_stack

S = ConversationStatus
TOKEN = "test-token-never-shown"


def _goal(*servers: str) -> McpGoal:
    return McpGoal(
        title="Keep notes",
        description="Write the user's notes down in their notes book.",
        agent_name="Note keeper",
        starter_prompt="What shall I note?",
        mcp_servers=servers,
    )


@pytest.fixture
def notes_dir(tmp_path: Path) -> Iterator[Path]:
    """A goal ``notes_keeper`` served by the stdio notes server (``whoami`` auto)."""
    server = stdio_notes(tmp_path, tools={"whoami": {"approval": "auto"}})
    with use_mcp(McpFile(servers={"notes": server}, goals={"notes_keeper": _goal("notes")})):
        yield tmp_path


def _results(snap):
    return [m.tool_result for m in snap.transcript if m.tool_result]


async def test_an_mcp_tool_is_offered_confirmed_and_run_with_its_key(
    client, fake_llm, redis_url, notes_dir
):
    fake_llm.script("plan", Reply.call("notes__add_note", text="buy milk"), "Noted.")
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("notes_keeper", "Note down: buy milk")
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)  # MCP tools ask by default
        call = snap.pending_call
        assert call is not None and call.name == "notes__add_note"
        await stack.conversations.confirm(stack.tenant, cid, call.id)
        snap = await stack.wait_status(cid, S.AWAITING_INPUT)
        workflow_id = stack.conversations.handle(stack.tenant, cid).id
    [result] = _results(snap)
    assert result.ok and result.output is not None
    assert result.output["text"] == "buy milk"
    assert result.output["key"] == f"{workflow_id}/{call.id}"  # the idempotency key, in _meta
    plans = [r for r in fake_llm.requests if r.kind == "plan"]
    assert {"notes__add_note", "notes__whoami", "notes__crash_once"} <= set(plans[0].tools)


async def test_a_server_that_dies_mid_call_is_restarted_and_the_call_retried(
    client, fake_llm, redis_url, notes_dir
):
    fake_llm.script(
        "plan",
        Reply.call("notes__whoami"),
        Reply.call("notes__crash_once", text="survive this"),
        "Saved, after a hiccup.",
    )
    auto = {"notes__crash_once": ToolPolicy.AUTO}
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("notes_keeper", "Note: survive this", tool_policies=auto)
        snap = await stack.wait_for(cid, lambda s: len(_results(s)) == 2, within=60)
    first, crashed = _results(snap)
    assert first.ok and crashed.ok, crashed
    assert crashed.output is not None and crashed.output["text"] == "survive this"
    assert crashed.output["pid"] != first.output["pid"]  # a new server process served the retry
    [marker] = notes_dir.glob("crashed-*")
    assert int(marker.read_text()) == first.output["pid"]  # the reused one died mid-call
    notes = [json.loads(p.read_text()) for p in notes_dir.glob("note-*.json")]
    assert [n["text"] for n in notes] == ["survive this"]


async def test_over_streamable_http_and_a_server_gone_is_a_clear_failure(
    client, fake_llm, redis_url, tmp_path, monkeypatch
):
    monkeypatch.setenv(TOKEN_SECRET, TOKEN)
    fake_llm.script(
        "plan",
        Reply.call("web__add_note", text="first"),
        "Noted.",
        Reply.call("web__add_note", text="second"),
        "The notes book is unavailable.",
    )
    with http_notes_server(tmp_path, TOKEN) as server:
        mcp = McpFile(
            servers={"web": http_notes(server.url, approval=ToolPolicy.AUTO)},
            goals={"notes_keeper": _goal("web")},
        )
        with use_mcp(mcp):
            async with agent_stack(client, fake_llm, redis_url) as stack:
                cid = await stack.start("notes_keeper", "Note: first")
                snap = await stack.wait_for(cid, lambda s: len(_results(s)) == 1)
                first = _results(snap)[0]
                assert first.ok and first.output is not None and first.output["text"] == "first"
                await stack.wait_status(cid, S.AWAITING_INPUT)
                server.stop()
                await stack.conversations.send(stack.tenant, cid, "Note: second")
                snap = await stack.wait_for(cid, lambda s: len(_results(s)) == 2, within=90)
                snap = await stack.wait_status(cid, S.AWAITING_INPUT)
    failed = _results(snap)[1]
    assert not failed.ok and failed.error is not None, failed
    assert "'web'" in failed.error and TOKEN not in failed.error
    assert snap.transcript[-1].text == "The notes book is unavailable."
