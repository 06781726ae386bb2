"""Per-tenant token bucket in Redis, shared by every gateway replica.

One Lua call refills by elapsed time and takes a token atomically. If Redis
is unreachable the request is let through: the limiter protects the agent,
it must not take the API down with it.
"""

from __future__ import annotations

import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

__all__ = ["RateLimiter"]

log = logging.getLogger(__name__)

# KEYS[1] bucket; ARGV: capacity, refill per second, now (s), ttl (s). Returns wait seconds (0 = allowed).
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or capacity
local at = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return tostring(wait)
"""


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, per_minute: int) -> None:
        self._take = redis.register_script(_TAKE)
        self._capacity = per_minute
        self._rate = per_minute / 60.0

    async def wait_needed(self, tenant: str) -> float:
        """Seconds until the tenant may make a request; 0 when allowed now."""
        try:
            wait = await self._take(
                keys=[f"ratelimit:{tenant}"], args=[self._capacity, self._rate, time.time(), 120]
            )
        except RedisError:
            log.warning("rate limiter unavailable; letting the request through")
            return 0.0
        return float(wait)
