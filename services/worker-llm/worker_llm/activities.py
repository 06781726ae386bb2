"""LLM activities: plan a step (one model call per turn), summarise older turns.

A planning call streams its text to the event log as it arrives (coalesced)
and returns the whole step to the workflow, which announces it. For a user's
message the same call may refuse it as off the goal, so a user turn costs one
model call. Temporal owns retrying: a retried attempt first closes and voids
the text its earlier attempts streamed, so a client's concatenated deltas
always equal the final agent message. Errors retrying cannot fix (bad
credentials, a refused request) and the last allowed attempt come back as a
step with an ``error`` and a message for the user, never as a stuck or
failed workflow.
"""

from __future__ import annotations

import time
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from agent_core import activity_names as act
from agent_core import events as ev
from agent_core.chat_model import ChatModel, ModelReply, OnText
from agent_core.errors import (
    ErrorType,
    ModelAuthError,
    ModelBadRequest,
    ModelError,
    ModelUnavailable,
)
from agent_core.events import EventSink, publish_quietly
from agent_core.heartbeat import heartbeating
from agent_core.metrics import LLM_LATENCY, LLM_TOKENS, TURNS
from agent_core.models import AgentConfig, AgentStep, PlanTurnInput, SummarizeInput, TurnContext
from agent_core.registry import SWITCH_GOAL_TOOL
from worker_llm.prompts import plan_messages, plan_tools, summary_messages
from worker_llm.replies import Malformed, read_step
from worker_llm.text_stream import TextStream

__all__ = ["LLMActivities"]

_USER_ERRORS = {
    ErrorType.MODEL_AUTH: "I can't reach my language model: it refused the credentials. "
    "Please ask the operator to check the LLM API key.",
    ErrorType.MODEL_BAD_REQUEST: "My language model refused the request. "
    "Please try rephrasing, or ask the operator to check the model settings.",
    ErrorType.MODEL_UNAVAILABLE: "My language model is unavailable right now. Please try again in a moment.",
}
_CONFUSED = "Sorry, I lost my train of thought there. Could you say that again?"


class LLMActivities:
    """Model-facing activities; the model and the event sink come in from the worker."""

    def __init__(self, model: ChatModel, sink: EventSink, config: AgentConfig) -> None:
        self._model = model
        self._sink = sink
        self._config = config

    @activity.defn(name=act.LOAD_CONFIG)
    async def load_config(self) -> AgentConfig:
        """Behaviour settings, read once per conversation so replay sees the same."""
        return self._config

    @activity.defn(name=act.PLAN_STEP)
    async def plan_step(self, input: PlanTurnInput) -> AgentStep:
        """Ask the model for the next step, streaming its text as it comes."""
        ctx = input.context
        attempt = activity.info().attempt
        await self._void_earlier_attempts(ctx, attempt)
        can_switch = SWITCH_GOAL_TOOL not in input.withheld_tools
        messages = plan_messages(ctx, input.allow_refusal, can_switch)
        tools = plan_tools(ctx.goal_id, input.allow_refusal, input.withheld_tools, input.mcp_tools)
        for repair in range(self._config.max_repairs + 1):
            stream = TextStream(
                self._sink, ctx.conversation_id, ctx.seq, ev.message_id(ctx.seq, attempt, repair)
            )
            await stream.start()
            try:
                reply = await self._call("plan", messages, tools, on_text=stream.add)
                step = read_step(
                    reply,
                    ctx.goal_id,
                    input.call_id,
                    input.allow_refusal,
                    input.withheld_tools,
                    input.mcp_tools,
                )
            except ModelError as exc:
                await stream.void()
                code = self._error_code(exc, ctx)
                return AgentStep(next="question", response=_USER_ERRORS[code], error=code)
            except Malformed as exc:
                await stream.void()
                messages = [*messages, *_repair_request(reply, exc)]
                continue
            TURNS.labels(step.next).inc()
            await stream.finish(step.response)
            stale = ev.attempt_messages(ctx.seq, attempt - 1, self._config.max_repairs)
            stale += [ev.message_id(ctx.seq, attempt, r) for r in range(repair)]
            return step.model_copy(
                update={"message_id": stream.message_id, "stale_messages": stale}
            )
        return AgentStep(next="question", response=_CONFUSED)

    @activity.defn(name=act.SUMMARIZE)
    async def summarize(self, input: SummarizeInput) -> str:
        """A model-written summary of older turns: what the model sees of them."""
        try:
            reply = await self._call(
                "summarize", summary_messages(input.previous_summary, input.messages), None
            )
        except ModelError:
            raise ApplicationError(
                "summary unavailable", type=ErrorType.MODEL_UNAVAILABLE
            ) from None
        return reply.text.strip() or input.previous_summary

    # ---- helpers -----------------------------------------------------------------

    async def _call(
        self,
        kind: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        on_text: OnText | None = None,
    ) -> ModelReply:
        started = time.monotonic()
        try:
            async with heartbeating():
                reply = await self._model.complete(messages, tools, on_text=on_text)
        finally:
            LLM_LATENCY.labels(kind).observe(time.monotonic() - started)
        LLM_TOKENS.labels("prompt").inc(reply.prompt_tokens)
        LLM_TOKENS.labels("completion").inc(reply.completion_tokens)
        return reply

    def _error_code(self, exc: ModelError, ctx: TurnContext) -> str:
        """Map a model error to a user-facing code, or raise to let Temporal retry."""
        if isinstance(exc, ModelAuthError):
            return ErrorType.MODEL_AUTH
        if isinstance(exc, ModelBadRequest):
            return ErrorType.MODEL_BAD_REQUEST
        if isinstance(exc, ModelUnavailable) and activity.info().attempt < ctx.max_attempts:
            raise ApplicationError(str(exc), type=ErrorType.MODEL_UNAVAILABLE) from exc
        return ErrorType.MODEL_UNAVAILABLE

    async def _void_earlier_attempts(self, ctx: TurnContext, attempt: int) -> None:
        """Close and void what earlier attempts of this call streamed (if anything)."""
        mids = ev.attempt_messages(ctx.seq, attempt - 1, self._config.max_repairs)
        if mids:
            events = ev.close_messages(ctx.seq, mids)
            await publish_quietly(self._sink, ctx.conversation_id, events)


def _repair_request(reply: ModelReply, problem: Malformed) -> list[dict[str, Any]]:
    return [
        {"role": "assistant", "content": reply.text},
        {
            "role": "user",
            "content": f"(system) Your last reply could not be used: {problem}. "
            "Reply again, following the instructions.",
        },
    ]
