"""The test notes server (``mcp_notes_server.py``) as MCP server configs:
stdio (the worker starts it) and streamable HTTP (a real uvicorn on a free
loopback port, behind a bearer token the config reads from a secret)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_core.mcp_config import McpFile, McpGoal, McpServer, SecretRef

SCRIPT = str(Path(__file__).with_name("mcp_notes_server.py"))
TOKEN_SECRET = "NOTES_MCP_TOKEN"


def stdio_notes(notes_dir: Path, **extra: Any) -> McpServer:
    env = {"NOTES_DIR": str(notes_dir)}
    return McpServer(command=sys.executable, args=(SCRIPT, "stdio"), env=env, **extra)


def http_notes(url: str, **extra: Any) -> McpServer:
    auth = SecretRef(secret=TOKEN_SECRET, prefix="Bearer ")
    return McpServer(url=url, headers={"Authorization": auth}, **extra)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class HttpNotesServer:
    url: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        """The server goes away (as a crashed or redeployed one)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@contextlib.contextmanager
def http_notes_server(notes_dir: Path, token: str) -> Iterator[HttpNotesServer]:
    """A notes server over streamable HTTP on loopback, behind ``token``."""
    port = _free_port()
    env = {**os.environ, "NOTES_DIR": str(notes_dir), "NOTES_TOKEN": token}
    server = HttpNotesServer(
        f"http://127.0.0.1:{port}/mcp",
        subprocess.Popen([sys.executable, SCRIPT, "http", str(port)], env=env),
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if server.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the HTTP notes server did not start")
            time.sleep(0.05)
        yield server
    finally:
        server.stop()


def notes_keeper_file(notes_dir: Path) -> McpFile:
    """Goal ``notes_keeper`` on the stdio notes server: what the recorded MCP
    history ran with, so its replay sees the same goal and servers."""
    goal = McpGoal(
        title="Keep notes",
        description="Write the user's notes down in their notes book.",
        agent_name="Note keeper",
        starter_prompt="What shall I note?",
        mcp_servers=("notes",),
    )
    return McpFile(servers={"notes": stdio_notes(notes_dir)}, goals={"notes_keeper": goal})
