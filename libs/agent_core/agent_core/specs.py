"""What a goal and a tool are: the declarations goal modules write.

Kept apart from the registry so goal modules import only these types and the
registry imports the goals, with no cycle between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent_core.models import ToolPolicy

__all__ = ["Goal", "ToolSpec"]


@dataclass(frozen=True)
class ToolSpec:
    """A tool: what the model is told, how its args are checked, what runs it,
    and whether a call waits for the user's approval (``ask`` unless declared)."""

    name: str
    description: str
    parameters: dict[str, Any]
    handler: str
    side_effects: bool = False
    approval: ToolPolicy = ToolPolicy.ASK

    def __post_init__(self) -> None:
        if self.side_effects and self.approval is ToolPolicy.AUTO:
            raise ValueError(f"{self.name} has side effects: it cannot run without asking")


@dataclass(frozen=True)
class Goal:
    """An agent goal: its persona, the tools it may use and how a chat starts."""

    id: str
    title: str
    description: str
    agent_name: str
    tools: tuple[str, ...]
    starter_prompt: str
    example_conversation: str
    category: str = "general"
    # MCP servers (names from MCP_SERVERS_FILE) whose tools this goal also offers
    mcp_servers: tuple[str, ...] = ()
