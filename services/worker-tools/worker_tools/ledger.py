"""The side-effect ledger, kept in the object store: one record per idempotency key.

A side-effecting tool reserves, acts and commits: the workflow writes the call
into its history before the tool runs (``tool_started``), the tool acts through
``record_once`` with the run's idempotency key, and the activity's result
commits it to history, after which the workflow never runs that call again. The
act is a create-unless-present of the key's record (what a provider honouring
an idempotency key does), so a retry after a crash reads the first record back
instead of acting twice. The record lives in the object store (a directory,
MinIO or S3), not in Redis: a Redis that restarts empty, or is wiped, repeats
nothing.
"""

from __future__ import annotations

import json
from typing import Any

from agent_core.object_store import ObjectStore

__all__ = ["ObjectLedger", "ledger_key"]


def ledger_key(idempotency_key: str) -> str:
    return f"ledger/{idempotency_key}.json"


class ObjectLedger:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def record_once(self, key: str, value: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        name = ledger_key(key)
        if await self._store.create(name, json.dumps(value).encode()):
            return value, True
        stored = await self._store.read(name)
        return (json.loads(stored) if stored else value), False
