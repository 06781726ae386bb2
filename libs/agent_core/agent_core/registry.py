"""The goal and tool registry: one dict of goals, one dict of tools.

A tool is declared once (name, description, JSON schema of its arguments, the
dotted path of the function that runs it); a goal lists the tools it may use.
The LLM worker turns the declarations into model tool definitions, the tool
worker resolves ``handler`` paths and validates arguments before a run.
Adding a tool is one function plus one ``ToolSpec`` in a goal module.
``switch_goal`` is built in: offered with every goal, run by the workflow.
Goals may also use MCP servers declared in the operator's ``MCP_SERVERS_FILE``
(see ``mcp_config``), which can declare whole goals too; those tools are
listed at run time by the tools worker, so only their servers are known here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from jsonschema import Draft202012Validator

from agent_core.errors import BadToolArgs, UnknownGoal, UnknownTool
from agent_core.goals import ALL_GOALS, ALL_TOOLS
from agent_core.mcp_config import SEPARATOR, McpFile, McpGoal, McpServer, load_mcp_file
from agent_core.settings import Settings
from agent_core.specs import Goal, ToolSpec

__all__ = [
    "GOALS",
    "SWITCH_GOAL_TOOL",
    "TOOLS",
    "Goal",
    "Ledger",
    "ToolContext",
    "ToolHandler",
    "ToolSpec",
    "get_goal",
    "get_tool",
    "goal_tools",
    "mcp_servers",
    "switch_goal_parameters",
    "use_mcp",
    "validate_schema_args",
    "validate_tool_args",
]

SWITCH_GOAL_TOOL = "switch_goal"


class Ledger(Protocol):
    """Durable record of side effects, so a retried tool run does not repeat one."""

    async def record_once(self, key: str, value: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Store ``value`` under ``key`` unless present; return the stored value
        and whether this call created it."""
        ...


@dataclass
class ToolContext:
    """Handed to every tool run: a stable idempotency key, a side-effect
    ledger keyed by it, and a hook to report progress to the user."""

    idempotency_key: str
    ledger: Ledger = field(repr=False)
    report_progress: Callable[[str], Awaitable[None]] = field(repr=False)


class ToolHandler(Protocol):
    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]: ...


def _collect(mcp: McpFile) -> tuple[dict[str, Goal], dict[str, ToolSpec]]:
    tools = {t.name: t for t in ALL_TOOLS}
    clashing = [name for name in tools if SEPARATOR in name]
    if clashing:
        raise UnknownTool(f"native tool names may not contain {SEPARATOR!r}: {clashing}")
    goals = _with_mcp_goals({g.id: g for g in ALL_GOALS}, mcp.goals)
    for goal in goals.values():
        missing = [name for name in goal.tools if name not in tools]
        if missing:
            raise UnknownTool(f"goal {goal.id} lists undeclared tools {missing}")
    return goals, tools


def _with_mcp_goals(goals: dict[str, Goal], declared: Mapping[str, McpGoal]) -> dict[str, Goal]:
    """The shipped goals, with the servers the file adds to them, and the file's own goals."""
    for goal_id, entry in declared.items():
        if goal_id in goals:
            known = goals[goal_id]
            goals[goal_id] = replace(known, mcp_servers=(*known.mcp_servers, *entry.mcp_servers))
            continue
        if not (entry.title and entry.description and entry.agent_name and entry.starter_prompt):
            raise UnknownGoal(
                f"goal {goal_id} is not shipped: the file must give its title, description, "
                "agent_name and starter_prompt"
            )
        goals[goal_id] = Goal(
            id=goal_id,
            title=entry.title,
            description=entry.description,
            agent_name=entry.agent_name,
            tools=entry.tools,
            starter_prompt=entry.starter_prompt,
            example_conversation=entry.example_conversation,
            category=entry.category,
            mcp_servers=entry.mcp_servers,
        )
    return goals


def switch_goal_parameters(goal_ids: Iterable[str]) -> dict[str, Any]:
    """The arguments of ``switch_goal``: one of ``goal_ids``."""
    goal = {"type": "string", "enum": sorted(goal_ids), "description": "The goal to move to"}
    return {
        "type": "object",
        "properties": {"goal": goal},
        "required": ["goal"],
        "additionalProperties": False,
    }


_mcp = load_mcp_file(Settings().mcp_servers_file)
GOALS, TOOLS = _collect(_mcp)
_VALIDATORS = {name: Draft202012Validator(t.parameters) for name, t in TOOLS.items()}
_VALIDATORS[SWITCH_GOAL_TOOL] = Draft202012Validator(switch_goal_parameters(GOALS))


def mcp_servers() -> Mapping[str, McpServer]:
    """The MCP servers the operator's file declares, by name."""
    return _mcp.servers


@contextlib.contextmanager
def use_mcp(mcp: McpFile) -> Iterator[None]:
    """Serve ``mcp``'s servers and goals instead of ``MCP_SERVERS_FILE``'s until
    the block ends: how tests and embedders give a process its MCP file."""
    global _mcp
    previous = _mcp
    _install(mcp)
    try:
        yield
    finally:
        _install(previous)


def _install(mcp: McpFile) -> None:
    """Swap the goals in place, so every module holding ``GOALS`` sees the change."""
    global _mcp
    goals, _ = _collect(mcp)
    _mcp = mcp
    GOALS.clear()
    GOALS.update(goals)
    _VALIDATORS[SWITCH_GOAL_TOOL] = Draft202012Validator(switch_goal_parameters(GOALS))


def get_goal(goal_id: str) -> Goal:
    try:
        return GOALS[goal_id]
    except KeyError:
        raise UnknownGoal(f"unknown goal {goal_id!r}") from None


def get_tool(name: str) -> ToolSpec:
    try:
        return TOOLS[name]
    except KeyError:
        raise UnknownTool(f"unknown tool {name!r}") from None


def goal_tools(goal_id: str) -> list[ToolSpec]:
    return [TOOLS[name] for name in get_goal(goal_id).tools]


def validate_tool_args(name: str, args: dict[str, Any]) -> None:
    """Raise ``BadToolArgs`` listing every schema violation of ``args``."""
    validator = _VALIDATORS.get(name)
    if validator is None:
        raise UnknownTool(f"unknown tool {name!r}")
    problems = [_describe(err) for err in validator.iter_errors(args)]
    if problems:
        raise BadToolArgs(name, sorted(problems))


def validate_schema_args(name: str, schema: Mapping[str, Any], args: dict[str, Any]) -> None:
    """Raise ``BadToolArgs`` listing how ``args`` break ``schema``: the check of a
    tool whose schema is not in the registry (an MCP server listed it)."""
    problems = [_describe(err) for err in Draft202012Validator(dict(schema)).iter_errors(args)]
    if problems:
        raise BadToolArgs(name, sorted(problems))


def _describe(err: Any) -> str:
    if err.validator == "required" and isinstance(err.instance, dict):
        missing = [p for p in err.validator_value if p not in err.instance]
        return "missing " + ", ".join(missing)
    where = ".".join(str(p) for p in err.absolute_path)
    return f"{where}: {err.message}" if where else err.message
