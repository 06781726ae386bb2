"""The side-effect ledger on Redis: one record per idempotency key.

``SET NX`` stores the first result for a key atomically; a retried tool run
reads that record back instead of acting again.
"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis

__all__ = ["RedisLedger"]


class RedisLedger:
    def __init__(
        self, redis_url: str, prefix: str = "ledger:", ttl_seconds: int = 30 * 24 * 3600
    ) -> None:
        self._redis = aioredis.from_url(redis_url, decode_responses=True)
        self._prefix = prefix
        self._ttl = ttl_seconds

    async def record_once(self, key: str, value: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        name = self._prefix + key
        created = await self._redis.set(name, json.dumps(value), nx=True, ex=self._ttl)
        if created:
            return value, True
        stored = await self._redis.get(name)
        return (json.loads(stored) if stored else value), False

    async def close(self) -> None:
        await self._redis.aclose()
