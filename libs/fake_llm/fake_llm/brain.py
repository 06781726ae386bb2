"""The auto brain: deterministic answers when no reply is scripted.

It lets the whole product run offline (demos, benchmarks, the local stack)
and lets tests script only the turns they care about. It reads only what a
real model would: the messages and the offered tools. When ``refuse`` is
offered and the user's latest message says "off-topic", the planner refuses
it; when it names another goal offered by ``switch_goal`` ("order tracking"),
it proposes the switch; otherwise it proposes the goal's tools in order until
each has an ``ok: true`` result, with arguments read from the user's words
(``tool_args``), asks for what they do not say, asks the user after a failure
or rejection, then calls ``done``. A goal with no tools but ``switch_goal`` asks which goal
to take. Summaries digest the user messages.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fake_llm.inbound import (
    DONE_TOOL,
    REFUSE_TOOL,
    SWITCH_GOAL_TOOL,
    VALIDATION_TOOL,
    ChatRequest,
    message_text,
)
from fake_llm.replies import Kind, Reply
from fake_llm.tool_args import Reading, ask_text, purpose, read_conversation, resolve

__all__ = ["OFF_TOPIC_REASON", "auto_reply", "plan_reply", "summarize_reply", "validate_reply"]

OFF_TOPIC_REASON = "That request is not part of what I can help with here."
_OFF_TOPIC = re.compile(r"off[\s-]?topic", re.IGNORECASE)
_SUMMARY_LIMIT = 300
_BUILT_INS = (DONE_TOOL, VALIDATION_TOOL, REFUSE_TOOL, SWITCH_GOAL_TOOL)


def auto_reply(chat: ChatRequest, kind: Kind) -> Reply:
    """The brain's answer to a request of this kind."""
    if kind == "validate":
        return validate_reply(chat.messages)
    if kind == "plan":
        return plan_reply(chat.messages, chat.tool_functions())
    return summarize_reply(chat.messages)


def validate_reply(messages: list[dict[str, Any]]) -> Reply:
    """``report_validation``: valid unless the last user message is off-topic."""
    if _OFF_TOPIC.search(message_text(_last_user(messages))):
        return Reply.call(VALIDATION_TOOL, valid=False, reason=OFF_TOPIC_REASON)
    return Reply.call(VALIDATION_TOOL, valid=True, reason="The request fits the goal.")


def plan_reply(messages: list[dict[str, Any]], functions: list[dict[str, Any]]) -> Reply:
    """Refuse an off-topic message, switch to a goal the user named, propose the
    next goal tool, ask after a failure, or finish with ``done``."""
    names = [f["name"] for f in functions]
    if REFUSE_TOOL in names and _OFF_TOPIC.search(message_text(_last_user(messages))):
        return Reply.call(REFUSE_TOOL, reason=OFF_TOPIC_REASON)
    failure = _last_failure(messages)
    if failure is not None:
        return Reply.say(f"That didn't work ({failure}). How would you like to proceed?")
    goals = _switch_choices(functions)
    named = next((g for g in goals if _names_goal(messages, g)), None)
    if named is not None:
        text = f"I'll move this conversation to {named}. Shall I?"
        return Reply.call(SWITCH_GOAL_TOOL, goal=named).replace(text=text)
    goal = [f for f in functions if f["name"] not in _BUILT_INS]
    if not goal and goals:
        return Reply.say(f"Which of these would you like to do: {', '.join(goals)}?")
    reading = read_conversation(messages, functions)
    for function in goal:
        if _settled(function, reading):
            continue
        resolution = resolve(function, reading)
        if resolution.missing:
            return Reply.say(ask_text(function, resolution))
        return _propose(function, resolution.args)
    return _finish([f["name"] for f in goal])


def summarize_reply(messages: list[dict[str, Any]]) -> Reply:
    """ "Summary: " and the user messages, squeezed and truncated."""
    said = [message_text(m) for m in messages if m.get("role") == "user"]
    digest = " | ".join(" ".join(text.split()) for text in said if text.strip())
    if len(digest) > _SUMMARY_LIMIT:
        digest = digest[: _SUMMARY_LIMIT - 3].rstrip() + "..."
    return Reply.say(f"Summary: {digest or '(nothing said yet)'}")


def _switch_choices(functions: list[dict[str, Any]]) -> list[str]:
    """The goal ids ``switch_goal`` offers, if it is offered."""
    for function in functions:
        if function["name"] == SWITCH_GOAL_TOOL:
            goal = function.get("parameters", {}).get("properties", {}).get("goal", {})
            return [str(g) for g in goal.get("enum", [])]
    return []


def _names_goal(messages: list[dict[str, Any]], goal_id: str) -> bool:
    """Whether the newest message is the user's own (not a tool result note) and
    names ``goal_id`` ("order tracking")."""
    if not messages or messages[-1].get("role") != "user":
        return False
    text = message_text(messages[-1]).lower()
    if text.startswith("[result of "):
        return False
    return goal_id in text or goal_id.replace("_", " ") in text


def _last_user(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return next((m for m in reversed(messages) if m.get("role") == "user"), {})


def _settled(function: dict[str, Any], reading: Reading) -> bool:
    """Whether the tool succeeded and nothing the user said since changes its
    arguments ("actually Tokyo" after events in Melbourne runs it again)."""
    at = reading.last_success(function["name"])
    if at is None:
        return False
    then = resolve(function, reading.upto(at)).args
    now = resolve(function, reading).args
    return all(then[key] == now[key] for key in then.keys() & now.keys())


def _propose(function: dict[str, Any], args: dict[str, Any]) -> Reply:
    name = function["name"]
    description = purpose(function)
    given = ", ".join(f"{key} {value}" for key, value in args.items())
    text = f"Next I'll use {name}{f' ({given})' if given else ''}: {description}. Shall I go ahead?"
    return Reply.call(name, **args).replace(text=text)


def _finish(names: list[str]) -> Reply:
    used = ", ".join(names) if names else "nothing"
    reply = Reply.call(DONE_TOOL, summary=f"Completed: {used}.")
    return reply.replace(text=f"All done: I used {used}.")


def _tool_payload(message: dict[str, Any]) -> dict[str, Any] | None:
    try:
        payload = json.loads(message_text(message))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _last_failure(messages: list[dict[str, Any]]) -> str | None:
    """Why the latest tool result failed, if the assistant has not spoken since.

    User messages after it are skipped: the workflow may add its own
    follow-up prompt after a tool result, and that must still get a question.
    """
    for message in reversed(messages):
        role = message.get("role")
        if role == "assistant":
            return None
        if role == "tool":
            payload = _tool_payload(message)
            return _failure_reason(payload) if payload is not None else None
    return None


def _failure_reason(payload: dict[str, Any]) -> str | None:
    if payload.get("rejected"):
        return f"rejected: {_why(payload, 'you declined')}"
    if payload.get("ok") is False:
        return _why(payload, "the tool failed")
    return None


def _why(payload: dict[str, Any], fallback: str) -> str:
    for key in ("reason", "error", "message"):
        value = payload.get(key)
        if value:
            text = value if isinstance(value, str) else json.dumps(value)
            return text if len(text) <= 200 else text[:197] + "..."
    return fallback
