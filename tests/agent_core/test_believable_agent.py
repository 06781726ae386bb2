"""Every shipped goal, typed as a user would, with the fake's auto brain as the agent.

The real workflow, workers, tools and Redis, litellm over HTTP to the fake on
loopback: the brain must read the city, dates, ids and choices from these
words, ask for what they leave out, and never invent them.
"""

from __future__ import annotations

from typing import Any

from agent_core.models import ConversationSnapshot, ConversationStatus
from tests.support.stack import AgentStack, agent_stack

S = ConversationStatus
_SETTLED = (S.AWAITING_INPUT, S.AWAITING_CONFIRMATION, S.ENDED)


async def converse(stack: AgentStack, goal: str, lines: list[str]) -> ConversationSnapshot:
    """Start with the first line, confirm every proposal, answer each question with
    the next line; the last snapshot once the conversation ends."""
    cid = await stack.start(goal, lines[0])
    said, seen = 1, 0
    while True:
        snap = await stack.wait_for(
            cid,
            lambda s, seen=seen: (
                s.status in _SETTLED and not s.queued_prompts and len(s.transcript) > seen
            ),
        )
        seen = len(snap.transcript)
        if snap.status == S.ENDED:
            return snap
        if snap.pending_call is not None:
            await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id)
            continue
        assert said < len(lines), f"the agent asked more: {snap.transcript[-1].text}"
        await stack.conversations.send(stack.tenant, cid, lines[said])
        said += 1


def ran(snap: ConversationSnapshot) -> list[tuple[str, dict[str, Any]]]:
    """The tools that ran, in order, with the arguments they ran with."""
    return [
        (m.tool_call.name, m.tool_call.args)
        for m in snap.transcript
        if m.role == "tool" and m.tool_call is not None and m.tool_result and m.tool_result.ok
    ]


def questions(snap: ConversationSnapshot) -> list[str]:
    agent = [m for m in snap.transcript if m.role == "agent" and m.tool_call is None]
    return [m.text for m in agent if m.text.endswith("?")]


async def test_travel_reads_the_city_a_correction_the_dates_and_the_chosen_flight(
    client, fake_llm, redis_url
):
    lines = [
        "Any events in Melbourne in April?",
        "Actually, make that Tokyo in June",
        "From Sydney, 10 to 14 June",
        "The cheapest one please, invoice to kim@example.com",
    ]
    async with agent_stack(client, fake_llm, redis_url) as stack:
        snap = await converse(stack, "travel", lines)
    tools = ran(snap)
    assert [name for name, _ in tools] == [
        "find_events",
        "find_events",
        "search_flights",
        "create_invoice",
    ]
    assert tools[0][1] == {"city": "Melbourne", "month": "April"}
    assert tools[1][1] == {"city": "Tokyo", "month": "June"}
    flights = {
        "origin": "Sydney",
        "destination": "Tokyo",
        "date_depart": "2027-06-10",
        "date_return": "2027-06-14",
    }
    assert tools[2][1] == flights
    offers = next(
        m.tool_result.output
        for m in snap.transcript
        if m.tool_result and m.tool_result.name == "search_flights"
    )
    cheapest = min(offers["flights"], key=lambda f: f["price"])
    assert tools[3][1] == {
        "email": "kim@example.com",
        "flight_id": cheapest["flight_id"],
        "amount": cheapest["price"],
    }
    asked = questions(snap)
    assert "where you're flying from" in asked[0]
    assert "which flight you'd like" in asked[-1] and cheapest["flight_id"] in asked[-1]


async def test_hr_time_off_asks_for_the_employee_id_then_books_the_days_said(
    client, fake_llm, redis_url
):
    lines = ["I'd like to take some time off", "E1042", "Annual leave, 3 to 7 May please"]
    async with agent_stack(client, fake_llm, redis_url) as stack:
        snap = await converse(stack, "hr_time_off", lines)
    assert ran(snap) == [
        ("check_leave_balance", {"employee_id": "E1042"}),
        (
            "book_leave",
            {
                "employee_id": "E1042",
                "start_date": "2027-05-03",
                "end_date": "2027-05-07",
                "kind": "annual",
            },
        ),
    ]
    assert "your employee id" in questions(snap)[0]


async def test_order_tracking_asks_which_order_then_why_it_goes_back(client, fake_llm, redis_url):
    lines = [
        "Where is my order? I ordered with sam.rivera@example.com",
        "The first one, the running shoes",
        "They are a size too small",
    ]
    async with agent_stack(client, fake_llm, redis_url) as stack:
        snap = await converse(stack, "order_tracking", lines)
    assert ran(snap) == [
        ("find_order", {"email": "sam.rivera@example.com"}),
        ("track_shipment", {"order_id": "ORD-48213"}),
        ("request_return", {"order_id": "ORD-48213", "reason": "They are a size too small"}),
    ]
    which, why = questions(snap)
    assert "which order you'd like" in which and "ORD-48377" in which
    assert "the reason" in why


async def test_goal_choice_hands_over_and_the_new_agent_reads_the_same_words(
    client, fake_llm, redis_url
):
    lines = [
        "Hello",
        "Order tracking please: ORD-48213 arrived but the shoes are too small",
    ]
    async with agent_stack(client, fake_llm, redis_url) as stack:
        snap = await converse(stack, "goal_choice", lines)
    assert [name for name, _ in ran(snap)] == [
        "switch_goal",
        "find_order",
        "track_shipment",
        "request_return",
    ]
    assert ran(snap)[1][1] == {"order_id": "ORD-48213"}
    assert ran(snap)[3][1] == {
        "order_id": "ORD-48213",
        "reason": "ORD-48213 arrived but the shoes are too small",
    }
