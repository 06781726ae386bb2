"""The AG-UI endpoint, driven by the official ``@ag-ui/client`` ``HttpAgent``.

A whole travel conversation: the first run asks, each interrupt (a proposal
awaiting approval) is answered with a resume entry, and the last run ends the
conversation. The client's own SSE parser and ``verifyEvents`` read every run.
"""

from __future__ import annotations

import uuid

from tests.agui.client import AgentSession, requires_node
from tests.api.sse_client import assert_error, tenant_keys
from tests.support.gateway import api_client, gateway
from tests.support.stack import WHOLE_TRIP, agent_stack

pytestmark = requires_node


def _user(text: str) -> dict[str, str]:
    return {"id": uuid.uuid4().hex, "role": "user", "content": text}


async def test_a_travel_conversation_through_httpagent(client, fake_llm, redis_url):
    api_keys, keys = tenant_keys("alice")
    thread = uuid.uuid4().hex
    headers = {"Authorization": f"Bearer {keys['alice']}"}
    async with (
        agent_stack(client, fake_llm, redis_url, api_keys=api_keys) as stack,
        gateway(stack.settings) as base,
        AgentSession(f"{base}/v1/ag-ui/travel", thread, headers) as agent,
        api_client(base, keys["alice"]) as http,
    ):
        first_run = uuid.uuid4().hex
        result = await agent.run({"runId": first_run, "messages": [_user(WHOLE_TRIP)]})
        runs = [result]
        while result["outcome"] and result["outcome"]["type"] == "interrupt":
            [interrupt] = result["outcome"]["interrupts"]
            assert interrupt["reason"] == "tool_approval"
            resume = [
                {
                    "interruptId": interrupt["id"],
                    "status": "resolved",
                    "payload": {"approved": True},
                }
            ]
            result = await agent.run({"runId": uuid.uuid4().hex, "resume": resume})
            runs.append(result)
        snap = (await http.get(f"/v1/conversations/{thread}")).json()

        # a run while another is impossible here; a second message on an ended
        # thread is refused with a JSON error, not a stream
        late = await http.post(
            "/v1/ag-ui/travel",
            json={"threadId": thread, "runId": "late-1", "messages": [_user("more?")]},
        )

    for run in runs:
        assert run["error"] is None, run["error"]
        assert run["events"][0]["type"] == "RUN_STARTED"
        assert run["events"][-1]["type"] == "RUN_FINISHED"
    assert runs[0]["events"][0]["runId"] == first_run
    assert len(runs) == 4  # the question run, then one run per confirmed tool
    assert snap["status"] == "ended"
    tools = [m["tool_result"]["name"] for m in snap["transcript"] if m.get("tool_result")]
    assert tools == ["find_events", "search_flights", "create_invoice"]
    assert_error(late, 409, "conversation_ended")


async def test_a_resume_may_edit_the_arguments_and_always_allow(client, fake_llm, redis_url):
    api_keys, keys = tenant_keys("alice")
    thread = uuid.uuid4().hex
    headers = {"Authorization": f"Bearer {keys['alice']}"}
    async with (
        agent_stack(client, fake_llm, redis_url, api_keys=api_keys) as stack,
        gateway(stack.settings) as base,
        AgentSession(f"{base}/v1/ag-ui/travel", thread, headers) as agent,
        api_client(base, keys["alice"]) as http,
    ):
        result = await agent.run({"messages": [_user("Melbourne in April")]})
        [interrupt] = result["outcome"]["interrupts"]

        def resume(payload: dict) -> dict:
            answer = {"interruptId": interrupt["id"], "status": "resolved", "payload": payload}
            return {"runId": uuid.uuid4().hex, "resume": [answer]}

        refused = await agent.run(resume({"approved": True, "args": {"city": "Sydney"}}))
        edited = {"city": "Sydney", "month": "April"}
        result = await agent.run(resume({"approved": True, "args": edited, "always": True}))
        snap = (await http.get(f"/v1/conversations/{thread}")).json()
    assert refused["error"] and "422" in refused["error"]
    assert result["error"] is None
    decided = [e for e in result["events"] if e.get("name") == "tool_call_decided"]
    assert decided[0]["value"]["editedArgs"] == edited
    ran = next(m for m in snap["transcript"] if m["role"] == "tool")
    assert ran["tool_call"]["args"] == edited
    assert snap["tool_policies"] == {"find_events": "auto"}


async def test_bad_runs_are_refused_before_anything_happens(client, fake_llm, redis_url):
    api_keys, keys = tenant_keys("alice")
    async with (
        agent_stack(client, fake_llm, redis_url, api_keys=api_keys) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as http,
    ):
        ok = {"threadId": "t-1", "runId": "r-1", "messages": [_user("hi")]}
        assert_error(await http.post("/v1/ag-ui/nope", json=ok), 422, "unknown_goal")
        bad_thread = {**ok, "threadId": "no/slashes"}
        assert_error(await http.post("/v1/ag-ui/travel", json=bad_thread), 422, "bad_thread_id")
        no_user = {**ok, "messages": []}
        assert_error(await http.post("/v1/ag-ui/travel", json=no_user), 422, "no_user_message")
        assert_error(await http.post("/v1/ag-ui/travel", json={"runId": "r"}), 422)
        listed = (await http.get("/v1/conversations")).json()["conversations"]
    assert listed == []
