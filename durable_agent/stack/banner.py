"""What the supervisor tells the user before starting and once everything is up.

Pure: each function returns ``(level, text)`` lines for :meth:`Console.say`, so
the wording can be tested without a stack.
"""

from __future__ import annotations

from pathlib import Path

from durable_agent.stack.plan import Plan

Lines = list[tuple[str, str]]

_RULE = "-" * 72
_FAKE_LLM_WARNING = (
    "*" * 72,
    "*  No model configured: using the FAKE LLM (reads your words, no real LLM).",
    "*  For a real model: LLM_MODEL=openai/gpt-4o-mini OPENAI_API_KEY=... make run",
    "*" * 72,
)


def starting_lines(plan: Plan, data_dir: Path) -> Lines:
    """The plan's notes, the fake-LLM warning, and what starts where."""
    lines = list(plan.notes)
    if "fake-llm" in plan.parts:
        lines += [("warn", line) for line in _FAKE_LLM_WARNING]
    lines.append(("info", f"data directory: {data_dir}"))
    urls = plan.urls
    soon = [f"gateway {urls['gateway']}"] if "gateway" in urls else []
    soon += [f"Temporal UI {urls['temporal_ui']}"] if "temporal_ui" in urls else []
    where = f" (then: {', '.join(soon)})" if soon else ""
    lines.append(("info", "starting " + ", ".join(plan.parts) + where))
    return lines


def ready_lines(plan: Plan) -> Lines:
    """The "is up" banner: the URLs a user opens, the plan's facts, how to try it."""
    urls = plan.urls
    rows: list[tuple[str, str]] = []
    if "gateway" in urls:
        rows += [
            ("Gateway", urls["gateway"]),
            ("API docs", urls["docs"]),
            ("Web chat", urls["chat"]),
        ]
    if "temporal_ui" in urls:
        rows.append(("Temporal UI", urls["temporal_ui"]))
    rows += plan.facts
    width = max(len(k) for k, _ in rows)
    body = [f"  {key:<{width}}  {value}" for key, value in rows]
    texts = [_RULE, "durable-agent is up", *body, _hint(plan), _RULE]
    return [("ok", text) for text in texts]


def _hint(plan: Plan) -> str:
    """How to try it: the demo needs a key unless the gateway runs in dev mode."""
    api = plan.parts.get("api")
    if api is None:
        return "stop: Ctrl-C (no gateway: started --without api)"
    if api.env.get("API_DEV_MODE") != "true":
        return (
            "try it: DURABLE_AGENT_API_KEY=<one of API_KEYS> make demo"
            " (in another terminal)   stop: Ctrl-C"
        )
    return "try it: make demo (in another terminal)   stop: Ctrl-C"
