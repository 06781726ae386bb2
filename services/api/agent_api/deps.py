"""Dependencies injected into routes: app state, the caller's tenant, ids."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from agent_api.auth import DEV_TENANT, KeyRing
from agent_api.errors import ApiError, not_found
from agent_api.event_tail import EventTail
from agent_api.mcp_catalog import McpCatalogCache
from agent_api.rate_limit import RateLimiter
from agent_core.conversation_client import ConversationClient
from agent_core.conversation_ids import is_valid_conversation_id
from agent_core.event_log import EventLog
from agent_core.object_store import ObjectStore
from agent_core.settings import Settings

__all__ = ["AppState", "ConversationId", "CurrentTenant", "State"]


@dataclass
class AppState:
    """What the lifespan opens once and every request shares."""

    settings: Settings
    temporal: Client
    store: ObjectStore
    conversations: ConversationClient
    events: EventLog
    tail: EventTail
    redis: aioredis.Redis
    keys: KeyRing
    limiter: RateLimiter
    mcp_catalog: McpCatalogCache


# Dependencies are ``async`` even where they await nothing: FastAPI runs a plain
# ``def`` dependency in its thread pool, a round trip to a thread on every request.
async def _state(request: Request) -> AppState:
    return request.app.state.agent


State = Annotated[AppState, Depends(_state)]

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer <key>`")


async def _tenant(
    state: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str:
    """The caller's tenant (401 without a known key), charged one rate-limit token (429)."""
    if credentials is not None:
        tenant = state.keys.tenant_for(credentials.credentials)
    else:
        tenant = DEV_TENANT if state.settings.api_dev_mode else None
    if tenant is None:
        raise ApiError(
            401, "unauthorized", "a valid API key is required", {"WWW-Authenticate": "Bearer"}
        )
    wait = await state.limiter.wait_needed(tenant)
    if wait > 0:
        raise ApiError(
            429, "rate_limited", "too many requests", {"Retry-After": str(math.ceil(wait))}
        )
    return tenant


CurrentTenant = Annotated[str, Depends(_tenant)]


async def _conversation_id(conversation_id: Annotated[str, Path()]) -> str:
    # Any malformed id (too long included) is one no conversation has: 404, like
    # an unknown one, rather than a 422 that tells ids apart by shape.
    if not is_valid_conversation_id(conversation_id):
        raise not_found()
    return conversation_id


ConversationId = Annotated[str, Depends(_conversation_id)]
