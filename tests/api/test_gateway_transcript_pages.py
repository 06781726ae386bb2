"""A long conversation keeps a small state and loses no line.

The workflow archives lines that neither its summary nor the model's window
needs any more, a page at a time, to the object store; continue-as-new carries
only the recent part. Through the gateway, GET of the conversation gives that
recent part with a cursor, and GET .../messages walks back page by page to the
very first line, across every run.
"""

from __future__ import annotations

from agent_core.conversation_ids import workflow_id
from agent_core.models import ConversationStatus
from agent_core.object_store import FileObjectStore
from agent_core.transcript_archive import page_key
from agent_core.workflow import ARCHIVE_PAGE_SIZE
from tests.api.sse_client import assert_error, tenant_keys, tenant_of
from tests.support.gateway import api_client, gateway
from tests.support.stack import AgentStack, agent_stack

TURNS = 70  # 140 lines: two pages archived, with room to spare
WINDOW = 4


async def _talk(stack: AgentStack, cid: str, turns: int) -> None:
    for i in range(1, turns):
        await stack.conversations.send(stack.tenant, cid, f"message {i}")
        await stack.wait_for(cid, lambda s, n=i: _answered(s, n), within=30)


def _answered(snap, n: int) -> bool:
    last = snap.transcript[-1] if snap.transcript else None
    return (
        snap.status is ConversationStatus.AWAITING_INPUT
        and last is not None
        and last.text == f"answer {n}"
    )


async def test_a_long_conversation_is_archived_in_pages_and_read_back_whole(
    client, fake_llm, redis_url, object_store: FileObjectStore
):
    fake_llm.script("plan", *[f"answer {i}" for i in range(TURNS)])
    api_keys, keys = tenant_keys("alice", "mallory")
    async with (
        agent_stack(
            client,
            fake_llm,
            redis_url,
            api_keys=api_keys,
            agent_history_window=WINDOW,
            agent_max_turns_per_run=7,
        ) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as http,
        api_client(base, keys["mallory"]) as other,
    ):
        stack.tenant = tenant_of(keys["alice"])
        cid = await stack.start("travel", "message 0")
        await stack.wait_for(cid, lambda s: _answered(s, 0), within=30)
        await _talk(stack, cid, TURNS)
        snap = await stack.snapshot(cid)

        conversation = (await http.get(f"/v1/conversations/{cid}")).json()
        recent = (await http.get(f"/v1/conversations/{cid}/messages")).json()
        pages, cursor = [], recent["older_messages"]
        while cursor is not None:
            page = await http.get(f"/v1/conversations/{cid}/messages", params={"before": cursor})
            assert page.status_code == 200, page.text
            pages.append(page.json())
            cursor = page.json()["older_messages"]

        absent = await http.get(f"/v1/conversations/{cid}/messages", params={"before": "page-99"})
        malformed = await http.get(f"/v1/conversations/{cid}/messages", params={"before": "../x"})
        stranger = await other.get(f"/v1/conversations/{cid}/messages", params={"before": "page-0"})
        (object_store.root / page_key(workflow_id(stack.tenant, cid), 0)).unlink()
        gone = await http.get(f"/v1/conversations/{cid}/messages", params={"before": "page-0"})

    # the state holds the recent part only, across many runs
    assert snap.run_number >= 5
    assert snap.archive_pages >= 2
    assert len(snap.transcript) < ARCHIVE_PAGE_SIZE + 3 * WINDOW
    assert conversation["first_index"] == snap.archived_messages == recent["first_index"]
    assert conversation["transcript"] == recent["messages"]
    # page by page, newest first, back to the start: every line once, in order
    lines = [m for page in reversed(pages) for m in page["messages"]] + recent["messages"]
    assert [p["first_index"] for p in reversed(pages)] == [
        n * ARCHIVE_PAGE_SIZE for n in range(len(pages))
    ]
    said = [m["text"] for m in lines if m["role"] == "user"]
    told = [m["text"] for m in lines if m["role"] == "agent"]
    assert said == [f"message {i}" for i in range(TURNS)]
    assert told == [f"answer {i}" for i in range(TURNS)]
    assert len(lines) == 2 * TURNS
    assert_error(absent, 404, "page_not_found")
    assert_error(malformed, 422)
    assert_error(stranger, 404)
    assert_error(gone, 410, "page_gone")
