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

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from agent_core import activity_names as act
from agent_core import events as ev
from agent_core.chat_model import ChatModel, ModelReply
from agent_core.errors import (
    ErrorType,
    ModelAuthError,
    ModelBadRequest,
    ModelError,
    ModelUnavailable,
)
from agent_core.events import EventSink, publish_quietly, publish_records_quietly
from agent_core.heartbeat import heartbeating
from agent_core.metrics import LLM_CALLS, LLM_LATENCY, LLM_TOKENS, TURNS
from agent_core.models import (
    AgentConfig,
    AgentStep,
    PlanTurnInput,
    SummarizeInput,
    TokenUsage,
    TurnContext,
)
from agent_core.registry import SWITCH_GOAL_TOOL
from worker_llm.context_budget import fit_prompt, prompt_budget
from worker_llm.prompts import plan_messages, plan_tools, summary_messages
from worker_llm.replies import Malformed, read_step
from worker_llm.text_stream import TextStream

__all__ = ["CallLimits", "LLMActivities", "NamedModel"]

log = logging.getLogger(__name__)

_BAD_REPLY = (
    "The model's reply was {problem}, even after I asked again. "
    "Please rephrase or try again; if it keeps happening, ask the operator to check "
    "the model's token limits (LLM_MAX_TOKENS_PLAN, LLM_CONTEXT_TOKENS)."
)
_MARGIN_SECONDS = 1.0  # at most, of an attempt's start-to-close, kept for the answer


@dataclass(frozen=True)
class NamedModel:
    """A model client and the model string it calls (logs, metrics, the transcript)."""

    name: str
    client: ChatModel


@dataclass(frozen=True)
class CallLimits:
    """Bounds of every call: the reply's tokens per kind, and the context window."""

    max_tokens: dict[str, int] = field(default_factory=lambda: {"plan": 1024, "summarize": 512})
    context_tokens: int = 8192

    def budget(self, kind: str) -> int:
        return prompt_budget(self.context_tokens, self.max_tokens[kind])


def _user_error(exc: ModelError, code: str) -> str:
    """What the user is told when the model cannot be used; says what the operator fixes."""
    status = f" ({exc.status})" if exc.status else ""
    if code == ErrorType.MODEL_AUTH:
        return (
            f"The model provider refused the credentials{status}. "
            "Please ask the operator to check the LLM API key and its permissions."
        )
    if code == ErrorType.MODEL_BAD_REQUEST:
        return (
            f"My language model refused the request{status}. "
            "Please try rephrasing, or ask the operator to check the model settings."
        )
    return "My language model is unavailable right now. Please try again in a moment."


class _Tally:
    """What one activity's calls used, which model answered, and when the attempt's
    start-to-close timeout will cut it (read on this worker's clock at the start, so
    no clock skew with the server counts)."""

    def __init__(self) -> None:
        timeout = activity.info().start_to_close_timeout
        seconds = timeout.total_seconds() if timeout else 0.0
        margin = min(_MARGIN_SECONDS, seconds / 10)  # for the answer to get back
        self.deadline = time.monotonic() + seconds - margin if timeout else None
        self.usage = TokenUsage()
        self.model: str | None = None
        self.elapsed = 0.0  # seconds the last call took

    def add(self, reply: ModelReply) -> None:
        self.usage = self.usage.plus(
            TokenUsage(prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens)
        )


class LLMActivities:
    """Model-facing activities; the models (primary first, then fallbacks), the
    event sink and the call limits come in from the worker."""

    def __init__(
        self,
        models: ChatModel | Sequence[NamedModel],
        sink: EventSink,
        config: AgentConfig,
        limits: CallLimits | None = None,
    ) -> None:
        self._models = (
            list(models)
            if isinstance(models, Sequence)
            else [NamedModel(getattr(models, "name", "model"), models)]
        )
        self._sink = sink
        self._config = config.model_copy(update={"models": len(self._models)})
        self._limits = limits or CallLimits()

    @activity.defn(name=act.LOAD_CONFIG)
    async def load_config(self) -> AgentConfig:
        """Behaviour settings, read once per conversation so replay sees the same."""
        return self._config

    @activity.defn(name=act.PLAN_STEP)
    async def plan_step(self, input: PlanTurnInput) -> AgentStep:
        """Ask the model for the next step, streaming its text as it comes; an unusable
        reply (empty, cut off, malformed) is repaired up to ``LLM_MAX_REPAIRS`` times."""
        ctx = input.context
        attempt = activity.info().attempt
        # the workflow's events queued before this call go first; if the log refused
        # them, nothing is streamed (no text may precede them): the workflow sends
        # the answer whole, after them
        silent = bool(input.events) and not await publish_records_quietly(
            self._sink, ctx.conversation_id, input.events
        )
        await self._void_earlier_attempts(ctx, attempt)
        can_switch = SWITCH_GOAL_TOOL not in input.withheld_tools
        tools = plan_tools(ctx.goal_id, input.allow_refusal, input.withheld_tools, input.mcp_tools)
        messages = fit_prompt(
            plan_messages(ctx, input.allow_refusal, can_switch), tools, self._limits.budget("plan")
        )
        tally, voided, first = _Tally(), [], 0
        problem = Malformed("it was empty", brief="empty")
        for repair in range(self._config.max_repairs + 1):
            try:
                reply, first, stream = await self._answer(
                    ctx, attempt, repair, first, messages, tools, tally, voided, silent
                )
            except ModelError as exc:
                code = self._error_code(exc, ctx)
                return _failed(_user_error(exc, code), code, tally, voided)
            try:
                step = read_step(
                    reply,
                    ctx.goal_id,
                    input.call_id,
                    input.allow_refusal,
                    input.withheld_tools,
                    input.mcp_tools,
                )
            except Malformed as exc:
                _log_call("plan", tally.model, reply, tally.elapsed, _outcome(exc))
                await stream.void()
                voided.append(stream.message_id)
                messages, problem = [*messages, *_repair_request(reply, exc)], exc
                continue
            _log_call("plan", tally.model, reply, tally.elapsed, "repaired" if repair else "ok")
            TURNS.labels(step.next).inc()
            await stream.finish(step.response)
            stale = ev.attempt_messages(
                ctx.seq, attempt - 1, self._config.max_repairs, len(self._models)
            )
            return step.model_copy(
                update={
                    "message_id": None if silent else stream.message_id,
                    "stale_messages": stale + voided,
                    "model": tally.model,
                    "usage": tally.usage,
                }
            )
        response = _BAD_REPLY.format(problem=problem.brief)
        return _failed(response, ErrorType.MODEL_BAD_REPLY, tally, voided)

    @activity.defn(name=act.SUMMARIZE)
    async def summarize(self, input: SummarizeInput) -> str:
        """A model-written summary of older turns: what the model sees of them.
        Refused credentials or requests are not retried (they would fail again)."""
        messages = summary_messages(input.previous_summary, input.messages)
        messages = fit_prompt(messages, None, self._limits.budget("summarize"))
        tally = _Tally()
        try:
            reply, _ = await self._call_with_fallbacks("summarize", 0, messages, None, tally)
        except (ModelAuthError, ModelBadRequest) as exc:
            code = (
                ErrorType.MODEL_AUTH
                if isinstance(exc, ModelAuthError)
                else ErrorType.MODEL_BAD_REQUEST
            )
            raise ApplicationError(_user_error(exc, code), type=code, non_retryable=True) from None
        except ModelError:
            raise _retry("summary unavailable") from None
        outcome = "truncated" if reply.truncated else "empty" if not reply.text.strip() else "ok"
        _log_call("summarize", tally.model, reply, tally.elapsed, outcome)
        return reply.text.strip() or input.previous_summary

    # ---- helpers -----------------------------------------------------------------

    async def _answer(
        self,
        ctx: TurnContext,
        attempt: int,
        repair: int,
        first: int,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        tally: _Tally,
        voided: list[str],
        silent: bool = False,
    ) -> tuple[ModelReply, int, TextStream]:
        """One reply, streamed, from the first model (from ``first`` on) that is
        available. Each model streams under a message id of its own, and the text of
        one that fails half-way is voided before the next is asked, so a client
        never sees two models' text as one message."""
        for index in range(first, len(self._models)):
            slot = ev.model_slot(index, repair, self._config.max_repairs)
            mid = ev.message_id(ctx.seq, attempt, slot)
            stream = TextStream(self._sink, ctx.conversation_id, ctx.seq, mid, silent=silent)
            stream.start()
            try:
                reply = await self._call(
                    "plan", self._models[index], messages, tools, stream, tally
                )
                return reply, index, stream
            except ModelError as exc:
                await stream.void()
                voided.append(mid)
                if not isinstance(exc, ModelUnavailable) or index == len(self._models) - 1:
                    raise
            except BaseException:  # given up: no late delta may follow the workflow's close
                stream.cancel()
                raise
        raise AssertionError("unreachable: the last model raises")

    async def _call_with_fallbacks(
        self,
        kind: str,
        first: int,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        tally: _Tally,
    ) -> tuple[ModelReply, int]:
        """An unstreamed call (a summary) to the first available model."""
        for index in range(first, len(self._models)):
            try:
                return await self._call(
                    kind, self._models[index], messages, tools, None, tally
                ), index
            except ModelUnavailable:
                if index == len(self._models) - 1:
                    raise
        raise AssertionError("unreachable: the last model raises")

    async def _call(
        self,
        kind: str,
        model: NamedModel,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        stream: TextStream | None,
        tally: _Tally,
    ) -> ModelReply:
        """One model call, bounded (tokens, the time left in the attempt) and
        measured; a failed call is logged here, a reply where it is judged."""
        started = time.monotonic()
        try:
            async with heartbeating():
                reply = await model.client.complete(
                    messages,
                    tools,
                    on_text=stream.add if stream is not None else None,
                    max_tokens=self._limits.max_tokens[kind],
                    time_limit=_time_left(tally.deadline),
                )
        except ModelError as exc:
            elapsed = time.monotonic() - started
            LLM_LATENCY.labels(kind, model.name).observe(elapsed)
            _log_call(kind, model.name, None, elapsed, f"error {type(exc).__name__}({exc})")
            raise
        tally.elapsed = elapsed = time.monotonic() - started
        LLM_LATENCY.labels(kind, model.name).observe(elapsed)
        LLM_TOKENS.labels(model.name, kind, "prompt").inc(reply.prompt_tokens)
        LLM_TOKENS.labels(model.name, kind, "completion").inc(reply.completion_tokens)
        tally.add(reply)
        tally.model = model.name
        return reply

    def _error_code(self, exc: ModelError, ctx: TurnContext) -> str:
        """Map a model error to a user-facing code, or raise to let Temporal retry."""
        if isinstance(exc, ModelAuthError):
            return ErrorType.MODEL_AUTH
        if isinstance(exc, ModelBadRequest):
            return ErrorType.MODEL_BAD_REQUEST
        if isinstance(exc, ModelUnavailable) and activity.info().attempt < ctx.max_attempts:
            raise _retry(str(exc)) from None
        return ErrorType.MODEL_UNAVAILABLE

    async def _void_earlier_attempts(self, ctx: TurnContext, attempt: int) -> None:
        """Close and void what earlier attempts of this call streamed (if anything)."""
        mids = ev.attempt_messages(
            ctx.seq, attempt - 1, self._config.max_repairs, len(self._models)
        )
        if mids:
            events = ev.close_messages(ctx.seq, mids)
            await publish_quietly(self._sink, ctx.conversation_id, events)


def _failed(response: str, code: str, tally: _Tally, voided: list[str]) -> AgentStep:
    """A step that tells the user why there is no answer; the run ends in RUN_ERROR."""
    return AgentStep(
        next="question",
        response=response,
        error=code,
        model=tally.model,
        usage=tally.usage,
        stale_messages=voided,
    )


def _retry(message: str) -> ApplicationError:
    """An attempt failed for Temporal to retry. Benign: the call already logged its one
    line, so the worker does not log the failure again as a warning with a traceback
    (blank lines and all, in a log that should hold one line per model call)."""
    return ApplicationError(
        message, type=ErrorType.MODEL_UNAVAILABLE, category=ApplicationErrorCategory.BENIGN
    )


def _time_left(deadline: float | None) -> float | None:
    """Seconds this attempt has left before Temporal's start-to-close timeout cuts it:
    a fallback tried late gets the rest, not a whole ``LLM_TIMEOUT_SECONDS``."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise ModelUnavailable("no time left in this attempt")
    return left


def _outcome(problem: Malformed) -> str:
    return {"cut off": "truncated", "empty": "empty"}.get(problem.brief, "malformed")


def _log_call(
    kind: str, model: str | None, reply: ModelReply | None, elapsed: float | None, outcome: str
) -> None:
    """One line per model call: what an operator needs to see a model misbehave."""
    tokens = f"{reply.prompt_tokens}+{reply.completion_tokens}" if reply is not None else "-"
    latency = f"{elapsed:.2f}s" if elapsed is not None else "-"
    log.info(
        "model call kind=%s model=%s tokens=%s latency=%s outcome=%s",
        kind, model, tokens, latency, outcome,
    )  # fmt: skip
    LLM_CALLS.labels(kind, model or "-", outcome.split(" ")[0]).inc()


def _repair_request(reply: ModelReply, problem: Malformed) -> list[dict[str, Any]]:
    return [
        {"role": "assistant", "content": reply.text},
        {
            "role": "user",
            "content": f"(system) Your last reply could not be used: {problem}. "
            "Reply again, following the instructions.",
        },
    ]
