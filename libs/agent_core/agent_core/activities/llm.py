"""LLM activities: validate a prompt, plan a turn, summarise older turns.

Each model call streams its text to the event log as it arrives (coalesced)
and returns the whole result to the workflow. Temporal owns retrying: a
retried attempt first voids the text its earlier attempts streamed, so a
client's concatenated deltas always equal the final agent message.
Errors retrying cannot fix (bad credentials, a refused request) and the last
allowed attempt come back as an ``error`` result with a message for the user,
never as a stuck or failed workflow.
"""

from __future__ import annotations

import json
import time
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from agent_core import events as ev
from agent_core.activities.heartbeat import heartbeating
from agent_core.chat_model import ChatModel, ModelReply
from agent_core.errors import (
    BadToolArgs,
    ErrorType,
    ModelAuthError,
    ModelBadRequest,
    ModelError,
    ModelUnavailable,
)
from agent_core.events import EventSink
from agent_core.metrics import LLM_LATENCY, LLM_TOKENS, TURNS
from agent_core.models import (
    AgentConfig,
    AgentStep,
    ConversationStatus,
    PlanTurnInput,
    SummarizeInput,
    ToolCall,
    TurnContext,
    ValidatePromptInput,
    ValidationResult,
)
from agent_core.prompts import (
    DONE_TOOL,
    VALIDATION_TOOL,
    plan_messages,
    plan_tools,
    summary_messages,
    validation_messages,
    validation_tools,
)
from agent_core.registry import get_goal, validate_tool_args

__all__ = ["LLMActivities"]

_USER_ERRORS = {
    ErrorType.MODEL_AUTH: "I can't reach my language model: it refused the credentials. "
    "Please ask the operator to check the LLM API key.",
    ErrorType.MODEL_BAD_REQUEST: "My language model refused the request. "
    "Please try rephrasing, or ask the operator to check the model settings.",
    ErrorType.MODEL_UNAVAILABLE: "My language model is unavailable right now. Please try again in a moment.",
}
_CONFUSED = "Sorry, I lost my train of thought there. Could you say that again?"


class _Malformed(Exception):
    """The model's reply could not be read as a step; the model gets to repair it."""


class TextStream:
    """Publishes one agent message as start, coalesced deltas and end.

    Deltas are flushed when ``min_chars`` are buffered or ``max_delay``
    seconds have passed, bounding the event rate for very chatty models.
    """

    def __init__(
        self,
        sink: EventSink,
        conversation_id: str,
        seq: int,
        message_id: str,
        min_chars: int = 24,
        max_delay: float = 0.05,
    ) -> None:
        self._sink, self._conversation_id, self._seq = sink, conversation_id, seq
        self.message_id = message_id
        self._min_chars, self._max_delay = min_chars, max_delay
        self._buffer = ""
        self._index = 0
        self._last_flush = time.monotonic()
        self.text = ""

    async def start(self) -> None:
        await self._publish(ev.text_start(self._seq, self.message_id))

    async def add(self, delta: str) -> None:
        self._buffer += delta
        self.text += delta
        activity.heartbeat()
        if (
            len(self._buffer) >= self._min_chars
            or time.monotonic() - self._last_flush >= self._max_delay
        ):
            await self.flush()

    async def flush(self) -> None:
        if self._buffer:
            event = ev.text_delta(self._seq, self.message_id, self._index, self._buffer)
            self._index += 1
            self._buffer = ""
            self._last_flush = time.monotonic()
            await self._publish(event)

    async def finish(self, final_text: str) -> None:
        """Stream whatever ``final_text`` adds to what was streamed, then end."""
        if final_text.startswith(self.text):
            await self.add(final_text[len(self.text) :])
        await self.flush()
        await self._publish(
            ev.text_end(self._seq, self.message_id),
            ev.agent_message(self._seq, self.message_id, final_text),
        )

    async def void(self) -> None:
        await self._publish(ev.text_voided(self._seq, self.message_id))

    async def _publish(self, *events: ev.ConversationEvent) -> None:
        await self._sink.publish(self._conversation_id, events)


class LLMActivities:
    """Model-facing activities; the model and the event sink come in from the worker."""

    def __init__(
        self, model: ChatModel, sink: EventSink, config: AgentConfig, max_repairs: int = 2
    ) -> None:
        self._model = model
        self._sink = sink
        self._config = config
        self._max_repairs = max_repairs

    @activity.defn
    async def load_config(self) -> AgentConfig:
        """Behaviour settings, read once per conversation so replay sees the same."""
        return self._config

    @activity.defn
    async def validate_prompt(self, input: ValidatePromptInput) -> ValidationResult:
        """Check a user prompt against the goal. Unreadable verdicts count as valid."""
        ctx, prompt = input.context, input.prompt
        await self._publish(ctx, ev.user_message(prompt.seq, prompt.text), *self._turn_opened(ctx))
        try:
            reply = await self._call(
                "validate",
                validation_messages(ctx, prompt.text),
                validation_tools(),
                force_tool=VALIDATION_TOOL,
            )
        except ModelError as exc:
            code = self._error_code(exc, ctx)
            await self._answer(ctx, f"msg-{ctx.seq}-validate", _USER_ERRORS[code], error=code)
            return ValidationResult(valid=False, reason=_USER_ERRORS[code], error=code)
        verdict = _read_validation(reply)
        if not verdict.valid:
            await self._answer(ctx, f"msg-{ctx.seq}-validate", verdict.reason)
        return verdict

    @activity.defn
    async def plan_turn(self, input: PlanTurnInput) -> AgentStep:
        """Ask the model for the next step, streaming its text as it comes."""
        ctx = input.context
        attempt = activity.info().attempt
        await self._publish(ctx, *self._turn_opened(ctx), *self._voids(ctx.seq, attempt))
        messages = plan_messages(ctx)
        tools = plan_tools(ctx.goal_id)
        for repair in range(self._max_repairs + 1):
            stream = TextStream(
                self._sink, ctx.conversation_id, ctx.seq, f"msg-{ctx.seq}-{attempt}-{repair}"
            )
            await stream.start()
            try:
                reply = await self._call("plan", messages, tools, on_text=stream.add)
                step = _read_step(reply, ctx.goal_id, input.call_id)
            except ModelError as exc:
                await stream.void()
                code = self._error_code(exc, ctx)
                await self._answer(
                    ctx, f"msg-{ctx.seq}-{attempt}-error", _USER_ERRORS[code], error=code
                )
                return AgentStep(next="question", response=_USER_ERRORS[code], error=code)
            except _Malformed as exc:
                await stream.void()
                messages = [
                    *messages,
                    {"role": "assistant", "content": reply.text},
                    {
                        "role": "user",
                        "content": f"(system) Your last reply could not be used: {exc}. "
                        "Reply again, following the instructions.",
                    },
                ]
                continue
            await self._close_turn(ctx, stream, step, input.show_confirm)
            return step
        step = AgentStep(next="question", response=_CONFUSED)
        await self._answer(ctx, f"msg-{ctx.seq}-{attempt}-confused", _CONFUSED)
        return step

    @activity.defn
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
        on_text: Any = None,
        force_tool: str | None = None,
    ) -> ModelReply:
        started = time.monotonic()
        try:
            async with heartbeating():
                reply = await self._model.complete(
                    messages, tools, on_text=on_text, force_tool=force_tool
                )
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

    def _turn_opened(self, ctx: TurnContext) -> list[ev.ConversationEvent]:
        return [
            ev.run_started(ctx.conversation_id, ctx.seq),
            ev.status_changed(ctx.seq, ConversationStatus.THINKING),
        ]

    def _voids(self, seq: int, attempt: int) -> list[ev.ConversationEvent]:
        return [
            ev.text_voided(seq, f"msg-{seq}-{a}-{r}")
            for a in range(1, attempt)
            for r in range(self._max_repairs + 1)
        ]

    async def _answer(
        self, ctx: TurnContext, message_id: str, text: str, error: str | None = None
    ) -> None:
        """Publish a whole agent message that did not come from streaming, and close the turn."""
        stream = TextStream(self._sink, ctx.conversation_id, ctx.seq, message_id)
        await stream.start()
        await stream.finish(text)
        run_end = (
            ev.run_error(ctx.seq, error, text)
            if error
            else ev.run_finished(ctx.conversation_id, ctx.seq)
        )
        await self._publish(
            ctx, run_end, ev.status_changed(ctx.seq, ConversationStatus.AWAITING_INPUT)
        )

    async def _close_turn(
        self, ctx: TurnContext, stream: TextStream, step: AgentStep, show_confirm: bool
    ) -> None:
        TURNS.labels(step.next).inc()
        await stream.finish(step.response)
        closing: list[ev.ConversationEvent] = []
        status = ConversationStatus.AWAITING_INPUT
        if step.next == "confirm" and step.tool_call:
            closing += ev.tool_call_proposed(
                ctx.seq, step.tool_call, awaiting_confirmation=show_confirm
            )
            # without confirmation the tool runs next and reports its own status
            status = (
                ConversationStatus.AWAITING_CONFIRMATION
                if show_confirm
                else ConversationStatus.RUNNING_TOOL
            )
        elif step.next == "done":
            status = ConversationStatus.ENDED
        # the status goes last: "ended" is the stream's final event
        closing += [
            ev.run_finished(ctx.conversation_id, ctx.seq),
            ev.status_changed(ctx.seq, status),
        ]
        await self._publish(ctx, *closing)

    async def _publish(self, ctx: TurnContext, *events: ev.ConversationEvent) -> None:
        await self._sink.publish(ctx.conversation_id, events)


def _read_validation(reply: ModelReply) -> ValidationResult:
    for call in reply.tool_calls:
        if call.name == VALIDATION_TOOL:
            try:
                args = json.loads(call.arguments)
                return ValidationResult(
                    valid=bool(args["valid"]), reason=str(args.get("reason") or "")
                )
            except (ValueError, KeyError, TypeError):
                break
    return ValidationResult(valid=True)


def _read_step(reply: ModelReply, goal_id: str, call_id: str) -> AgentStep:
    """Turn a model reply into a step; raise ``_Malformed`` for what cannot be used."""
    text = reply.text.strip()
    if not reply.tool_calls:
        if not text:
            raise _Malformed("it was empty")
        return AgentStep(next="question", response=reply.text)
    call = reply.tool_calls[0]
    try:
        args = json.loads(call.arguments or "{}")
    except ValueError:
        raise _Malformed(f"the arguments of {call.name} were not valid JSON") from None
    if not isinstance(args, dict):
        raise _Malformed(f"the arguments of {call.name} were not a JSON object")
    if call.name == DONE_TOOL:
        return AgentStep(
            next="done", response=reply.text or str(args.get("summary") or "All done.")
        )
    if call.name not in get_goal(goal_id).tools:
        raise _Malformed(f"there is no tool named {call.name!r}")
    return _propose(reply.text, ToolCall(id=call_id, name=call.name, args=args))


def _propose(text: str, call: ToolCall) -> AgentStep:
    """A proposal, or a question for the arguments the model could not fill in."""
    try:
        validate_tool_args(call.name, call.args)
    except BadToolArgs as exc:
        ask = f"To use {call.name} I still need: " + "; ".join(exc.problems) + "."
        return AgentStep(next="question", response=f"{text}\n\n{ask}" if text else ask)
    return AgentStep(
        next="confirm", response=text or f"I'd like to run {call.name}.", tool_call=call
    )
