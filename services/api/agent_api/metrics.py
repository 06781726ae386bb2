"""Gateway metrics: requests by route and status, latency, streams, events."""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["EVENTS_DELIVERED", "OPEN_STREAMS", "RequestMetrics"]

REQUESTS = Counter(
    "api_requests_total", "HTTP requests, by route and status", ["method", "route", "status"]
)
LATENCY = Histogram(
    "api_request_seconds",
    "Time to response start, by route",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OPEN_STREAMS = Gauge("api_open_sse_streams", "SSE streams currently open")
EVENTS_DELIVERED = Counter("api_sse_events_delivered_total", "Events sent over SSE")


class RequestMetrics:
    """ASGI middleware: counts by the route template (bounded), not the raw path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                route = getattr(scope.get("route"), "path", "unmatched")
                LATENCY.labels(scope["method"], route).observe(time.monotonic() - started)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()
