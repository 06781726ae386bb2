"""Conversation control: what a stop or a message does to the turn in flight.

Pure helpers for ``ConversationWorkflow``, apart so the workflow class keeps to
its loop: the record of the model call in flight, the busy policy's verdict on
a message, and how a repeated stop finds its first answer. No I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from temporalio.exceptions import ApplicationError

from agent_core.errors import ErrorType
from agent_core.models import BusyPolicy, StopTurnInput, StopTurnResult

__all__ = [
    "STOPPED_BY_USER",
    "TurnInFlight",
    "busy_refusal",
    "known_stop",
    "progress_refusal",
    "remember",
    "stop_keys",
]

STOPPED_BY_USER = "stopped by the user"
INTERRUPTED = "interrupted by a newer message"

V = TypeVar("V")


@dataclass
class TurnInFlight:
    """The model call in flight. A stop or an interrupt marks it; the run loop
    then cancels the call (letting the cancellation settle) and voids its text.
    ``call_id`` is the id a tool call it proposes will have."""

    seq: int
    call_id: str | None = None
    stop: StopTurnResult | None = None  # the answer the stop that marked it got
    interrupted: bool = False

    @property
    def given_up(self) -> bool:
        return self.stop is not None or self.interrupted

    @property
    def reason(self) -> str:
        return STOPPED_BY_USER if self.stop is not None else INTERRUPTED


def busy_refusal(
    policy: BusyPolicy,
    turn: TurnInFlight | None,
    tool_running: bool,
    run_id: str | None,
    events_written: int,
) -> ApplicationError | None:
    """Why a message sent now is refused under ``policy``, or None to accept it.

    ``reject`` refuses while the agent answers or runs a tool, naming what it
    collided with; ``interrupt`` refuses only while a tool runs (a tool is never
    cut off half-way); ``enqueue`` refuses nothing. ``events_written`` tells
    the gateway how far the workflow was (see ``progress_refusal``)."""
    if policy is BusyPolicy.ENQUEUE or (turn is None and not tool_running):
        return None
    if policy is BusyPolicy.INTERRUPT and not tool_running:
        return None
    if tool_running:
        return progress_refusal(
            "a tool is running and is never cut off; send the message once it is done",
            ErrorType.AGENT_BUSY if policy is BusyPolicy.REJECT else ErrorType.TOOL_RUNNING,
            events_written,
            busy="running_tool",
        )
    assert turn is not None
    return progress_refusal(
        "the agent is answering; wait for it, or stop it",
        ErrorType.AGENT_BUSY,
        events_written,
        busy="thinking",
        run_id=run_id,
        turn_seq=turn.seq,
    )


def progress_refusal(
    message: str, error: ErrorType, events_written: int, **details: object
) -> ApplicationError:
    """A refusal because the agent has not got that far yet. It names how many
    events the workflow had written: a log that holds more shows a workflow task
    whose worker died after writing them, which the retried task will reach."""
    return ApplicationError(message, {**details, "events_written": events_written}, type=error)


def stop_keys(input: StopTurnInput, result: StopTurnResult) -> list[str]:
    """The keys a stop is remembered by: its request id and the run it stopped."""
    keys = [f"run:{result.run_id}"] if result.run_id else []
    return keys + ([f"request:{input.request_id}"] if input.request_id else [])


def known_stop(
    input: StopTurnInput,
    stops: dict[str, StopTurnResult],
    turn: TurnInFlight | None,
    run_id: str | None,
) -> StopTurnResult | None:
    """The first answer of a stop seen before, else None (a new stop).

    A retried request finds its answer by request id; a stop of the turn being
    stopped now, or of a run already stopped, gets that stop's answer."""
    if input.request_id and f"request:{input.request_id}" in stops:
        return stops[f"request:{input.request_id}"]
    if turn is not None and input.run_id in (None, run_id):
        return turn.stop
    return stops.get(f"run:{input.run_id}") if input.run_id else None


def remember(memory: dict[str, V], key: str, value: V, limit: int) -> None:
    """Keep ``key`` in a bounded memory, forgetting the oldest beyond ``limit``."""
    memory[key] = value
    while len(memory) > limit:
        del memory[next(iter(memory))]
