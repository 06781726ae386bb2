"""The turn-control rules on their own: the busy policy's verdict, a repeated stop's answer.

``test_turn_control.py`` drives the same rules through the real stack; these
pin each case in milliseconds.
"""

from __future__ import annotations

import pytest

from agent_core import turn_control as tc
from agent_core.errors import ErrorType
from agent_core.models import BusyPolicy, StopTurnInput, StopTurnResult

pytestmark = pytest.mark.fast


def test_the_busy_policy_refuses_only_what_it_must() -> None:
    thinking = tc.TurnInFlight(seq=7)
    assert tc.busy_refusal(BusyPolicy.ENQUEUE, thinking, True, "r1", 9) is None
    assert tc.busy_refusal(BusyPolicy.REJECT, None, False, None, 9) is None
    assert tc.busy_refusal(BusyPolicy.INTERRUPT, thinking, False, "r1", 9) is None
    busy = tc.busy_refusal(BusyPolicy.REJECT, thinking, False, "r1", 9)
    assert busy is not None and busy.type == ErrorType.AGENT_BUSY
    assert busy.details == (
        {"busy": "thinking", "run_id": "r1", "turn_seq": 7, "events_written": 9},
    )
    for policy, kind in (
        (BusyPolicy.REJECT, ErrorType.AGENT_BUSY),
        (BusyPolicy.INTERRUPT, ErrorType.TOOL_RUNNING),
    ):
        refusal = tc.busy_refusal(policy, None, True, None, 9)  # a tool is never cut off
        assert refusal is not None and refusal.type == kind
        assert refusal.details == ({"busy": "running_tool", "events_written": 9},)


def test_a_repeated_stop_gets_the_first_answer() -> None:
    first = StopTurnResult(seq=3, run_id="r1")
    stops: dict[str, StopTurnResult] = {}
    for key in tc.stop_keys(StopTurnInput(request_id="q1", run_id="r1"), first):
        tc.remember(stops, key, first, limit=10)
    assert set(stops) == {"run:r1", "request:q1"}
    assert tc.known_stop(StopTurnInput(request_id="q1"), stops, None, None) is first
    assert tc.known_stop(StopTurnInput(run_id="r1"), stops, None, None) is first
    assert tc.known_stop(StopTurnInput(run_id="r2"), stops, None, None) is None
    stopping = tc.TurnInFlight(seq=3, stop=first)
    assert tc.known_stop(StopTurnInput(), {}, stopping, "r1") is first
    assert stopping.given_up and stopping.reason == tc.STOPPED_BY_USER


def test_the_memory_forgets_the_oldest_beyond_its_limit() -> None:
    memory: dict[str, int] = {}
    for i in range(5):
        tc.remember(memory, f"k{i}", i, limit=3)
    assert list(memory) == ["k2", "k3", "k4"]
