"""The demo HR records, shared by the time-off tools."""

from __future__ import annotations

from datetime import date
from typing import Any

from agent_core.errors import ToolFailed
from worker_tools.tools._data import load_json

__all__ = ["company_closures", "employee"]


def employee(employee_id: str) -> dict[str, Any]:
    """The employee's record; ``ToolFailed`` for an id HR does not know."""
    record = load_json("employees.json")["employees"].get(employee_id.strip().upper())
    if record is None:
        raise ToolFailed(f"no employee with id {employee_id}")
    return dict(record)


def company_closures() -> frozenset[date]:
    """Days the whole company is closed: they cost no leave."""
    return frozenset(
        date.fromisoformat(day) for day in load_json("employees.json")["company_closures"]
    )
