"""worker-llm: hosts the conversation workflow, its event writer and archiver, and the LLM activities.

The workflow worker on ``WORKFLOW_TASK_QUEUE`` also runs the LLM activities,
so a workflow's model calls are dispatched to it eagerly, with no task-queue
hop; ``WORKER_MAX_CONCURRENT_ACTIVITIES`` bounds how many run at once in the
one event loop. With ``LLM_TASK_QUEUE`` set, new conversations send their
model calls there instead, and a second worker polls it, so LLM calls and
workflows can scale apart. The 0.1 ``AgentWorkflow`` is hosted too, with a
worker on the 0.1 LLM queue, until its conversations end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from agent_core.event_log import EventLog
from agent_core.legacy_workflow import AgentWorkflow
from agent_core.models import AgentConfig, TaskQueues
from agent_core.object_store import ObjectStore
from agent_core.registry import TOOLS
from agent_core.settings import Settings
from agent_core.transcript_archive import TranscriptArchive
from agent_core.worker_host import run_service, worker_options
from agent_core.workflow import ConversationWorkflow
from worker_llm.activities import CallLimits, NamedModel
from worker_llm.archiver import TranscriptArchiver
from worker_llm.chat_model import chat_models_for
from worker_llm.legacy import LegacyLLMActivities
from worker_llm.publisher import EventPublisher

__all__ = ["agent_config", "build_workers", "call_limits", "main", "models_for"]

LEGACY_LLM_QUEUE = TaskQueues().llm  # where 0.1 conversations send their model calls


def agent_config(settings: Settings) -> AgentConfig:
    return AgentConfig(
        show_confirm=settings.agent_show_confirm,
        history_window=settings.agent_history_window,
        max_turns_per_run=settings.agent_max_turns_per_run,
        max_prompt_chars=settings.agent_max_prompt_chars,
        llm_timeout_seconds=settings.llm_timeout_seconds,
        max_history_events=settings.agent_max_history_events,
        heartbeat_timeout_seconds=settings.agent_heartbeat_timeout_seconds,
        max_repairs=settings.llm_max_repairs,
        idle_timeout_seconds=settings.agent_idle_timeout_seconds,
        confirmation_timeout_seconds=settings.agent_confirmation_timeout_seconds,
        tool_policies={name: tool.approval for name, tool in TOOLS.items()},
    )


def call_limits(settings: Settings) -> CallLimits:
    return CallLimits(
        max_tokens={
            "plan": settings.llm_max_tokens_plan,
            "summarize": settings.llm_max_tokens_summary,
        },
        context_tokens=settings.llm_context_tokens,
    )


def models_for(settings: Settings) -> list[NamedModel]:
    """``LLM_MODEL`` and then ``LLM_FALLBACK_MODELS``, each with its client."""
    return [NamedModel(client.name, client) for client in chat_models_for(settings)]


def build_workers(
    client: Client, log: EventLog, store: ObjectStore, settings: Settings
) -> Sequence[Worker]:
    llm = LegacyLLMActivities(
        models_for(settings), log, agent_config(settings), call_limits(settings)
    )
    activities: list[Callable[..., Any]] = [
        llm.load_config,
        llm.plan_step,
        llm.summarize,
        llm.validate_prompt,
        llm.plan_turn,
    ]
    options = worker_options(settings)
    workers = [
        Worker(
            client,
            task_queue=settings.workflow_task_queue,
            workflows=[ConversationWorkflow, AgentWorkflow],
            activities=[
                *activities,
                EventPublisher(log, settings.events_ended_retention_seconds).publish_events,
                TranscriptArchiver(TranscriptArchive(store)).archive_transcript_page,
            ],
            **options,
        )
    ]
    for queue in {settings.llm_task_queue, LEGACY_LLM_QUEUE} - {"", settings.workflow_task_queue}:
        workers.append(Worker(client, task_queue=queue, activities=activities, **options))
    return workers


def main() -> None:
    run_service(build_workers, "worker-llm")


if __name__ == "__main__":
    main()
