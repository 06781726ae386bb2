"""Tool definitions and messages the fake LLM's tests send, as the worker would."""

from __future__ import annotations

import json
from typing import Any


def tool(name: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    description = f"Does {name.replace('_', ' ')}."
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": schema},
    }


FIND_EVENTS = tool(
    "find_events",
    {"city": {"type": "string", "examples": ["Melbourne"]}, "month": {"type": "string"}},
    ["city", "month"],
)
SEARCH_FLIGHTS = tool(
    "search_flights",
    {"origin": {"type": "string", "examples": ["Sydney"]}, "seats": {"type": "integer"}},
    ["origin"],
)
DONE = tool("done", {"summary": {"type": "string"}}, ["summary"])
VALIDATION = tool(
    "report_validation", {"valid": {"type": "boolean"}, "reason": {"type": "string"}}, ["valid"]
)
PLAN_TOOLS = [FIND_EVENTS, SEARCH_FLIGHTS, DONE]
USER = [{"role": "user", "content": "I want to see an event in Melbourne in April, from Sydney"}]


def tool_turn(call_id: str, name: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}
    return [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": json.dumps(result)},
    ]
