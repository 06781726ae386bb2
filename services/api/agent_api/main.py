"""The gateway: ``create_app(settings)`` and the ``agent-api`` entry point.

Stateless: the lifespan opens one Temporal client (lazily, so the process
starts and reports not-ready while Temporal is down) and one Redis pool;
any number of replicas can run side by side.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from agent_api.auth import KeyRing
from agent_api.body_limit import BodySizeLimit
from agent_api.deps import AppState
from agent_api.errors import install_error_handlers
from agent_api.event_tail import EventTail
from agent_api.mcp_catalog import McpCatalogCache
from agent_api.metrics import RequestMetrics
from agent_api.metrics_server import metrics_server
from agent_api.rate_limit import RateLimiter
from agent_api.routes import agui, conversations, events, goals, health, web
from agent_core.conversation_client import ConversationClient
from agent_core.event_log import EventLog
from agent_core.models import TaskQueues
from agent_core.object_store import open_object_store
from agent_core.redis_options import connection_options
from agent_core.settings import Settings
from agent_core.temporal_client import connect_temporal

__all__ = ["create_app", "main"]

log = logging.getLogger("agent_api")


def _unique_id(route: APIRoute) -> str:
    return f"{route.tags[0] if route.tags else 'default'}-{route.name}"


def _announce(settings: Settings, keys: KeyRing) -> None:
    if settings.api_dev_mode:
        log.warning(
            "DEVELOPMENT MODE: requests without an API key act as tenant 'dev'. Never expose this."
        )
    if not keys and not settings.api_dev_mode:
        log.warning(
            "no API keys configured (API_KEYS / API_KEYS_FILE): every /v1 request will get 401"
        )


def _app(settings: Settings, **options: Any) -> FastAPI:
    """With ``API_DOCS`` (the default) FastAPIOffline: /docs and /redoc load their
    assets from the gateway, not a CDN; without, no docs and no OpenAPI route."""
    if settings.api_docs:
        return FastAPIOffline(**options)
    return FastAPI(docs_url=None, redoc_url=None, openapi_url=None, **options)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    keys = KeyRing.from_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _announce(settings, keys)
        redis = aioredis.from_url(
            settings.redis_url,
            decode_responses=True,
            socket_connect_timeout=2,
            **connection_options(),
        )
        queues = TaskQueues(llm=settings.llm_task_queue, tools=settings.tools_task_queue)
        async with (
            open_object_store(settings) as store,
            EventLog(
                settings.redis_url, settings.events_stream_maxlen, settings.events_retention_seconds
            ) as log_,
            EventTail(settings.redis_url, log_, settings.api_stream_closed_check_seconds) as tail,
            contextlib.AsyncExitStack() as scope,
        ):
            if settings.metrics_port:
                await scope.enter_async_context(
                    metrics_server(settings.api_host, settings.metrics_port)
                )
            temporal = await connect_temporal(settings, store, lazy=True)
            app.state.agent = AppState(
                settings=settings,
                temporal=temporal,
                store=store,
                conversations=ConversationClient(temporal, settings.workflow_task_queue, queues),
                events=log_,
                tail=tail,
                redis=redis,
                keys=keys,
                limiter=RateLimiter(redis, settings.api_rate_limit_per_minute),
                mcp_catalog=McpCatalogCache(temporal, settings.tools_task_queue),
            )
            yield
        await redis.aclose()

    app = _app(
        settings,
        title="durable-agent",
        version="0.1.0",
        lifespan=lifespan,
        generate_unique_id_function=_unique_id,
        description="A durable, streaming AI agent on Temporal. Events follow AG-UI; see the README.",
    )
    routers = [module.router for module in (health, goals, conversations, events, agui, web)]
    install_error_handlers(app, [route for router in routers for route in router.routes])
    for router in routers:
        app.include_router(router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        )
    # a message of AGENT_MAX_PROMPT_CHARS characters, each JSON-escaped to at most 6 bytes
    app.add_middleware(BodySizeLimit, max_bytes=settings.agent_max_prompt_chars * 6 + 64 * 1024)
    app.add_middleware(RequestMetrics)
    return app


#: longer than the idle timeout of the proxies in front (60 s for most load balancers),
#: so the gateway never closes a kept-alive connection just as a client reuses it
KEEP_ALIVE_SECONDS = 75


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        access_log=settings.api_access_log,
        proxy_headers=True,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
