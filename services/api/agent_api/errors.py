"""Every error the gateway returns: one JSON shape, one translation boundary.

``ApiError`` carries an HTTP status, a stable ``code`` callers branch on and
a short message. Temporal, Redis and agent-core exceptions are translated
here and nowhere else; anything unexpected becomes a 500 with no detail (the
traceback goes to the log only).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Route
from temporalio.client import (
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from agent_api.schemas import ErrorResponse
from agent_core.errors import ErrorType

__all__ = [
    "ApiError",
    "error_responses",
    "guarded",
    "install_error_handlers",
    "not_found",
    "translate_temporal",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
TEMPORAL_CALL_SECONDS = 20.0


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        details: list[Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers
        self.details = details


def not_found() -> ApiError:
    return ApiError(404, "conversation_not_found", "no such conversation")


def unavailable(what: str) -> ApiError:
    return ApiError(
        503, f"{what}_unavailable", f"{what} is unavailable; retry shortly", {"Retry-After": "2"}
    )


_UPDATE_REFUSALS = {
    ErrorType.CHAT_ENDED: (409, "conversation_ended"),
    ErrorType.NOTHING_PENDING: (409, "nothing_pending"),
    ErrorType.BAD_PROMPT: (422, "bad_message"),
    ErrorType.QUEUE_FULL: (429, "too_many_queued_messages"),
    ErrorType.RUN_IN_PROGRESS: (409, "run_in_progress"),
    ErrorType.AGENT_BUSY: (409, "agent_busy"),
    ErrorType.NOTHING_RUNNING: (409, "nothing_running"),
    ErrorType.TOOL_RUNNING: (409, "tool_running"),
    ErrorType.BAD_TOOL_ARGS: (422, "bad_tool_args"),
    ErrorType.UNKNOWN_GOAL: (422, "unknown_goal"),
}


def translate_temporal(exc: Exception) -> ApiError:
    """Map a Temporal client error to an API error (404, 409, 429, 503...)."""
    if isinstance(exc, WorkflowUpdateFailedError) and isinstance(exc.cause, ApplicationError):
        status, code = _UPDATE_REFUSALS.get(exc.cause.type or "", (409, "refused"))
        # what the refusal names (the turn a busy message collided with)
        details = list(exc.cause.details) or None
        return ApiError(status, code, exc.cause.message, details=details)
    if isinstance(exc, RPCError):
        if exc.status == RPCStatusCode.NOT_FOUND:
            return not_found()
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:
            return ApiError(
                422, "invalid_request", "the request was refused by the workflow service"
            )
    if isinstance(exc, WorkflowQueryFailedError):
        return unavailable("agent")
    if isinstance(exc, WorkflowUpdateRPCTimeoutOrCancelledError | TimeoutError):
        return unavailable("agent")
    return unavailable("temporal")


def _body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return ErrorResponse.model_validate(
        {"error": {"code": code, "message": message, "details": details}}
    ).model_dump(exclude_none=True)


def install_error_handlers(app: FastAPI, routes: Sequence[BaseRoute]) -> None:
    """``routes``: every route the app serves, for the ``Allow`` header of a 405."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            _body(exc.code, exc.message, exc.details), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse(
            _body("invalid_request", "the request is not valid", details), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's answer to a body it cannot decode at all (not UTF-8): the same
            # documented 422 as malformed JSON.
            return JSONResponse(
                _body("invalid_request", "the request body could not be parsed"), status_code=422
            )
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
            exc.status_code, "http_error"
        )
        headers = exc.headers
        allowed = _allowed_methods(routes, request) if exc.status_code == 405 else None
        if allowed:  # else (the docs' routes) Starlette's own
            headers = {**(headers or {}), "Allow": allowed}
        return JSONResponse(
            _body(code, str(exc.detail)), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(RedisError)
    async def _redis(_: Request, exc: RedisError) -> JSONResponse:
        return JSONResponse(
            _body("redis_unavailable", "the event store is unavailable; retry shortly"),
            status_code=503,
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(RPCError)
    async def _rpc(_: Request, exc: RPCError) -> JSONResponse:
        err = translate_temporal(exc)
        return JSONResponse(
            _body(err.code, err.message), status_code=err.status, headers=err.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(
            _body("internal_error", "something went wrong; it has been logged"), status_code=500
        )


def _allowed_methods(routes: Sequence[BaseRoute], request: Request) -> str:
    """Every method of the path, not only one route's: FastAPI has a route per method,
    and Starlette's 405 names the methods of the first route that matched the path."""
    methods = {
        method
        for route in routes
        if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE
        for method in route.methods or ()
    }
    return ", ".join(sorted(methods))


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the error statuses a route can return."""
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]}
        for status in statuses
    }


_DESCRIPTIONS = {
    401: "Missing or unknown API key",
    404: "No such conversation for this caller (or no such transcript page)",
    409: "The conversation cannot take this now (ended, nothing pending or running, "
    "the agent busy, a tool running)",
    410: "An archived transcript page is no longer in the object store",
    413: "The message is too long",
    422: "The request body or parameters are not valid (an unknown goal or tool, "
    "edited arguments that do not fit the tool's schema)",
    429: "Rate limit or message queue full",
    503: "Temporal, Redis or the object store unavailable; see Retry-After",
}


async def guarded(call: Awaitable[T]) -> T:
    """Await a Temporal call, translating its failures and bounding its wait
    (an update waits for a worker; with none polling, answer 503, not hang)."""
    try:
        async with asyncio.timeout(TEMPORAL_CALL_SECONDS):
            return await call
    except (
        RPCError,
        WorkflowUpdateFailedError,
        WorkflowQueryFailedError,
        WorkflowUpdateRPCTimeoutOrCancelledError,
        TimeoutError,
    ) as exc:
        raise translate_temporal(exc) from exc
    except RuntimeError as exc:
        # A lazy client that cannot reach Temporal raises a bare RuntimeError.
        if str(exc).startswith("Failed client connect"):
            raise unavailable("temporal") from exc
        raise
