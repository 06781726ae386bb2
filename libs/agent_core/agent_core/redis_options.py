"""The connection options of the services' Redis clients that send commands (the
event log, the rate limiter; the gateway's subscription makes itself again).

A pooled connection that Redis (or the network) reset while it sat idle is
found broken only when the next command is written to it. redis-py then
raises ``ConnectionError``; under uvloop, the gateway's event loop, the write
raises a bare ``RuntimeError`` instead ("the handler is closed",
MagicStack/uvloop#506), which escapes every ``RedisError`` handler: a 500
from the rate limiter, a stream reader that dies. Either way the command
never reached Redis, so it is sent again, once, on a fresh connection.
Timeouts are not retried: that command may have run, and its caller
(a Temporal activity, a reader that reads again) already owns retrying.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

__all__ = ["connection_options"]


def connection_options() -> dict[str, Any]:
    """Keyword arguments for ``redis.asyncio.from_url`` and its pools (a new
    ``Retry`` each time: redis-py copies it per connection, but keep no sharing)."""
    return {"retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError, RuntimeError))}
