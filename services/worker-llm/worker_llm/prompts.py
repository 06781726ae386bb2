"""What the model is told: system prompts, tool definitions, message rendering.

Pure functions of the goal, the summary and the recent window, so the LLM
activity stays a thin loop around the model call and tests can read exactly
what a model would see.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from agent_core.models import McpTool, Message, TurnContext
from agent_core.registry import (
    GOALS,
    SWITCH_GOAL_TOOL,
    Goal,
    ToolSpec,
    get_goal,
    goal_tools,
    switch_goal_parameters,
)

__all__ = [
    "DONE_TOOL",
    "REFUSE_TOOL",
    "plan_messages",
    "plan_tools",
    "render_window",
    "summary_messages",
]

DONE_TOOL = "done"
REFUSE_TOOL = "refuse"
# a tool result is cut to this many characters in a prompt, so one large result never fills the model's context
TOOL_OUTPUT_CHARS = 16_000

_DONE_SPEC: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": DONE_TOOL,
        "description": "Call when the goal is fully achieved and the conversation can end.",
        "parameters": {
            "type": "object",
            "properties": {"summary": {"type": "string", "description": "What was achieved."}},
            "required": ["summary"],
        },
    },
}

_REFUSE_SPEC: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": REFUSE_TOOL,
        "description": "Call instead of answering when the user's latest message asks for "
        "something unrelated to your goal.",
        "parameters": {
            "type": "object",
            "properties": {
                "reason": {
                    "type": "string",
                    "description": "A short, friendly reason that says what you can help with.",
                },
            },
            "required": ["reason"],
        },
    },
}


def _tool_spec(tool: ToolSpec | McpTool) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }


def _switch_spec(goal_id: str) -> dict[str, Any]:
    """``switch_goal``, listing the other goals: proposed and confirmed like any tool."""
    others = [g for g in GOALS.values() if g.id != goal_id]
    choices = "; ".join(f"{g.id}: {g.description}" for g in others)
    description = (
        "Move the conversation to another goal when the user asks for something it serves; "
        f"its agent takes over with the same conversation. The goals: {choices}"
    )
    parameters = switch_goal_parameters(g.id for g in others)
    return {
        "type": "function",
        "function": {
            "name": SWITCH_GOAL_TOOL,
            "description": description,
            "parameters": parameters,
        },
    }


def plan_tools(
    goal_id: str,
    allow_refusal: bool = False,
    withheld: Collection[str] = (),
    mcp_tools: Sequence[McpTool] = (),
) -> list[dict[str, Any]]:
    """The goal's tools in OpenAI format (the registry's, then the ``mcp_tools``
    its MCP servers listed, their input schemas as they are) and the built-in
    ``switch_goal`` (but the ``withheld`` ones: policy ``never``), ``done`` and,
    when the newest input is the user's, ``refuse``: one call both judges and plans."""
    refuse = [_REFUSE_SPEC] if allow_refusal else []
    native = [t for t in goal_tools(goal_id) if t.name not in withheld]
    tools = [_tool_spec(t) for t in (*native, *mcp_tools) if t.name not in withheld]
    switch = [] if SWITCH_GOAL_TOOL in withheld else [_switch_spec(goal_id)]
    return [*tools, *switch, _DONE_SPEC, *refuse]


def _goal_brief(goal: Goal) -> str:
    return f"You are {goal.agent_name}. Your goal: {goal.description}"


def _summary_note(summary: str) -> list[dict[str, Any]]:
    return (
        [{"role": "system", "content": f"Summary of the earlier conversation:\n{summary}"}]
        if summary
        else []
    )


def plan_messages(
    context: TurnContext, allow_refusal: bool = False, can_switch: bool = False
) -> list[dict[str, Any]]:
    """The planner's messages; ``can_switch``: ``switch_goal`` is offered, so a
    request another goal serves is a reason to move there, not to refuse."""
    goal = get_goal(context.goal_id)
    elsewhere = (
        f"if another goal serves it, propose `{SWITCH_GOAL_TOOL}` to move there; if none does, "
        if can_switch
        else "if it asks for something unrelated to the goal, "
    )
    judge = (
        "First judge the user's latest message: answers to your questions, confirmations, "
        f"greetings, corrections and anything about the goal belong here; {elsewhere}"
        f"call `{REFUSE_TOOL}` instead of answering.\n\n"
        if allow_refusal
        else ""
    )
    system = (
        f"{_goal_brief(goal)}\n\n{judge}"
        "Work towards the goal one step at a time. Ask the user for anything a tool needs that "
        "you do not know yet; never invent argument values. When you have every argument a tool "
        "needs, say in one or two sentences what you will do and call the tool: the user may be "
        "asked to confirm it, or change its arguments, before it runs. After a tool result, tell the user the outcome. A tool result "
        "with ok=false failed: say so plainly and suggest what to do. When the goal is achieved, "
        f"call `{DONE_TOOL}`.\n\nExample conversation:\n{goal.example_conversation}"
    )
    return [
        {"role": "system", "content": system},
        *_summary_note(context.summary),
        *render_window(context.window),
    ]


def summary_messages(previous_summary: str, messages: list[Message]) -> list[dict[str, Any]]:
    transcript = "\n".join(f"{m.role}: {m.text}" for m in messages)
    system = (
        "Summarise this conversation between a user and an agent for the agent's own memory: "
        "keep every fact the user gave (names, dates, places, ids, amounts), every tool result "
        "that still matters and what is still open. At most 200 words."
    )
    body = (
        f"Earlier summary:\n{previous_summary}\n\nNew messages:\n{transcript}"
        if previous_summary
        else transcript
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": body}]


def render_window(window: list[Message]) -> list[dict[str, Any]]:
    """Transcript lines as OpenAI messages, keeping tool calls paired with results.

    A tool message is only valid right after the assistant message that made
    the call: a result whose call fell out of the window is rendered as a note,
    and a proposal that never got a result (superseded, still pending) loses
    its ``tool_calls``. A result of a call the user edited says what ran.
    """
    answered = {m.tool_result.call_id for m in window if m.role == "tool" and m.tool_result}
    proposals = {
        m.tool_call.id: m.tool_call.args for m in window if m.role == "agent" and m.tool_call
    }
    proposed: set[str] = set()
    rendered: list[dict[str, Any]] = []
    for m in window:
        if m.role == "user":
            rendered.append({"role": "user", "content": m.text})
        elif m.role == "agent":
            rendered.append(_render_agent(m, answered, proposed))
        elif m.tool_result:
            rendered.append(_render_tool(m, proposed, proposals))
    return rendered


def _render_agent(m: Message, answered: set[str], proposed: set[str]) -> dict[str, Any]:
    call = m.tool_call
    if call is None or call.id not in answered:
        text = (
            m.text if call is None else f"{m.text}\n(proposed {call.name} {json.dumps(call.args)})"
        )
        return {"role": "assistant", "content": text}
    proposed.add(call.id)
    function = {"name": call.name, "arguments": json.dumps(call.args)}
    return {
        "role": "assistant",
        "content": m.text,
        "tool_calls": [{"id": call.id, "type": "function", "function": function}],
    }


def _render_tool(
    m: Message, proposed: set[str], proposals: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    result = m.tool_result
    assert result is not None
    ran = m.tool_call
    edited = (
        {"edited_by_user": {"args": ran.args}}
        if ran is not None and ran.id in proposals and proposals[ran.id] != ran.args
        else {}
    )
    content = json.dumps(
        {"ok": result.ok, "output": _bounded(result.output), "error": result.error}
        | _rejection(m)
        | edited
    )
    if result.call_id in proposed:
        return {"role": "tool", "tool_call_id": result.call_id, "content": content}
    return {"role": "user", "content": f"[result of {result.name}: {content}]"}


def _bounded(output: dict[str, Any] | None) -> Any:
    """A large tool result reaches the model cut to its first ``TOOL_OUTPUT_CHARS``
    characters (the transcript and the archive keep it whole)."""
    text = json.dumps(output)
    if len(text) <= TOOL_OUTPUT_CHARS:
        return output
    return {
        "truncated": f"the first {TOOL_OUTPUT_CHARS} of {len(text)} characters",
        "start": text[:TOOL_OUTPUT_CHARS],
    }


def _rejection(m: Message) -> dict[str, Any]:
    output = m.tool_result.output if m.tool_result else None
    if output and output.get("rejected"):
        return {"rejected": True, "reason": output.get("reason")}
    return {}
