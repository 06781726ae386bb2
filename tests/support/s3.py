"""A real S3 API on loopback: moto's server mode (from PyPI), one per test session."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

from tests.support.gateway import free_port

__all__ = ["S3_ACCESS", "moto_server"]

S3_ACCESS = {"storage_s3_access_key_id": "test", "storage_s3_secret_access_key": "test"}


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """Start ``moto.server`` on a free port; yields its endpoint URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto's S3 server did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
