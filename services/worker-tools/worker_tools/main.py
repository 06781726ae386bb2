"""worker-tools: runs the agent's tools on ``TOOLS_TASK_QUEUE``.

Tools run apart from the model side so they scale, fail and hold their
secrets on their own. Handlers are resolved from the registry at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.client import Client
from temporalio.worker import Worker

from agent_core.events import EventSink
from agent_core.object_store import ObjectStore
from agent_core.registry import TOOLS
from agent_core.settings import Settings
from agent_core.worker_host import run_service, worker_options
from worker_tools.activities import ToolActivities
from worker_tools.ledger import ObjectLedger
from worker_tools.tools import load_handlers

__all__ = ["build_workers", "main"]


def build_workers(
    client: Client, sink: EventSink, store: ObjectStore, settings: Settings
) -> Sequence[Worker]:
    activities = ToolActivities(load_handlers(TOOLS.values()), ObjectLedger(store), sink)
    return [
        Worker(
            client,
            task_queue=settings.tools_task_queue,
            activities=[activities.run_tool],
            **worker_options(settings),
        )
    ]


def main() -> None:
    run_service(build_workers, "worker-tools")


if __name__ == "__main__":
    main()
