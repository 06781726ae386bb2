"""An in-process agent stack: both workers on unique task queues, real parts.

The workers are the services' own ``build_workers`` (litellm's real client,
the real Redis event log and ledger), pointed at the test's fake LLM, so a
test drives exactly what production runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from agent_core.conversation_client import ConversationClient
from agent_core.event_log import EventLog
from agent_core.models import ConversationSnapshot, ConversationStatus, TaskQueues, ToolPolicy
from agent_core.object_store import open_object_store
from agent_core.settings import Settings
from fake_llm import FakeLLM
from worker_llm.main import build_workers as build_llm_workers
from worker_tools.main import build_workers as build_tool_workers

#: a travel request that says all the fake's auto brain needs for the goal's three
#: tools (city, month, origin, dates, the flight, the e-mail), so it asks nothing
WHOLE_TRIP = (
    "Melbourne in April please, from Sydney 10 to 14 April; "
    "invoice the cheapest flight to me@example.com"
)


@dataclass
class AgentStack:
    client: Client
    settings: Settings
    conversations: ConversationClient
    fake: FakeLLM
    events: EventLog
    tenant: str

    async def start(
        self,
        goal: str = "travel",
        first: str | None = None,
        tool_policies: dict[str, ToolPolicy] | None = None,
    ) -> str:
        conversation_id = uuid.uuid4().hex[:12]
        await self.conversations.start(
            self.tenant, conversation_id, goal, first, tool_policies=tool_policies
        )
        return conversation_id

    async def snapshot(self, conversation_id: str) -> ConversationSnapshot:
        return await self.conversations.snapshot(self.tenant, conversation_id)

    async def wait_for(
        self,
        conversation_id: str,
        check: Callable[[ConversationSnapshot], bool],
        within: float = 20.0,
    ) -> ConversationSnapshot:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            snap = await self.snapshot(conversation_id)
            if check(snap):
                return snap
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out; last snapshot: {snap.model_dump_json(indent=1)}")
            await asyncio.sleep(0.05)

    async def wait_status(
        self, conversation_id: str, status: ConversationStatus, within: float = 20.0
    ) -> ConversationSnapshot:
        return await self.wait_for(
            conversation_id, lambda s: s.status == status and not s.queued_prompts, within
        )

    async def result(self, conversation_id: str, within: float = 20.0) -> ConversationSnapshot:
        handle = self.conversations.handle(self.tenant, conversation_id)
        return await asyncio.wait_for(handle.result(), within)


def stack_settings(client: Client, fake: FakeLLM, redis_url: str, **overrides: Any) -> Settings:
    suffix = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "temporal_address": client.service_client.config.target_host,
        "workflow_task_queue": f"wf-{suffix}",
        "llm_task_queue": "",  # as shipped: model calls on the workflow's queue, eager
        "tools_task_queue": f"tools-{suffix}",
        "llm_model": "openai/fake-agent",
        "llm_api_base": fake.api_base,
        "llm_api_key": "test-key",
        "llm_timeout_seconds": 10,
        "redis_url": redis_url,
        "agent_heartbeat_timeout_seconds": 2,
        **overrides,
    }
    return Settings(**values)


@contextlib.asynccontextmanager
async def run_workers(
    client: Client, settings: Settings, events: EventLog, which: str = "all"
) -> AsyncIterator[list[Worker]]:
    async with contextlib.AsyncExitStack() as stack:
        store = await stack.enter_async_context(open_object_store(settings))
        workers: list[Worker] = []
        if which in ("all", "llm"):
            workers += build_llm_workers(client, events, store, settings)
        if which in ("all", "tools"):
            workers += build_tool_workers(client, events, store, settings)
        for worker in workers:
            await stack.enter_async_context(worker)
        yield workers


@contextlib.asynccontextmanager
async def agent_stack(
    client: Client, fake: FakeLLM, redis_url: str, *, with_workers: bool = True, **overrides: Any
) -> AsyncIterator[AgentStack]:
    """The stack; ``with_workers=False`` leaves running (and killing) workers to the test."""
    settings = stack_settings(client, fake, redis_url, **overrides)
    queues = TaskQueues(llm=settings.llm_task_queue, tools=settings.tools_task_queue)
    log = EventLog(redis_url, settings.events_stream_maxlen, settings.events_retention_seconds)
    async with log as events, contextlib.AsyncExitStack() as scope:
        if with_workers:
            await scope.enter_async_context(run_workers(client, settings, events))
        yield AgentStack(
            client=client,
            settings=settings,
            conversations=ConversationClient(client, settings.workflow_task_queue, queues),
            fake=fake,
            events=events,
            tenant=f"tenant-{uuid.uuid4().hex[:6]}",
        )
