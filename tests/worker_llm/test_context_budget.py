"""The context budget on rendered prompts: oldest lines first, tool pairs kept valid."""

from __future__ import annotations

import pytest

from worker_llm.context_budget import estimate_tokens, fit_prompt

pytestmark = pytest.mark.fast

SYSTEM = {"role": "system", "content": "You are a travel agent."}
CALL = {
    "role": "assistant",
    "content": "Looking.",
    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
}
RESULT = {"role": "tool", "tool_call_id": "c1", "content": "r" * 3000}


def test_a_call_and_its_result_leave_together_and_the_newest_line_stays() -> None:
    messages = [SYSTEM, {"role": "user", "content": "u" * 2000}, CALL, RESULT]
    messages.append({"role": "user", "content": "newest"})
    fitted = fit_prompt(messages, None, budget=100)
    assert fitted == [SYSTEM, {"role": "user", "content": "newest"}]
    assert all(m.get("role") != "tool" for m in fitted)


def test_a_result_that_is_the_newest_line_keeps_its_call_and_is_shortened() -> None:
    messages = [SYSTEM, {"role": "user", "content": "old"}, CALL, RESULT]
    fitted = fit_prompt(messages, None, budget=300)
    assert fitted[1:3] == [CALL, fitted[2]] and fitted[2]["tool_call_id"] == "c1"
    assert fitted[2]["content"].endswith("(cut to fit the context window)")
    assert estimate_tokens(fitted, None) <= 300


def test_a_prompt_within_budget_is_unchanged() -> None:
    messages = [SYSTEM, {"role": "user", "content": "hi"}]
    assert fit_prompt(messages, None, budget=1000) == messages
