"""An MCP server written for the tests with the official SDK: a notes book.

Run as ``python mcp_notes_server.py stdio`` or ``... http PORT`` (streamable
HTTP on loopback through uvicorn; with ``NOTES_TOKEN`` set, a request without
``Authorization: Bearer <token>`` is refused 401). ``NOTES_DIR`` holds the
notes, one file per idempotency key (``_meta.idempotency_key``), so a retried
call returns the first note; ``crash_once`` kills the process in the middle
of its first call for a key, as a server that dies mid-call.
"""

from __future__ import annotations

import json
import os
import sys
from hashlib import sha256
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("notes")


def _dir() -> Path:
    path = Path(os.environ["NOTES_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _key(ctx: Context) -> str:
    meta = ctx.request_context.meta or {}
    return str(meta.get("idempotency_key") or "")


def _save(key: str, text: str) -> dict[str, Any]:
    """One note per key: a retry with the same key gets the first note back."""
    name = sha256(key.encode()).hexdigest()[:16] if key else f"anon-{os.getpid()}"
    path = _dir() / f"note-{name}.json"
    if path.exists():
        return {**json.loads(path.read_text()), "duplicate": True}
    note = {"note_id": name, "text": text, "key": key, "pid": os.getpid()}
    path.write_text(json.dumps(note))
    return {**note, "duplicate": False}


@server.tool()
def add_note(text: str, ctx: Context) -> dict[str, Any]:
    """Write a note to the notes book."""
    return _save(_key(ctx), text)


@server.tool()
def crash_once(text: str, ctx: Context) -> dict[str, Any]:
    """Write a note, but die in the middle of the first call for a key."""
    marker = _dir() / f"crashed-{sha256(_key(ctx).encode()).hexdigest()[:16]}"
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(17)
    return _save(_key(ctx), text)


@server.tool()
def whoami() -> dict[str, Any]:
    """The server's process id: the same one while the worker reuses it."""
    return {"pid": os.getpid()}


@server.tool()
def fail(reason: str) -> dict[str, Any]:
    """Always fails, with the reason."""
    raise ToolError(f"refused: {reason}")


def _guarded(app: Any, token: str) -> Any:
    """Refuse a request without the bearer token, as a real server behind auth."""

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers") or [])
        if scope["type"] == "http" and headers.get(b"authorization") != f"Bearer {token}".encode():
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b"unauthorized"})
            return
        await app(scope, receive, send)

    return guarded


def main() -> None:
    if sys.argv[1] == "stdio":
        server.run("stdio")
        return
    import uvicorn

    app = server.streamable_http_app()
    token = os.environ.get("NOTES_TOKEN")
    port = int(sys.argv[2])
    uvicorn.run(
        _guarded(app, token) if token else app, host="127.0.0.1", port=port, log_level="warning"
    )


if __name__ == "__main__":
    main()
