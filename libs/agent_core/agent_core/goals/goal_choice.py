"""The starter goal: ask what the user wants, then move to the goal that serves it.

It has no tools of its own: the built-in ``switch_goal`` (offered with every
goal) is how it hands over, so its prompt lists the goals it can choose.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent_core.specs import Goal

__all__ = ["goal"]


def goal(others: Sequence[Goal]) -> Goal:
    """The concierge for ``others``: its description and greeting name each of them."""
    choices = "; ".join(f"{g.title.lower()} ({g.id})" for g in others)
    titles = ", ".join(g.title.lower() for g in others)
    last = others[-1]
    return Goal(
        id="goal_choice",
        title="Help me choose",
        description=(
            "Find out what the user wants to do and move the conversation to the goal "
            f"that serves it: {choices}. Do not try to do the task yourself."
        ),
        agent_name="Concierge",
        tools=(),
        starter_prompt=f"Hi! I can help you {titles}. What would you like to do?",
        example_conversation=(
            "user: hello\n"
            f"agent: Hi! I can help you {titles}. What would you like to do?\n"
            f"user: I'd like to {last.title.lower()}\n"
            f"agent: I'll hand you over to the {last.agent_name.lower()}. OK?\n"
            "user: yes\n"
            f"tool(switch_goal): now {last.id}"
        ),
    )
