"""Prometheus for the gateway on a port of its own (``METRICS_PORT``).

A second uvicorn server in the gateway's own event loop serves
prometheus_client's ASGI app: no extra thread (a thread-based exporter
crashed the process before) and no route on the public port, which an
Ingress exposes. With ``METRICS_PORT`` at 0, ``/metrics`` stays on the API's
port instead (``make run``, tests).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import uvicorn
from prometheus_client import make_asgi_app

__all__ = ["metrics_server"]


class _MetricsServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the API's server owns SIGTERM/SIGINT and stops this one in its lifespan


@contextlib.asynccontextmanager
async def metrics_server(host: str, port: int) -> AsyncIterator[None]:
    """Serve ``/metrics`` on ``host:port`` for the life of the block."""
    config = uvicorn.Config(
        make_asgi_app(), host=host, port=port, lifespan="off", access_log=False, log_level="warning"
    )
    server = _MetricsServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():  # the port is taken: fail the start-up, loudly
            task.result()
            raise RuntimeError(f"the metrics server on port {port} did not start")
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task
