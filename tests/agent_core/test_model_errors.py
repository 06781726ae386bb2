"""The model misbehaving: refused credentials, rate limits, malformed replies, cut streams."""

from __future__ import annotations

from agent_core.models import ConversationStatus
from fake_llm import Reply
from tests.agent_core.scenario import agent_texts, deltas_of, kinds, read_events
from tests.agui.client import verify_events
from tests.support.stack import agent_stack

S = ConversationStatus


async def test_auth_error_is_explained_once_and_the_chat_stays_usable(client, fake_llm, redis_url):
    fake_llm.script("plan", Reply.error(401))
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "An event in Melbourne in April")
        snap = await stack.wait_status(cid, S.AWAITING_INPUT)
        # Not retried: bad credentials stay bad.
        assert kinds(fake_llm) == ["plan"]
        answer = agent_texts(snap)[-1]
        assert "API key" in answer and "credentials" in answer
        assert snap.pending_call is None
        events = await read_events(stack, cid)
        [error] = [e for e in events if e.type == "RUN_ERROR"]
        assert error.data["code"] == "ModelAuthError"

        # The key is fixed (the fake answers again): the same conversation goes on.
        await stack.conversations.send(stack.tenant, cid, "Let's try again: Melbourne, April")
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
    assert snap.pending_call is not None and snap.pending_call.name == "find_events"
    assert kinds(fake_llm) == ["plan", "plan"]


async def test_rate_limit_is_retried_until_the_model_answers(client, fake_llm, redis_url):
    fake_llm.script("plan", Reply.error(429), Reply.error(429), "Which month would suit you?")
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "An event in Melbourne")
        snap = await stack.wait_status(cid, S.AWAITING_INPUT, within=30)
        events = await read_events(stack, cid)
    assert kinds(fake_llm) == ["plan", "plan", "plan"]
    assert agent_texts(snap) == ["Which month would suit you?"]
    assert not [e for e in events if e.type == "RUN_ERROR"]
    [final] = [e for e in events if e.name == "agent_message"]
    assert final.value["text"] == "Which month would suit you?"
    assert deltas_of(events, final.value["messageId"]) == final.value["text"]


async def test_malformed_replies_are_repaired_within_the_turn(client, fake_llm, redis_url):
    fake_llm.script(
        "plan",
        Reply.call_raw("find_events", '{"city": "Melbourne", "month": '),
        Reply.call("book_a_spaceship", destination="Moon"),
        Reply.call("find_events", city="Melbourne", month="April").replace(
            text="Let me look for events in Melbourne in April."
        ),
    )
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "An event in Melbourne in April")
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        events = await read_events(stack, cid)
    assert snap.pending_call is not None
    assert snap.pending_call.name == "find_events"
    assert snap.pending_call.args == {"city": "Melbourne", "month": "April"}
    assert agent_texts(snap) == ["Let me look for events in Melbourne in April."]

    plans = [r for r in fake_llm.requests if r.kind == "plan"]
    assert len(plans) == 3
    # Each repair request tells the model what was wrong with its last reply.
    assert "not valid JSON" in str(plans[1].messages[-1]["content"])
    assert "book_a_spaceship" in str(plans[2].messages[-1]["content"])
    # The unusable replies' messages were voided; the kept one streams whole.
    voided = {e.value["messageId"] for e in events if e.name == "text_message_voided"}
    [final] = [e for e in events if e.name == "agent_message"]
    assert final.value["messageId"] not in voided
    assert len(voided) == 2
    assert deltas_of(events, final.value["messageId"]) == final.value["text"]


async def test_a_model_that_never_replies_usably_gets_a_fallback_question(
    client, fake_llm, redis_url
):
    broken = Reply.call_raw("find_events", "not json at all")
    fake_llm.script("plan", broken, Reply.call("nope"), broken)
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "An event in Melbourne in April")
        snap = await stack.wait_status(cid, S.AWAITING_INPUT)
        assert kinds(fake_llm) == ["plan", "plan", "plan"]
        assert snap.pending_call is None
        answer = agent_texts(snap)[-1]
        assert "unusable" in answer and "try again" in answer
        assert "train of thought" not in answer

        # Not stuck: the next message is planned normally.
        await stack.conversations.send(stack.tenant, cid, "Events in Melbourne in April, please")
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
    assert snap.pending_call is not None and snap.pending_call.name == "find_events"


async def test_a_stream_cut_half_way_is_voided_and_retried(client, fake_llm, redis_url):
    partial = "I am looking into events in Melbourne for you right now, one moment"
    fake_llm.script(
        "plan",
        Reply.say(partial, chunk_chars=4, abort_after_chunks=8),
        Reply.say("Which month are you thinking of?", chunk_chars=3),
    )
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "An event in Melbourne")
        snap = await stack.wait_status(cid, S.AWAITING_INPUT, within=30)
        events = await read_events(stack, cid)
    assert kinds(fake_llm) == ["plan", "plan"]
    assert agent_texts(snap) == ["Which month are you thinking of?"]

    turn = snap.transcript[-1].seq
    first_attempt = f"msg-{turn}-1-0"
    streamed = deltas_of(events, first_attempt)
    assert streamed and partial.startswith(streamed) and streamed != partial
    voids = [e for e in events if e.name == "text_message_voided"]
    assert first_attempt in {e.value["messageId"] for e in voids}
    void_at = next(i for i, e in enumerate(events) if e.name == "text_message_voided")
    [final] = [e for e in events if e.name == "agent_message"]
    final_at = events.index(final)
    assert void_at < final_at
    assert final.value["messageId"] != first_attempt
    assert deltas_of(events, final.value["messageId"]) == final.value["text"]
    assert final.value["text"] == "Which month are you thinking of?"
    # A client that drops voided messages' deltas sees exactly the final text.
    kept = "".join(
        e.data["delta"]
        for e in events
        if e.type == "TEXT_MESSAGE_CONTENT"
        and e.data["messageId"] not in {v.value["messageId"] for v in voids}
    )
    assert kept == final.value["text"]


async def test_a_model_down_on_every_attempt_gets_a_visible_answer(client, fake_llm, redis_url):
    """The last attempt answers the user: the workflow writes it, and the run errs."""
    fake_llm.script("plan", *[Reply.error(503)] * 5)
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "An event in Melbourne in April")
        snap = await stack.wait_status(cid, S.AWAITING_INPUT, within=40)
        events = await read_events(stack, cid)
    assert kinds(fake_llm) == ["plan"] * 5
    answer = agent_texts(snap)[-1]
    assert "unavailable" in answer
    [final] = [e for e in events if e.name == "agent_message"]
    assert final.value["text"] == answer
    assert deltas_of(events, final.value["messageId"]) == answer
    assert events[-1].type == "RUN_ERROR" and events[-1].data["code"] == "ModelUnavailable"
    assert verify_events([e.data for e in events])["ok"]
