"""The events a workflow hands to its model call are written first, or nothing is.

The planning activity runs with the real model client against the fake LLM
over HTTP; the event log is a sink that records each write, or refuses the
first one as an unreachable Redis would.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from temporalio.testing import ActivityEnvironment

from agent_core import events as ev
from agent_core.errors import EventLogUnavailable
from agent_core.models import (
    ConversationStatus,
    EventRecord,
    Message,
    PlanTurnInput,
    TurnContext,
)
from fake_llm import Reply
from tests.support.stack import stack_settings
from worker_llm.activities import LLMActivities
from worker_llm.chat_model import chat_model_for
from worker_llm.main import agent_config


class Log:
    """Keeps every write in order; refuses the first ``refuse`` of them."""

    def __init__(self, refuse: int = 0) -> None:
        self.writes: list[list[str]] = []
        self._refuse = refuse

    async def publish(self, conversation_id: str, events: Sequence[EventRecord]) -> None:
        if self._refuse:
            self._refuse -= 1
            raise EventLogUnavailable("unreachable")
        self.writes.append([e.key for e in events])


def _handed(seq: int) -> list[EventRecord]:
    return [ev.status_changed(seq, ConversationStatus.THINKING).numbered(7).record()]


async def _plan(client, fake_llm, redis_url, log: Log):
    fake_llm.script("plan", Reply.say("Melbourne has a comedy festival in April."))
    settings = stack_settings(client, fake_llm, redis_url)
    activities = LLMActivities(chat_model_for(settings), log, agent_config(settings))
    context = TurnContext(
        conversation_id=uuid.uuid4().hex,
        goal_id="travel",
        summary="",
        window=[Message(seq=1, role="user", text="Anything on in Melbourne in April?")],
        seq=1,
        max_attempts=1,
    )
    plan = PlanTurnInput(context=context, call_id="call-1", show_confirm=True, events=_handed(1))
    return await ActivityEnvironment().run(activities.plan_step, plan)


async def test_the_handed_events_are_written_before_the_text(client, fake_llm, redis_url):
    log = Log()
    step = await _plan(client, fake_llm, redis_url, log)
    assert log.writes[0] == ["w7"]
    streamed = [key for write in log.writes[1:] for key in write]
    assert streamed[0].endswith("/start") and streamed[-1].endswith("/end")
    assert step.message_id is not None and step.message_id in streamed[0]


async def test_nothing_is_streamed_when_the_log_refused_them(client, fake_llm, redis_url):
    """No text may come before them: the workflow sends the answer whole, after them."""
    log = Log(refuse=1)
    step = await _plan(client, fake_llm, redis_url, log)
    assert log.writes == []
    assert step.message_id is None
    assert step.response == "Melbourne has a comedy festival in April."
