"""Run a service's Temporal workers until SIGINT/SIGTERM, with metrics served.

Both worker services share this: open the object store, connect to Temporal
(with External Storage on that store), open the event log, serve Prometheus on ``METRICS_PORT``, build the service's workers, run them,
and drain them on a signal (``WORKER_SHUTDOWN_GRACE_SECONDS``). A worker that
stops on its own (its ``run()`` failed: a namespace that does not exist, a
lost server) stops the process with a non-zero code, so that no health check
answers for a process that polls nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from prometheus_client import start_http_server
from temporalio.client import Client
from temporalio.worker import Worker

from agent_core.event_log import EventLog
from agent_core.object_store import ObjectStore, open_object_store
from agent_core.settings import Settings
from agent_core.temporal_client import connect_temporal

__all__ = ["WorkerFactory", "WorkerStopped", "run_service", "worker_options"]

log = logging.getLogger(__name__)

WorkerFactory = Callable[[Client, EventLog, ObjectStore, Settings], Sequence[Worker]]


def worker_options(settings: Settings) -> dict[str, Any]:
    """What every worker of both services is given: bounded concurrency, and time
    to drain on SIGTERM."""
    return {
        "max_concurrent_activities": settings.worker_max_concurrent_activities,
        "graceful_shutdown_timeout": timedelta(seconds=settings.worker_shutdown_grace_seconds),
    }


class WorkerStopped(RuntimeError):
    """A worker stopped polling though no signal asked it to."""


async def _serve(settings: Settings, build: WorkerFactory, name: str) -> None:
    if settings.metrics_port:
        start_http_server(settings.metrics_port)
    async with (
        open_object_store(settings) as store,
        EventLog(
            settings.redis_url, settings.events_stream_maxlen, settings.events_retention_seconds
        ) as log_,
    ):
        client = await connect_temporal(settings, store)
        workers = build(client, log_, store, settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        queues = ", ".join(w.task_queue for w in workers)
        log.info("%s polling %s at %s", name, queues, settings.temporal_address)
        runs = [asyncio.create_task(w.run()) for w in workers]
        signalled = asyncio.create_task(stop.wait())
        await asyncio.wait([signalled, *runs], return_when=asyncio.FIRST_COMPLETED)
        if not signalled.done():
            signalled.cancel()
            failed = next(r for r in runs if r.done())
            await asyncio.gather(*(w.shutdown() for w in workers), return_exceptions=True)
            raise WorkerStopped(f"a worker of {name} stopped polling") from failed.exception()
        log.info("%s shutting down", name)
        await asyncio.gather(*(w.shutdown() for w in workers))
        await asyncio.gather(*runs, return_exceptions=True)


def run_service(build: WorkerFactory, name: str) -> None:
    """Console entry point body: run, then leave through ``os._exit`` (sdk-python #300)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    code = 0
    try:
        asyncio.run(_serve(Settings(), build, name))
    except Exception:
        log.exception("%s stopped on an error", name)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
