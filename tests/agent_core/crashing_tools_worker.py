"""A tools worker process that freezes right after create_invoice's side effect.

``test_durability`` runs this as a subprocess and SIGKILLs it while it is
frozen: the invoice is already in the ledger, the activity has not returned,
and the process dies without a word to Temporal. That is the crash that
matters for "no tool runs twice". The worker is the service's own
(``build_workers``, real Redis ledger and event log); only the event sink is
wrapped, through the constructor, to hold the activity at that point.
Settings come from the environment like the real service's.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from agent_core.event_log import EventLog
from agent_core.models import EventRecord
from agent_core.object_store import open_object_store
from agent_core.settings import Settings
from agent_core.temporal_client import connect_temporal
from worker_tools.main import build_workers

FROZEN = "FROZEN after the invoice was recorded"


class FreezeAfterInvoice:
    """An ``EventSink`` that publishes, then never returns once create_invoice
    reports the invoice it recorded (its second progress message)."""

    def __init__(self, log: EventLog) -> None:
        self._log = log

    async def publish(self, conversation_id: str, events: Sequence[EventRecord]) -> None:
        await self._log.publish(conversation_id, events)
        for event in events:
            data = json.loads(event.data)
            message = (data.get("value") or {}).get("message", "")
            if data.get("name") == "tool_progress" and "Invoice" in message:
                print(FROZEN, flush=True)
                await asyncio.Event().wait()


async def main() -> None:
    settings = Settings()
    async with open_object_store(settings) as store, EventLog(settings.redis_url) as log:
        client = await connect_temporal(settings, store)
        workers = build_workers(client, FreezeAfterInvoice(log), store, settings)
        print("READY", flush=True)
        await asyncio.gather(*(worker.run() for worker in workers))


if __name__ == "__main__":
    asyncio.run(main())
