"""Sample data and stable derivations shared by the demo tools.

The tool worker imports every handler at start-up, so importing a tool must not
touch the disk: each JSON file under ``sample_data/`` is read the first time a
tool asks for it, then kept. (Not ``data/``: the repo's .gitignore drops that
name.) Ids and prices come from a SHA-256 digest, never ``random`` or
``hash()``, so a retried activity tells the user what the first run did.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from agent_core.errors import ToolFailed

__all__ = ["digest", "find_key", "load_json", "parse_date"]


@cache
def load_json(name: str) -> Any:
    """The parsed ``sample_data/<name>``, read once per process. Callers must not mutate it."""
    text = (resources.files("worker_tools.tools") / "sample_data" / name).read_text("utf-8")
    return json.loads(text)


def digest(*parts: str) -> str:
    """Hex SHA-256 of ``parts``: the same in every process, unlike ``hash()``."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def find_key(table: dict[str, Any], name: str) -> str | None:
    """The key of ``table`` equal to ``name`` ignoring case and outer spaces."""
    wanted = name.strip().casefold()
    return next((key for key in table if key.casefold() == wanted), None)


def parse_date(value: str, field: str) -> date:
    """``value`` as a date; the schema checks the shape, this checks the calendar."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ToolFailed(f"{field} {value!r} is not a real date (YYYY-MM-DD)") from None
