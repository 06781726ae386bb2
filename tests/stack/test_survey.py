"""What the plan learns from the machine: a given Redis answers or not, the binaries."""

from __future__ import annotations

from durable_agent.stack.plan import survey


async def test_a_redis_that_answers_has_no_problem(redis_url: str) -> None:
    machine = await survey({"REDIS_URL": redis_url})
    assert machine.redis_problem is None
    assert machine.temporal is not None and machine.gateway_installed


async def test_a_redis_that_does_not_answer_says_why() -> None:
    machine = await survey({"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert machine.redis_problem and "Connection" in machine.redis_problem
    assert (await survey({})).redis_problem is None
