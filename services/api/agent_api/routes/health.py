"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agent_api.deps import State

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Temporal or Redis unreachable"}})
async def readyz(state: State) -> JSONResponse:
    """Temporal and Redis are reachable."""
    try:
        temporal = await asyncio.wait_for(state.temporal.service_client.check_health(), 3)
    except Exception:
        temporal = False
    redis = await state.events.ping()
    body = {
        "temporal": "ok" if temporal else "unavailable",
        "redis": "ok" if redis else "unavailable",
    }
    ready = bool(temporal and redis)
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", **body},
        status_code=200 if ready else 503,
        headers=None if ready else {"Retry-After": "2"},
    )


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
