"""Reading a model reply as the agent's next step.

An empty reply, or one cut off at the token limit (``finish_reason`` length),
is malformed too. A reply is a question (text only), a proposal (a goal tool or ``switch_goal``
with arguments), ``done``, or a refusal of the user's message. What cannot be used raises
``Malformed`` so the model gets to repair it; arguments that do not fit the
tool's schema become a question for what is missing.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from agent_core.chat_model import ModelReply
from agent_core.errors import BadToolArgs
from agent_core.models import AgentStep, McpTool, ToolCall
from agent_core.registry import (
    SWITCH_GOAL_TOOL,
    get_goal,
    validate_schema_args,
    validate_tool_args,
)
from worker_llm.prompts import DONE_TOOL, REFUSE_TOOL

__all__ = ["Malformed", "read_step"]


class Malformed(Exception):
    """The model's reply could not be read as a step; the model gets to repair it.
    ``brief`` says how, in the words the user is told once repairs run out."""

    def __init__(self, problem: str, brief: str = "unusable") -> None:
        super().__init__(problem)
        self.brief = brief


def read_step(
    reply: ModelReply,
    goal_id: str,
    call_id: str,
    allow_refusal: bool,
    withheld: Collection[str] = (),
    mcp_tools: Sequence[McpTool] = (),
) -> AgentStep:
    """Turn a model reply into a step; raise ``Malformed`` for what cannot be used
    (a tool the goal does not have, or one ``withheld`` from this conversation).
    ``mcp_tools`` are the goal's MCP tools offered this turn, checked against
    the schemas their servers listed."""
    text = reply.text.strip()
    if reply.truncated:  # whatever came is incomplete, a tool call's arguments too
        raise Malformed(
            "it was cut off at the token limit (finish_reason length); reply more briefly",
            brief="cut off",
        )
    if not reply.tool_calls:
        if not text:
            raise Malformed("it was empty", brief="empty")
        return AgentStep(next="question", response=reply.text)
    call = reply.tool_calls[0]
    try:
        args = json.loads(call.arguments or "{}")
    except ValueError:
        raise Malformed(f"the arguments of {call.name} were not valid JSON") from None
    if not isinstance(args, dict):
        raise Malformed(f"the arguments of {call.name} were not a JSON object")
    if call.name == DONE_TOOL:
        return AgentStep(
            next="done", response=reply.text or str(args.get("summary") or "All done.")
        )
    if call.name == REFUSE_TOOL and allow_refusal:
        reason = str(args.get("reason") or "").strip() or "I can't help with that here."
        response = reason if not text else text if reason in text else f"{reply.text}\n\n{reason}"
        return AgentStep(next="refuse", response=response)
    listed = {t.name: t.parameters for t in mcp_tools}
    offered = call.name in get_goal(goal_id).tools or call.name in (SWITCH_GOAL_TOOL, *listed)
    if not offered or call.name in withheld:
        raise Malformed(f"there is no tool named {call.name!r}")
    call_ = ToolCall(id=call_id, name=call.name, args=args)
    return _propose(reply.text, call_, listed.get(call.name))


def _propose(text: str, call: ToolCall, schema: dict[str, Any] | None = None) -> AgentStep:
    """A proposal, or a question for the arguments the model could not fill in."""
    try:
        if schema is None:
            validate_tool_args(call.name, call.args)
        else:
            validate_schema_args(call.name, schema, call.args)
    except BadToolArgs as exc:
        ask = f"To use {call.name} I still need: " + "; ".join(exc.problems) + "."
        return AgentStep(next="question", response=f"{text}\n\n{ask}" if text else ask)
    return AgentStep(
        next="confirm", response=text or f"I'd like to run {call.name}.", tool_call=call
    )
