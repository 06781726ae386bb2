"""The workflow's pen: the local activity that writes its events to the log.

It runs in the workflow worker's process, so the workflow's events reach
Redis in one round trip per batch, in the order the workflow made them, with
no task-queue hop. It raises when the log cannot be written: Temporal retries
it (the workflow asks for no limit), and keys make a repeated batch a no-op.
"""

from __future__ import annotations

from temporalio import activity

from agent_core import activity_names as act
from agent_core.event_log import EventLog
from agent_core.metrics import EVENTS_PUBLISHED, PUBLISH_LATENCY
from agent_core.models import PublishEventsInput

__all__ = ["EventPublisher"]


class EventPublisher:
    def __init__(self, log: EventLog, ended_retention_seconds: int) -> None:
        self._log = log
        self._ended_retention = ended_retention_seconds

    @activity.defn(name=act.PUBLISH_EVENTS)
    async def publish_events(self, input: PublishEventsInput) -> None:
        """Append the batch; after the last one, shorten the log's life."""
        with PUBLISH_LATENCY.time():
            await self._log.publish(input.conversation_id, input.events)
        EVENTS_PUBLISHED.inc(len(input.events))
        if input.final:
            await self._log.expire(input.conversation_id, self._ended_retention)
