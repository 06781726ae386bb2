"""HR time-off goal: check an employee's leave balance and request leave."""

from __future__ import annotations

from typing import Any

from agent_core.models import ToolPolicy
from agent_core.specs import Goal, ToolSpec

_EMPLOYEE_ID = {
    "type": "string",
    "pattern": r"^E\d{4}$",
    "description": "Employee id: E and four digits",
    "examples": ["E1042"],
}


def _date(description: str, example: str) -> dict[str, Any]:
    return {
        "type": "string",
        "format": "date",
        "pattern": r"^\d{4}-\d{2}-\d{2}$",
        "description": description,
        "examples": [example],
    }


TOOLS = (
    ToolSpec(
        name="check_leave_balance",
        description="Show how many working days of each kind of leave an employee has left.",
        parameters={
            "type": "object",
            "properties": {"employee_id": _EMPLOYEE_ID},
            "required": ["employee_id"],
            "additionalProperties": False,
        },
        handler="worker_tools.tools.check_leave_balance:check_leave_balance",
        approval=ToolPolicy.AUTO,  # a read-only lookup
    ),
    ToolSpec(
        name="book_leave",
        description=(
            "Request leave for an employee from start_date to end_date inclusive. "
            "Files the request with the employee's approver."
        ),
        parameters={
            "type": "object",
            "properties": {
                "employee_id": _EMPLOYEE_ID,
                "start_date": _date("First day of leave", "2027-05-03"),
                "end_date": _date("Last day of leave (inclusive)", "2027-05-07"),
                "kind": {
                    "type": "string",
                    "enum": ["annual", "sick", "personal"],
                    "examples": ["annual"],
                },
            },
            "required": ["employee_id", "start_date", "end_date", "kind"],
            "additionalProperties": False,
        },
        handler="worker_tools.tools.book_leave:book_leave",
        side_effects=True,
    ),
)

GOAL = Goal(
    id="hr_time_off",
    title="Book time off",
    description=(
        "Help an employee see how much leave they have left and request annual, sick "
        "or personal leave for the dates they choose."
    ),
    agent_name="Time-off assistant",
    category="hr",
    tools=("check_leave_balance", "book_leave"),
    starter_prompt="Hi! I can check your leave balance and book time off. What's your employee id?",
    example_conversation=(
        "user: I'd like to take the first week of May off\n"
        "agent: Happy to help. What is your employee id?\n"
        "user: E1042\n"
        "agent: I'll check the leave balances for E1042. OK?\n"
        "user: yes\n"
        "tool(check_leave_balance): annual 14.5, sick 8, personal 2\n"
        "agent: You have 14.5 days of annual leave. Shall I book annual leave from "
        "Monday 3 May to Friday 7 May 2027? That is 5 working days.\n"
        "user: yes please\n"
        "tool(book_leave): LV-3F09A1C2D4, 5 working days, pending approval by Tomasz Okafor\n"
        "agent: Done: request LV-3F09A1C2D4 is with Tomasz Okafor for approval. "
        "You will have 9.5 days of annual leave left."
    ),
)
