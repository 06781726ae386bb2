"""Issue 14 through the real parts: the fake LLM over HTTP, the real model
clients, a real Temporal dev server. Fallback models, refused credentials,
replies cut at max_tokens or empty, token usage, the context budget, logs."""

from __future__ import annotations

import logging

import pytest

from agent_core.models import ConversationStatus
from fake_llm import Reply
from tests.agent_core.scenario import agent_texts, deltas_of, kinds, read_events
from tests.support.stack import agent_stack

S = ConversationStatus


@pytest.mark.parametrize("client_kind", ["auto", "litellm"])
async def test_an_unavailable_primary_falls_back_within_the_attempt(
    client, fake_llm, redis_url, client_kind, caplog
):
    """The primary streams half a reply and is cut, then rate-limits: the fallback
    answers in the same attempt; the abandoned text is voided, the transcript and
    the log name the model that answered."""
    caplog.set_level(logging.INFO, logger="worker_llm.activities")
    fake_llm.script(
        "plan",
        Reply.say(
            "Half an answer from the primary, then", abort_after_chunks=4, model="fake-agent"
        ),
        Reply.say("Which month would suit you?", model="backup"),
    )
    async with agent_stack(
        client, fake_llm, redis_url, llm_fallback_models="openai/backup", llm_client=client_kind
    ) as stack:
        cid = await stack.start("travel", "An event in Melbourne")
        snap = await stack.wait_status(cid, S.AWAITING_INPUT)
        events = await read_events(stack, cid)
    assert [r.model for r in fake_llm.requests] == ["fake-agent", "backup"]
    assert agent_texts(snap) == ["Which month would suit you?"]
    assert snap.transcript[-1].model == "openai/backup"
    [final] = [e for e in events if e.name == "agent_message"]
    voided = {e.value["messageId"] for e in events if e.name == "text_message_voided"}
    turn = snap.transcript[-1].seq
    assert f"msg-{turn}-1-0" in voided and final.value["messageId"] not in voided
    kept = "".join(
        e.data["delta"]
        for e in events
        if e.type == "TEXT_MESSAGE_CONTENT" and e.data["messageId"] not in voided
    )
    assert kept == final.value["text"] == deltas_of(events, final.value["messageId"])
    assert not [e for e in events if e.type == "RUN_ERROR"]
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("model call")]
    assert any("model=openai/fake-agent" in line and "outcome=error" in line for line in lines)
    assert any("model=openai/backup" in line and "outcome=ok" in line for line in lines)
    assert all(line.strip() and "\n" not in line for line in lines)


async def test_a_retried_model_call_logs_one_line_and_no_traceback(
    client, fake_llm, redis_url, caplog
):
    """A 503 is retried by Temporal: the log holds the failed call's one line and the
    answer's, not the worker's warning with a traceback (blank lines in it) on top."""
    caplog.set_level(logging.INFO)
    fake_llm.script("plan", Reply.error(503), Reply.say("Which month would suit you?"))
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "An event in Melbourne")
        snap = await stack.wait_status(cid, S.AWAITING_INPUT)
    assert agent_texts(snap) == ["Which month would suit you?"]
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("model call")]
    assert ["outcome=error" in line for line in lines] == [True, False]
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert not loud, [r.getMessage() for r in loud]


async def test_a_403_is_never_retried_nor_passed_to_a_fallback(client, fake_llm, redis_url):
    fake_llm.script("plan", Reply.error(403))
    async with agent_stack(
        client, fake_llm, redis_url, llm_fallback_models="openai/backup"
    ) as stack:
        cid = await stack.start("travel", "An event in Melbourne in April")
        snap = await stack.wait_status(cid, S.AWAITING_INPUT)
        events = await read_events(stack, cid)
    assert [r.model for r in fake_llm.requests] == ["fake-agent"]
    answer = agent_texts(snap)[-1]
    assert "refused the credentials (403)" in answer and "unavailable" not in answer
    [error] = [e for e in events if e.type == "RUN_ERROR"]
    assert error.data["code"] == "ModelAuthError"


async def test_a_reply_cut_at_max_tokens_is_repaired_then_explained(client, fake_llm, redis_url):
    """A small model runs on: each reply is cut at LLM_MAX_TOKENS_PLAN. After the
    repairs the user is told so, and the next turn is planned normally."""
    rambling = Reply.say("and then " * 500)
    fake_llm.script("plan", rambling, rambling, rambling)
    async with agent_stack(client, fake_llm, redis_url, llm_max_tokens_plan=64) as stack:
        cid = await stack.start("travel", "An event in Melbourne in April")
        snap = await stack.wait_status(cid, S.AWAITING_INPUT)
        events = await read_events(stack, cid)
        plans = [r for r in fake_llm.requests if r.kind == "plan"]
        assert len(plans) == 3 and {r.max_tokens for r in plans} == {64}
        assert "cut off" in str(plans[1].messages[-1]["content"])
        answer = agent_texts(snap)[-1]
        assert "cut off" in answer and "try again" in answer
        [error] = [e for e in events if e.type == "RUN_ERROR"]
        assert error.data["code"] == "ModelBadReply"
        # three calls' worth of tokens, as the provider counted them
        assert snap.usage.completion_tokens >= 3 * 64 and snap.usage.prompt_tokens > 0

        await stack.conversations.send(stack.tenant, cid, "Events in Melbourne in April, please")
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
    assert snap.pending_call is not None and snap.pending_call.name == "find_events"


async def test_empty_replies_end_in_a_clear_answer(client, fake_llm, redis_url):
    fake_llm.script("plan", "", "", "")
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "An event in Melbourne in April")
        snap = await stack.wait_status(cid, S.AWAITING_INPUT)
    assert kinds(fake_llm) == ["plan"] * 3
    assert "empty" in agent_texts(snap)[-1]


async def test_usage_adds_up_per_conversation(client, fake_llm, redis_url):
    fake_llm.script("plan", "Which month?", "And which city?")
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "An event please")
        await stack.wait_status(cid, S.AWAITING_INPUT)
        first = (await stack.snapshot(cid)).usage
        await stack.conversations.send(stack.tenant, cid, "April")
        snap = await stack.wait_for(cid, lambda s: len(agent_texts(s)) == 2)
    assert first.prompt_tokens > 0 and first.completion_tokens > 0
    assert snap.usage.prompt_tokens > first.prompt_tokens
    assert snap.transcript[-1].model == "openai/fake-agent"


async def test_the_prompt_fits_the_context_window(client, fake_llm, redis_url):
    """With a small window the oldest lines are dropped first: the newest message
    always reaches the model, and the prompt stays inside the budget."""
    fake_llm.script("plan", "What would you like to see?")
    async with agent_stack(
        client, fake_llm, redis_url, llm_context_tokens=1200, llm_max_tokens_plan=200
    ) as stack:
        cid = await stack.start("travel", "Hello " + "padding " * 200)
        await stack.wait_status(cid, S.AWAITING_INPUT)
        await stack.conversations.send(stack.tenant, cid, "An event in Melbourne in April")
        await stack.wait_for(cid, lambda s: s.pending_call is not None)
    last = [r for r in fake_llm.requests if r.kind == "plan"][-1]
    assert last.messages[-1]["content"] == "An event in Melbourne in April"
    assert "padding padding" not in str(last.messages)
    from worker_llm.context_budget import estimate_tokens

    assert estimate_tokens(last.messages, None) < 1200 - 200
