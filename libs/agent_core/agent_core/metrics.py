"""Prometheus metrics of the workers (the gateway keeps its own in agent_api).

Defined once at import on the default registry; each worker serves them on
``METRICS_PORT``. Label values are bounded (tool names, outcomes, kinds, the
configured models).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = [
    "EVENTS_PUBLISHED",
    "LLM_CALLS",
    "LLM_LATENCY",
    "LLM_TOKENS",
    "PUBLISH_LATENCY",
    "TOOL_FAILURES",
    "TOOL_LATENCY",
    "TURNS",
]

TURNS = Counter("agent_turns_total", "Agent turns planned, by outcome", ["next"])
LLM_LATENCY = Histogram(
    "agent_llm_call_seconds",
    "Model call latency, by kind (plan, summarize) and model",
    ["kind", "model"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
LLM_TOKENS = Counter(
    "agent_llm_tokens_total",
    "Tokens the provider counted, by model, kind and direction (prompt, completion)",
    ["model", "kind", "direction"],
)
LLM_CALLS = Counter(
    "agent_llm_calls_total",
    "Model calls, by kind, model and outcome (ok, repaired, empty, truncated, malformed, error)",
    ["kind", "model", "outcome"],
)
TOOL_LATENCY = Histogram(
    "agent_tool_seconds",
    "Tool run latency, by tool",
    ["tool"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 30),
)
TOOL_FAILURES = Counter("agent_tool_failures_total", "Tool runs that failed, by tool", ["tool"])
PUBLISH_LATENCY = Histogram(
    "agent_event_publish_seconds",
    "Time to write one batch of the workflow's events to the log",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1),
)
EVENTS_PUBLISHED = Counter("agent_events_published_total", "Workflow events written to the log")
