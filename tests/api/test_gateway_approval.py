"""Approval and goal switching through the gateway: statuses, error bodies, what GET shows."""

from __future__ import annotations

import asyncio
import uuid

from fake_llm import Reply
from tests.api.sse_client import assert_error, tenant_keys
from tests.support.gateway import api_client, gateway
from tests.support.stack import agent_stack


async def wait_pending(http, cid: str, name: str) -> dict:
    for _ in range(400):
        body = (await http.get(f"/v1/conversations/{cid}")).json()
        call = body["pending_tool_call"]
        if call is not None and call["name"] == name and body["status"] == "awaiting_confirmation":
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {name} proposal: {body}")


async def test_edit_always_and_policies_over_http(client, fake_llm, redis_url):
    fake_llm.script(
        "plan",
        Reply.call("find_events", city="Melbourne", month="April"),
        Reply.call(
            "search_flights",
            origin="Sydney",
            destination="Melbourne",
            date_depart="2027-04-10",
            date_return="2027-04-14",
        ),
    )
    api_keys, keys = tenant_keys("alice")
    async with (
        agent_stack(client, fake_llm, redis_url, api_keys=api_keys) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as http,
    ):
        for policies, code in [
            ({"teleport": "auto"}, "unknown_tool"),
            ({"find_events": "sometimes"}, "invalid_request"),
        ]:
            body = {"goal": "travel", "tool_policies": policies}
            assert_error(await http.post("/v1/conversations", json=body), 422, code)
        created = await http.post(
            "/v1/conversations",
            json={
                "goal": "travel",
                "message": "Melbourne in April, from Sydney 10 to 14 April",
                "tool_policies": {"create_invoice": "never"},
            },
        )
        assert created.status_code == 201, created.text
        cid = created.json()["id"]
        body = await wait_pending(http, cid, "find_events")
        call_id = body["pending_tool_call"]["id"]
        edit = f"/v1/conversations/{cid}/tool-calls/{call_id}/edit"

        error = assert_error(
            await http.post(edit, json={"args": {"city": "Sydney", "month": 4}}),
            422,
            "bad_tool_args",
        )
        assert "month" in error["message"] and "find_events" in error["message"]
        assert_error(await http.post(edit, json={"args": "Sydney"}), 422, "invalid_request")
        good = {"args": {"city": "Sydney", "month": "April"}, "always": True}
        first = await http.post(edit, json=good)
        assert first.status_code == 202, first.text
        again = await http.post(edit, json=good)
        assert again.status_code == 202 and again.json() == first.json()
        confirm = f"/v1/conversations/{cid}/tool-calls/{call_id}/confirm"
        assert_error(await http.post(confirm, json={"always": True}), 409, "nothing_pending")

        body = await wait_pending(http, cid, "search_flights")
        assert body["tool_policies"] == {"create_invoice": "never", "find_events": "auto"}
        agent, tool = [m for m in body["transcript"] if m["tool_call"]][:2]
        assert agent["role"] == "agent" and agent["tool_call"]["args"]["city"] == "Melbourne"
        assert tool["role"] == "tool" and tool["tool_call"]["args"]["city"] == "Sydney"
        flights = body["pending_tool_call"]["id"]
        yes = await http.post(
            f"/v1/conversations/{cid}/tool-calls/{flights}/confirm", json={"always": False}
        )
        assert yes.status_code == 202, yes.text

        goals = (await http.get("/v1/goals")).json()["goals"]
        assert goals[0]["id"] == "goal_choice" and goals[0]["tools"] == []
        travel = next(g for g in goals if g["id"] == "travel")
        assert {t["name"]: t["approval"] for t in travel["tools"]}["create_invoice"] == "ask"
        await http.post(f"/v1/conversations/{cid}/end")


async def test_switch_goal_over_http(client, fake_llm, redis_url):
    fake_llm.script("plan", "What would you like?", "Let's look at your time off.")
    api_keys, keys = tenant_keys("alice")
    async with (
        agent_stack(client, fake_llm, redis_url, api_keys=api_keys) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as http,
    ):
        missing = f"/v1/conversations/{uuid.uuid4().hex}/goal"
        assert_error(await http.post(missing, json={"goal": "travel"}), 404)
        created = await http.post(
            "/v1/conversations", json={"goal": "goal_choice", "message": "hi"}
        )
        cid = created.json()["id"]
        goal = f"/v1/conversations/{cid}/goal"
        assert_error(await http.post(goal, json={"goal": "astrology"}), 422, "unknown_goal")
        assert_error(await http.post(goal, json={"goal": 3}), 422, "invalid_request")

        headers = {"Idempotency-Key": "switch-1"}
        switched = await http.post(goal, json={"goal": "hr_time_off"}, headers=headers)
        assert switched.status_code == 202, switched.text
        assert switched.json()["goal"] == "hr_time_off" and not switched.json()["unchanged"]
        retried = await http.post(goal, json={"goal": "hr_time_off"}, headers=headers)
        assert retried.json() == switched.json()
        same = await http.post(goal, json={"goal": "hr_time_off"})
        assert same.status_code == 202 and same.json()["unchanged"] is True
        assert (await http.get(f"/v1/conversations/{cid}")).json()["goal"] == "hr_time_off"

        assert (await http.post(f"/v1/conversations/{cid}/end")).status_code == 202
        assert_error(await http.post(goal, json={"goal": "travel"}), 409, "conversation_ended")
