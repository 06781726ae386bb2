"""Ports: whether one is free, and free ones handed out without repeats."""

from __future__ import annotations

import socket

from durable_agent.stack.config import StackError


def _connect_host(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)


def _url_host(host: str) -> str:
    host = _connect_host(host)
    return f"[{host}]" if ":" in host else host


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (as servers do, SO_REUSEADDR)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class _Ports:
    """Free ports, never the same one twice in one run."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.taken: set[int] = set()
        self.notes: list[str] = []

    def free(self) -> int:
        for _ in range(50):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((self.host, 0))
                port = sock.getsockname()[1]
            if port not in self.taken:
                self.taken.add(port)
                return port
        raise StackError("could not find a free port")

    def resolve(self, wanted: int | None, default: int, what: str) -> int:
        """``wanted`` if free (error if not), ``0`` a free one, ``None`` the default or a free one."""
        if wanted == 0:
            return self.free()
        port = default if wanted is None else wanted
        if port not in self.taken and port_free(self.host, port):
            self.taken.add(port)
            return port
        if wanted is None:
            free = self.free()
            self.notes.append(f"{what}: port {port} is in use, using {free}")
            return free
        raise StackError(f"{what}: port {port} on {self.host} is in use")
