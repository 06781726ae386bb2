"""The worker's MCP servers: list their tools, call one with checked arguments.

Each server's tools are listed once per connection and kept, so a call finds
its schema without asking again; a tool the server does not list is refused
before the call. The idempotency key goes to the server in the request's
``_meta`` (``idempotency_key``): a retried call carries the same one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError
from mcp.types import CONNECTION_CLOSED, REQUEST_TIMEOUT

from agent_core.errors import ToolFailed, UnknownTool
from agent_core.mcp_config import McpServer, public_name, server_of
from agent_core.models import McpCatalog, McpTool, ToolCall
from agent_core.registry import validate_schema_args
from worker_tools.mcp.connection import McpConnection, ServerUnavailable, describe
from worker_tools.mcp.transport import SecretLookup

__all__ = ["ConnectionLost", "McpPool"]

log = logging.getLogger(__name__)
_RETRYABLE = (CONNECTION_CLOSED, REQUEST_TIMEOUT)


class ConnectionLost(Exception):
    """The server went away during the call: retried (on a restarted server)."""


class McpPool:
    """``servers`` is read on every use, so a changed file's servers are the ones used."""

    def __init__(
        self, servers: Callable[[], Mapping[str, McpServer]], secret: SecretLookup
    ) -> None:
        self._servers = servers
        self._secret = secret
        self._connections: dict[str, McpConnection] = {}
        self._listed: dict[str, dict[str, McpTool]] = {}

    def serves(self, tool_name: str) -> bool:
        return server_of(tool_name) in self._servers()

    async def catalog(self, servers: list[str]) -> McpCatalog:
        """Every tool of ``servers``; a server that cannot answer is named in ``errors``."""
        catalog = McpCatalog()
        for name in servers:
            try:
                catalog.tools += (await self._tools(name)).values()
            except (ServerUnavailable, ConnectionLost, UnknownTool, ToolFailed) as exc:
                catalog.errors[name] = str(exc)
        return catalog

    async def call(self, call: ToolCall, idempotency_key: str) -> dict[str, Any]:
        """Run ``call`` on its server; ``ToolFailed``/``UnknownTool`` for what the
        user should hear, ``ConnectionLost`` for what a retry may fix."""
        name = server_of(call.name) or ""
        try:
            tool = (await self._tools(name)).get(call.name)
        except ServerUnavailable as exc:
            raise ToolFailed(str(exc)) from None
        if tool is None:
            log.warning("MCP server %s lists no tool named %s", name, call.name)
            raise UnknownTool(f"the MCP server {name!r} has no tool named {call.name!r}")
        validate_schema_args(call.name, tool.parameters, call.args)
        connection = self._connection(name)
        try:
            session = await connection.session()
        except ServerUnavailable as exc:
            raise ToolFailed(str(exc)) from None
        meta = {"idempotency_key": idempotency_key}
        result = await self._request(
            connection,
            session,
            session.call_tool(tool.tool, call.args, connection.server.timeout_seconds, meta=meta),
        )
        return _output(call.name, result)

    async def close(self) -> None:
        for connection in self._connections.values():
            await connection.close()

    async def _tools(self, name: str) -> dict[str, McpTool]:
        if name not in self._servers():
            raise UnknownTool(f"no MCP server named {name!r} is configured")
        connection = self._connection(name)
        session = await connection.session()
        listed = self._listed.get(name)
        if listed is None:
            listed = await self._list(connection, session)
            self._listed[name] = listed
        return listed

    async def _list(self, connection: McpConnection, session: ClientSession) -> dict[str, McpTool]:
        """tools/list, every page, as the model's tool names and schemas."""
        server, tools, cursor = connection.server, {}, None
        while True:
            params = {"cursor": cursor} if cursor else None
            page = await self._request(connection, session, session.list_tools(params=params))
            for tool in page.tools:
                listed = McpTool(
                    name=public_name(connection.name, tool.name),
                    server=connection.name,
                    tool=tool.name,
                    description=tool.description or "",
                    parameters=tool.input_schema,
                    approval=server.approval_of(tool.name),
                )
                tools.setdefault(listed.name, listed)
            cursor = page.next_cursor
            if not cursor:
                return tools

    async def _request(
        self, connection: McpConnection, session: ClientSession, request: Any
    ) -> Any:
        """Await ``request``; a closed connection or a timeout drops the session
        (the next use restarts the server) and is retried by Temporal."""
        try:
            return await request
        except MCPError as exc:
            if exc.code not in _RETRYABLE:
                raise ToolFailed(
                    f"the MCP server {connection.name!r} refused: {exc.message}"
                ) from None
            await connection.drop(session)
            self._listed.pop(connection.name, None)
            log.warning(
                "MCP server %s: %s; it is restarted on the next use", connection.name, exc.message
            )
            raise ConnectionLost(f"the MCP server {connection.name!r}: {exc.message}") from None
        except (OSError, EOFError) as exc:
            await connection.drop(session)
            self._listed.pop(connection.name, None)
            raise ConnectionLost(f"the MCP server {connection.name!r}: {describe(exc)}") from None

    def _connection(self, name: str) -> McpConnection:
        server = self._servers()[name]
        connection = self._connections.get(name)
        if connection is None or connection.server is not server:
            connection = McpConnection(name, server, self._secret)
            self._connections[name] = connection
            self._listed.pop(name, None)
        return connection


def _output(name: str, result: Any) -> dict[str, Any]:
    """The tool's structured result when it has one, else its text blocks."""
    texts = [block.text for block in result.content if getattr(block, "type", "") == "text"]
    if result.is_error:
        raise ToolFailed(f"{name}: " + ("; ".join(texts) or "the tool reported an error"))
    structured = result.structured_content
    if isinstance(structured, dict):
        return structured
    if structured is not None:
        return {"result": structured}
    return {"content": texts}
