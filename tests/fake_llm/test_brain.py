"""The fake LLM's auto brain on its own: what it plans from a conversation, no server."""

from __future__ import annotations

import pytest

from fake_llm.brain import plan_reply
from tests.fake_llm.chat import DONE, PLAN_TOOLS, USER, tool_turn

pytestmark = pytest.mark.fast


def test_auto_brain_asks_after_failure_and_finishes_with_done() -> None:
    functions = [t["function"] for t in PLAN_TOOLS]
    ran = USER + tool_turn("c1", "find_events", {"ok": True})
    failed = ran + tool_turn("c2", "search_flights", {"ok": False, "error": "no flights"})
    question = plan_reply(failed, functions)
    assert question.tool_call is None
    assert question.text == "That didn't work (no flights). How would you like to proceed?"
    rejected = ran + tool_turn("c2", "search_flights", {"rejected": True, "reason": "too dear"})
    assert "rejected: too dear" in plan_reply(rejected, functions).text
    follow_up = [*failed, {"role": "user", "content": "The tool failed."}]
    assert plan_reply(follow_up, functions).tool_call is None
    asked = {"role": "assistant", "content": question.text}
    retry = [*failed, asked, {"role": "user", "content": "try again"}]
    retry_call = plan_reply(retry, functions).tool_call
    assert retry_call is not None and retry_call.name == "search_flights"
    finished = plan_reply(ran + tool_turn("c3", "search_flights", {"ok": True}), functions)
    assert finished.text.startswith("All done")
    assert finished.tool_call is not None and finished.tool_call.name == "done"
    assert "search_flights" in (finished.tool_call.arguments or {})["summary"]


def test_auto_brain_switches_to_a_goal_the_user_names() -> None:
    switch = {
        "name": "switch_goal",
        "parameters": {"properties": {"goal": {"enum": ["hr_time_off", "order_tracking"]}}},
    }
    travel = [*(t["function"] for t in PLAN_TOOLS), switch]
    asked = [{"role": "user", "content": "Can you do order tracking instead?"}]
    proposal = plan_reply(asked, travel).tool_call
    assert proposal is not None and proposal.name == "switch_goal"
    assert proposal.arguments == {"goal": "order_tracking"}
    # a goal the user did not name, or a result note naming one, is no reason to move
    assert plan_reply(USER, travel).tool_call.name == "find_events"
    result = '[result of switch_goal: {"previous": "order_tracking"}]'
    note = [*USER, {"role": "user", "content": result}]
    assert plan_reply(note, travel).tool_call.name == "find_events"
    # a goal whose only tool is switch_goal asks which goal to take
    concierge = plan_reply(USER, [switch, DONE["function"]])
    assert concierge.tool_call is None
    assert concierge.text == "Which of these would you like to do: hr_time_off, order_tracking?"


def test_auto_brain_asks_for_what_the_user_did_not_say() -> None:
    functions = [t["function"] for t in PLAN_TOOLS]
    vague = [{"role": "user", "content": "Any events in Tokyo?"}]
    question = plan_reply(vague, functions)
    assert question.tool_call is None
    assert question.text == "To does find events, could you tell me which month?"
    answered = [
        *vague,
        {"role": "assistant", "content": question.text},
        {"role": "user", "content": "June"},
    ]
    call = plan_reply(answered, functions).tool_call
    assert call is not None and call.arguments == {"city": "Tokyo", "month": "June"}
    ran = answered + tool_turn("c1", "find_events", {"ok": True})
    origin = plan_reply(ran, functions)
    assert origin.tool_call is None and "where you're flying from" in origin.text
    reply = [
        *ran,
        {"role": "assistant", "content": origin.text},
        {"role": "user", "content": "London"},
    ]
    flights = plan_reply(reply, functions).tool_call
    assert flights is not None and flights.arguments == {"origin": "London"}


def test_auto_brain_runs_a_tool_again_when_the_user_corrects_it() -> None:
    functions = [t["function"] for t in PLAN_TOOLS]
    ran = USER + tool_turn("c1", "find_events", {"ok": True})
    correction = [*ran, {"role": "user", "content": "Actually, Tokyo please"}]
    call = plan_reply(correction, functions).tool_call
    assert call is not None and call.arguments == {"city": "Tokyo", "month": "April"}
    # words that do not change its arguments leave it done
    thanks = [*ran, {"role": "user", "content": "Great, thanks"}]
    assert plan_reply(thanks, functions).tool_call.name == "search_flights"
