"""worker-llm: hosts the agent workflow and the LLM activities.

Two workers in one process: the workflow on ``WORKFLOW_TASK_QUEUE`` and the
model calls on ``LLM_TASK_QUEUE``, so each scales and is observed apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.client import Client
from temporalio.worker import Worker

from agent_core.activities import LLMActivities
from agent_core.events import EventSink
from agent_core.models import AgentConfig
from agent_core.settings import Settings
from agent_core.worker_host import run_service
from agent_core.workflow import AgentWorkflow
from worker_llm.chat_model import LitellmChatModel

__all__ = ["agent_config", "build_workers", "main"]


def agent_config(settings: Settings) -> AgentConfig:
    return AgentConfig(
        show_confirm=settings.agent_show_confirm,
        history_window=settings.agent_history_window,
        max_turns_per_run=settings.agent_max_turns_per_run,
        max_prompt_chars=settings.agent_max_prompt_chars,
        llm_timeout_seconds=settings.llm_timeout_seconds,
        max_history_events=settings.agent_max_history_events,
        heartbeat_timeout_seconds=settings.agent_heartbeat_timeout_seconds,
    )


def build_workers(client: Client, sink: EventSink, settings: Settings) -> Sequence[Worker]:
    activities = LLMActivities(
        LitellmChatModel(settings), sink, agent_config(settings), settings.llm_max_repairs
    )
    return [
        Worker(client, task_queue=settings.workflow_task_queue, workflows=[AgentWorkflow]),
        Worker(
            client,
            task_queue=settings.llm_task_queue,
            activities=[
                activities.load_config,
                activities.validate_prompt,
                activities.plan_turn,
                activities.summarize,
            ],
        ),
    ]


def main() -> None:
    run_service(build_workers, "worker-llm")


if __name__ == "__main__":
    main()
