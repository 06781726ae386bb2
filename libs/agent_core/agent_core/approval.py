"""Approval policy: whether a proposed tool call waits for the user, and which edits hold.

Pure functions of what the workflow holds in its state (the config it
loaded through an activity, the conversation's own overrides), so a replay
decides the same. An edit is checked against the registry's JSON schemas
(an MCP tool's, as its server listed it), the check the tools worker makes
before every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent_core.errors import BadToolArgs
from agent_core.models import AgentConfig, ToolPolicy
from agent_core.registry import validate_schema_args, validate_tool_args

__all__ = ["edit_problems", "policy_of", "withheld_tools"]


def policy_of(
    name: str,
    config: AgentConfig,
    overrides: Mapping[str, ToolPolicy],
    listed: ToolPolicy = ToolPolicy.ASK,
) -> ToolPolicy:
    """The conversation's policy for ``name``: its override, else the registry's
    (else ``listed``: an MCP tool's from the operator's file; ``ask`` when
    unknown). A tool declared ``never`` stays so; with confirmation switched
    off, ``ask`` means ``auto``."""
    declared = config.tool_policies.get(name, listed)
    policy = declared if declared is ToolPolicy.NEVER else overrides.get(name, declared)
    if policy is ToolPolicy.ASK and not config.show_confirm:
        return ToolPolicy.AUTO
    return policy


def withheld_tools(config: AgentConfig, overrides: Mapping[str, ToolPolicy]) -> list[str]:
    """The tools the model is not offered in this conversation (policy ``never``)."""
    names = {*config.tool_policies, *overrides}
    return sorted(n for n in names if policy_of(n, config, overrides) is ToolPolicy.NEVER)


def edit_problems(
    name: str, args: dict[str, Any], schema: Mapping[str, Any] | None = None
) -> list[str]:
    """Every way ``args`` break the schema of tool ``name`` (or ``schema``, for a
    tool the registry does not hold); empty when they fit."""
    try:
        if schema is None:
            validate_tool_args(name, args)
        else:
            validate_schema_args(name, schema, args)
    except BadToolArgs as exc:
        return exc.problems
    return []
