"""Idle and confirmation timeouts: durable timers, on the time-skipping test server.

The stack is the real one (the services' workers, litellm over HTTP to the
fake LLM, Redis) on ``temporal-test-server``, which skips a timer's wait while
the test waits for the workflow's result: days pass in well under a second.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from agent_core.conversation_ids import TENANT_SEARCH_ATTRIBUTE
from agent_core.models import ConversationStatus
from tests.agent_core.scenario import read_events
from tests.agui.client import averify_events
from tests.support.stack import AgentStack, agent_stack
from tests.support.time_skipping import start_time_skipping

S = ConversationStatus
DAY = 24 * 3600.0


@pytest.fixture(scope="module")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_time_skipping()
    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace, search_attributes={TENANT_SEARCH_ATTRIBUTE: keyword}
        )
    )
    yield env
    await env.shutdown()


async def lifetime(stack: AgentStack, cid: str) -> timedelta:
    """How long the workflow ran, in the server's (skipped) time."""
    info = await stack.conversations.handle(stack.tenant, cid).describe()
    assert info.close_time is not None and info.start_time is not None
    return info.close_time - info.start_time


async def test_an_undecided_proposal_is_withdrawn_then_the_idle_chat_closes(
    time_env, fake_llm, redis_url
):
    overrides = {"agent_confirmation_timeout_seconds": 3600, "agent_idle_timeout_seconds": DAY}
    async with agent_stack(time_env.client, fake_llm, redis_url, **overrides) as stack:
        cid = await stack.start("travel", "An event in Melbourne in April")
        proposed = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        await time_env.sleep(timedelta(minutes=59))
        undecided = await stack.snapshot(cid)
        await time_env.sleep(timedelta(minutes=2))
        withdrawn = await stack.wait_status(cid, S.AWAITING_INPUT)
        await time_env.sleep(timedelta(hours=23))
        final = await stack.result(cid)
        ran = await lifetime(stack, cid)
        after = await stack.snapshot(cid)  # still readable once closed
        events = await read_events(stack, cid)

    assert undecided.pending_call == proposed.pending_call
    assert withdrawn.pending_call is None
    assert final.status == S.ENDED and after == final
    assert final.transcript == proposed.transcript  # nothing lost, nothing added
    assert timedelta(days=1) <= ran < timedelta(days=1, minutes=5)  # from the last input
    [withdrawal] = [e for e in events if e.name == "tool_call_withdrawn"]
    assert withdrawal.value == {
        "toolCallId": proposed.pending_call.id,
        "reason": "no decision came in time",
    }
    names = [e.name or e.type for e in events]
    assert names[-3:] == ["conversation_timed_out", "status_changed", "RUN_FINISHED"]
    assert events[-3].value == {"reason": "idle_timeout", "idleSeconds": DAY}
    # the withdrawal is a run of its own, after the proposal's interrupted run
    assert names.index("tool_call_withdrawn") == names.index("RUN_STARTED", 1) + 1
    assert (await averify_events([e.data for e in events]))["ok"]


async def test_each_input_restarts_the_idle_timeout(time_env, fake_llm, redis_url):
    fake_llm.script("plan", "Which city?")
    overrides = {"agent_idle_timeout_seconds": DAY}
    async with agent_stack(time_env.client, fake_llm, redis_url, **overrides) as stack:
        cid = await stack.start("travel")
        await stack.wait_status(cid, S.AWAITING_INPUT)
        await time_env.sleep(timedelta(hours=20))
        await stack.conversations.send(stack.tenant, cid, "A trip, please")
        await stack.wait_for(cid, lambda s: len(s.transcript) == 2)
        await time_env.sleep(timedelta(hours=20))
        still_open = await stack.snapshot(cid)
        await time_env.sleep(timedelta(hours=5))
        final = await stack.result(cid)
        ran = await lifetime(stack, cid)
    assert still_open.status == S.AWAITING_INPUT
    assert final.status == S.ENDED
    assert timedelta(hours=44) <= ran < timedelta(hours=45)
