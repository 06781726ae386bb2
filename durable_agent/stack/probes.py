"""Readiness: what each part must answer before the parts that need it start.

A plan names its probes as data (:data:`Probe`), so it can be built and
compared without a server; :class:`Readiness` runs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass
from typing import Any


async def _tcp_open(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def http_status(host: str, port: int, path: str, within: float = 3.0) -> int | None:
    """The status code of ``GET path`` (plain HTTP/1.0), or None if it did not answer."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), within)
    except (OSError, TimeoutError):
        return None
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode())
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), within)
    except (OSError, TimeoutError):
        return None
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    match = re.match(rb"HTTP/\d(?:\.\d)? (\d{3})", line)
    return int(match.group(1)) if match else None


async def redis_ping(url: str, within: float = 2.0) -> str | None:
    """None if Redis at ``url`` answers PING, else why not."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(url, socket_connect_timeout=within, socket_timeout=within)
    try:
        await asyncio.wait_for(client.ping(), within + 1)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()
    return None


@dataclass(frozen=True)
class TemporalReady:
    """The dev server answers on its gRPC port (and its UI port, when it has one)."""

    port: int
    ui_port: int | None = None


@dataclass(frozen=True)
class RedisReady:
    url: str


@dataclass(frozen=True)
class HttpReady:
    """``GET path`` answers 200 (the fake LLM's /healthz, the gateway's /readyz)."""

    host: str
    port: int
    path: str


@dataclass(frozen=True)
class PollersReady:
    """The process polls each of its ``(kind, task queue)`` pairs, kind ``workflow``
    or ``activity``: only then does a worker take work."""

    queues: tuple[tuple[str, str], ...]


Probe = TemporalReady | RedisReady | HttpReady | PollersReady


class Readiness:
    """Runs the probes of a plan; holds the one Temporal client the worker probes share."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._client: Any = None

    async def check(self, probe: Probe, pid: int | None) -> str | None:
        """None when the part is ready, else why not (said if it never gets ready)."""
        match probe:
            case TemporalReady():
                return await self._temporal(probe)
            case RedisReady():
                return await redis_ping(probe.url, within=1.0)
            case HttpReady():
                status = await http_status(probe.host, probe.port, probe.path)
                return None if status == 200 else f"GET {probe.path}: {status or 'no answer'}"
            case PollersReady():
                return await self._pollers(probe, pid)

    async def _temporal(self, probe: TemporalReady) -> str | None:
        if not await _tcp_open("127.0.0.1", probe.port):
            return f"nothing listens on :{probe.port} yet"
        if self._client is None:
            from temporalio.client import Client

            self._client = await asyncio.wait_for(
                Client.connect(f"127.0.0.1:{probe.port}", namespace=self.namespace), 5
            )
        if probe.ui_port is not None and not await _tcp_open("127.0.0.1", probe.ui_port):
            return f"the UI does not listen on :{probe.ui_port} yet"
        return None

    async def _pollers(self, probe: PollersReady, pid: int | None) -> str | None:
        from temporalio.api.enums.v1 import TaskQueueType
        from temporalio.api.taskqueue.v1 import TaskQueue
        from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

        client = await self.client()
        identity = f"{pid}@"  # the SDK's default worker identity: pid@host
        for kind, queue in probe.queues:
            request = DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=queue),
                task_queue_type=(
                    TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
                    if kind == "workflow"
                    else TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY
                ),
            )
            response = await client.workflow_service.describe_task_queue(request)
            if not any(p.identity.startswith(identity) for p in response.pollers):
                return f"no poller on {queue} yet"
        return None

    async def client(self) -> Any:
        """The dev server's client, or (Temporal external) one from the settings."""
        if self._client is None:
            from agent_core.settings import Settings
            from agent_core.temporal_client import connect_temporal

            settings = Settings(temporal_metrics_port=0)
            # task-queue probes only: no payload is read, so no object store
            self._client = await asyncio.wait_for(connect_temporal(settings, None), 10)
        return self._client
