"""Readiness checks: a TCP port, an HTTP status, a Redis PING."""

from __future__ import annotations

import asyncio
import contextlib
import re


async def _tcp_open(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def http_status(host: str, port: int, path: str, within: float = 3.0) -> int | None:
    """The status code of ``GET path`` (plain HTTP/1.0), or None if it did not answer."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), within)
    except (OSError, TimeoutError):
        return None
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode())
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), within)
    except (OSError, TimeoutError):
        return None
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    match = re.match(rb"HTTP/\d(?:\.\d)? (\d{3})", line)
    return int(match.group(1)) if match else None


async def redis_ping(url: str, within: float = 2.0) -> str | None:
    """None if Redis at ``url`` answers PING, else why not."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(url, socket_connect_timeout=within, socket_timeout=within)
    try:
        await asyncio.wait_for(client.ping(), within + 1)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()
    return None
