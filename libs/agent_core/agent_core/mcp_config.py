"""MCP tool servers an operator declares in a JSON file (``MCP_SERVERS_FILE``).

The file names each server once (a stdio command, or a streamable-HTTP URL
whose header values are references to secrets, never the secrets) and says
which goals use it: a goal entry either adds servers to a goal the code
ships, or declares a whole new goal. Parsing only: the tools worker connects,
and resolves secret references from its own environment when it does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent_core.models import ToolPolicy

__all__ = [
    "SEPARATOR",
    "McpFile",
    "McpGoal",
    "McpServer",
    "SecretRef",
    "load_mcp_file",
    "public_name",
    "server_of",
]

SEPARATOR = "__"  # server__tool: native tool names never contain it
_SERVER_NAME = r"^[a-z][a-z0-9-]{0,23}(_[a-z0-9-]+)*$"
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    """A value read from the environment variable ``secret`` when connecting,
    with an optional ``prefix`` (``"Bearer "``): the file never holds it."""

    secret: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    prefix: str = ""


class McpToolOverride(_Strict):
    approval: ToolPolicy


class McpServer(_Strict):
    """One server: ``command`` (stdio, with ``args`` and ``env``) or ``url``
    (streamable HTTP, with ``headers``). ``approval`` applies to its tools
    (``ask`` unless set), ``tools`` overrides it per tool, ``timeout_seconds``
    bounds one call."""

    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str | SecretRef] = Field(default_factory=dict)
    url: str | None = Field(None, pattern=r"^https?://")
    headers: dict[str, str | SecretRef] = Field(default_factory=dict)
    approval: ToolPolicy = ToolPolicy.ASK
    tools: dict[str, McpToolOverride] = Field(default_factory=dict)
    timeout_seconds: float = Field(60.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _one_transport(self) -> McpServer:
        if (self.command is None) == (self.url is None):
            raise ValueError("give either command (stdio) or url (streamable HTTP)")
        return self

    def approval_of(self, tool: str) -> ToolPolicy:
        """The policy of ``tool`` (its server-side name) on this server."""
        override = self.tools.get(tool)
        return override.approval if override is not None else self.approval


class McpGoal(_Strict):
    """A goal's MCP servers; with ``title`` etc. it declares a new goal."""

    mcp_servers: tuple[str, ...] = ()
    title: str | None = None
    description: str | None = None
    agent_name: str | None = None
    starter_prompt: str | None = None
    example_conversation: str = ""
    category: str = "general"
    tools: tuple[str, ...] = ()  # native tools a new goal also uses


class McpFile(_Strict):
    servers: dict[str, McpServer] = Field(default_factory=dict)
    goals: dict[str, McpGoal] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names(self) -> McpFile:
        for name in self.servers:
            if not re.match(_SERVER_NAME, name) or SEPARATOR in name:
                raise ValueError(f"server name {name!r}: lower-case letters, digits, - and _")
        for goal_id, goal in self.goals.items():
            unknown = [s for s in goal.mcp_servers if s not in self.servers]
            if unknown:
                raise ValueError(f"goal {goal_id} names undeclared servers {unknown}")
        return self


def load_mcp_file(path: Path | None) -> McpFile:
    """The operator's file, or an empty one when none is named."""
    if path is None:
        return McpFile()
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    return McpFile.model_validate(data)


def public_name(server: str, tool: str) -> str:
    """The name the model and the user see: ``server__tool``, cut to the
    64 characters and the alphabet model APIs accept."""
    return (server + SEPARATOR + _UNSAFE.sub("_", tool))[:64]


def server_of(name: str) -> str | None:
    """The server part of an MCP tool's public name (None for a native tool)."""
    server, sep, _ = name.partition(SEPARATOR)
    return server if sep else None
