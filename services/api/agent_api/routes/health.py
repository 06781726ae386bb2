"""Liveness, readiness, and Prometheus metrics when they have no port of their own."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent_api.deps import State

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Temporal and Redis both unreachable"}})
async def readyz(state: State) -> JSONResponse:
    """Whether this gateway can serve: ready while Temporal or Redis answers.

    Each alone is enough for part of the API (Redis: the streams' logs;
    Temporal: every request, streams from snapshots), so a blip of one
    reports ``degraded`` and keeps the replica in its Service instead of
    taking every replica out at once."""
    try:
        temporal = await asyncio.wait_for(state.temporal.service_client.check_health(), 3)
    except Exception:
        temporal = False
    redis = await state.events.ping()
    body = {
        "temporal": "ok" if temporal else "unavailable",
        "redis": "ok" if redis else "unavailable",
    }
    ready = bool(temporal or redis)
    status = "ready" if temporal and redis else "degraded" if ready else "not_ready"
    return JSONResponse(
        {"status": status, **body},
        status_code=200 if ready else 503,
        headers=None if ready else {"Retry-After": "2"},
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(state: State) -> Response:
    """Here only while ``METRICS_PORT`` is 0; otherwise on that port (metrics_server)."""
    if state.settings.metrics_port:
        raise StarletteHTTPException(404)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
