"""Drive conversations from outside: start, prompt, decide, end, read, list.

The one place that knows how a conversation maps to a workflow (id, task
queue, search attribute, update names). The gateway, the tests and the
benchmarks all go through it, so none of them calls an update by string.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from agent_core.conversation_ids import TENANT_SEARCH_ATTRIBUTE, workflow_id
from agent_core.models import (
    ConversationSnapshot,
    EndChatInput,
    EndChatResult,
    SendPromptInput,
    SendPromptResult,
    TaskQueues,
    ToolDecisionInput,
    ToolDecisionResult,
    WorkflowInput,
)
from agent_core.workflow import AgentWorkflow

__all__ = ["TENANT_KEY", "ConversationClient", "ConversationSummary"]

TENANT_KEY = SearchAttributeKey.for_keyword(TENANT_SEARCH_ATTRIBUTE)


@dataclass(frozen=True)
class ConversationSummary:
    conversation_id: str
    goal_id: str | None
    running: bool
    started_at: datetime | None


class ConversationClient:
    def __init__(self, client: Client, workflow_queue: str, queues: TaskQueues) -> None:
        self._client = client
        self._workflow_queue = workflow_queue
        self._queues = queues

    def handle(
        self, tenant: str, conversation_id: str
    ) -> WorkflowHandle[AgentWorkflow, ConversationSnapshot]:
        return self._client.get_workflow_handle_for(
            AgentWorkflow.run, workflow_id(tenant, conversation_id)
        )

    async def start(
        self, tenant: str, conversation_id: str, goal_id: str, first_message: str | None = None
    ) -> SendPromptResult | None:
        """Start the workflow; with a first message, in one call (update-with-start)."""
        start = {
            "id": workflow_id(tenant, conversation_id),
            "task_queue": self._workflow_queue,
            "search_attributes": TypedSearchAttributes([SearchAttributePair(TENANT_KEY, tenant)]),
            "memo": {"goal_id": goal_id},
        }
        args = WorkflowInput(
            conversation_id=conversation_id, tenant=tenant, goal_id=goal_id, queues=self._queues
        )
        if first_message is None:
            await self._client.start_workflow(AgentWorkflow.run, args, **start)
            return None
        operation = WithStartWorkflowOperation(
            AgentWorkflow.run, args, id_conflict_policy=WorkflowIDConflictPolicy.FAIL, **start
        )
        return await self._client.execute_update_with_start_workflow(
            AgentWorkflow.send_prompt,
            SendPromptInput(text=first_message),
            start_workflow_operation=operation,
        )

    async def send(self, tenant: str, conversation_id: str, text: str) -> SendPromptResult:
        return await self.handle(tenant, conversation_id).execute_update(
            AgentWorkflow.send_prompt, SendPromptInput(text=text)
        )

    async def confirm(self, tenant: str, conversation_id: str, call_id: str) -> ToolDecisionResult:
        return await self.handle(tenant, conversation_id).execute_update(
            AgentWorkflow.confirm_tool, ToolDecisionInput(call_id=call_id)
        )

    async def reject(
        self, tenant: str, conversation_id: str, call_id: str, reason: str | None
    ) -> ToolDecisionResult:
        return await self.handle(tenant, conversation_id).execute_update(
            AgentWorkflow.reject_tool, ToolDecisionInput(call_id=call_id, reason=reason)
        )

    async def end(
        self, tenant: str, conversation_id: str, reason: str | None = None
    ) -> EndChatResult:
        return await self.handle(tenant, conversation_id).execute_update(
            AgentWorkflow.end_chat, EndChatInput(reason=reason)
        )

    async def exists(self, tenant: str, conversation_id: str) -> bool:
        """Whether the workflow exists at all (running or closed) for this tenant."""
        try:
            await self.handle(tenant, conversation_id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True

    async def snapshot(self, tenant: str, conversation_id: str) -> ConversationSnapshot:
        return await self.handle(tenant, conversation_id).query(AgentWorkflow.history)

    async def list(self, tenant: str, limit: int = 100) -> AsyncIterator[ConversationSummary]:
        query = f"{TENANT_SEARCH_ATTRIBUTE} = '{_quote(tenant)}' AND WorkflowType = 'AgentWorkflow'"
        seen: set[str] = set()
        prefix = workflow_id(tenant, "")
        async for wf in self._client.list_workflows(query, limit=limit):
            if wf.id in seen:  # older runs of a conversation that continued-as-new
                continue
            seen.add(wf.id)
            memo = await wf.memo()
            goal = memo.get("goal_id")
            yield ConversationSummary(
                conversation_id=wf.id.removeprefix(prefix),
                goal_id=goal if isinstance(goal, str) else None,
                running=wf.close_time is None,
                started_at=wf.start_time,
            )


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
