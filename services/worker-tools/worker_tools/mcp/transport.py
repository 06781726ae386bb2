"""How to reach one MCP server: a stdio subprocess or a streamable-HTTP URL.

Secret references in the operator's file are resolved here, when the worker
connects, from its own environment; the values go to the subprocess or the
HTTP client and nowhere else (not logs, not errors, not workflow history).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx2
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from agent_core.mcp_config import McpServer, SecretRef

__all__ = ["MissingSecret", "open_transport"]

SecretLookup = Callable[[str], str | None]


class MissingSecret(Exception):
    """A secret the file refers to is not set; names the variable, never a value."""


def _resolve(values: Mapping[str, str | SecretRef], secret: SecretLookup) -> dict[str, str]:
    resolved: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, str):
            resolved[key] = value
            continue
        found = secret(value.secret)
        if found is None:
            raise MissingSecret(f"the secret {value.secret} is not set")
        resolved[key] = value.prefix + found
    return resolved


@contextlib.asynccontextmanager
async def open_transport(server: McpServer, secret: SecretLookup) -> AsyncIterator[Any]:
    """The server's read and write streams, for as long as the block runs."""
    if server.command is not None:
        params = StdioServerParameters(
            command=server.command, args=list(server.args), env=_resolve(server.env, secret)
        )
        async with stdio_client(params) as streams:
            yield streams
        return
    assert server.url is not None
    headers = _resolve(server.headers, secret)
    timeout = httpx2.Timeout(30.0, read=300.0)  # the SDK's: a response stream stays open
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        streamable_http_client(server.url, http_client=http) as streams,
    ):
        yield streams
