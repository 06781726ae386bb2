"""The per-conversation Server-Sent Events stream.

Opening a stream reads Redis and asks the Temporal server whether the
conversation exists (``describe``): no workflow worker is needed. Only a
snapshot (a lost or trimmed log) runs the workflow query.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Query, Response
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse
from temporalio.client import WorkflowExecutionStatus

from agent_api.deps import ConversationId, CurrentTenant, State
from agent_api.errors import ApiError, error_responses, guarded
from agent_api.metrics import EVENTS_DELIVERED, OPEN_STREAMS
from agent_api.schemas import SnapshotState
from agent_api.sse import closed_probe, conversation_stream, open_cursor, sse_response

router = APIRouter(prefix="/v1/conversations", tags=["events"])

# an event id (ASCII digits only: a Unicode digit is no Redis stream id), or 0
_CURSOR_PATTERN = r"^(0|[0-9]{1,20}-[0-9]{1,20})$"
_CURSOR = re.compile(_CURSOR_PATTERN)


def _documented_cursor(schema: dict[str, Any]) -> None:
    """The cursor's schema: a string (a header or query value is never JSON null) of
    the pattern ``_cursor`` checks, with its own 422 (``bad_cursor``)."""
    string = next(s for s in schema.pop("anyOf") if s.get("type") == "string")
    schema.update(string, pattern=_CURSOR_PATTERN)


def _cursor(last_event_id: str | None, after: str | None) -> str | None:
    """The position to resume after (``Last-Event-ID`` first); each one given is checked."""
    if any(c is not None and not _CURSOR.fullmatch(c) for c in (last_event_id, after)):
        raise ApiError(
            422, "bad_cursor", "Last-Event-ID / after must be an event id from this stream"
        )
    cursor = last_event_id or after
    return None if cursor == "0" else cursor


async def _last_id(state: State, conversation_id: str) -> str | None:
    try:
        return await state.events.last_id(conversation_id)
    except RedisError:
        return None


@router.get(
    "/{conversation_id}/events",
    name="stream_events",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "AG-UI events"},
        204: {"description": "The conversation ended and the stream has nothing after the cursor"},
        **error_responses(401, 404, 422, 429, 503),
    },
)
async def stream_events(
    conversation_id: ConversationId,
    state: State,
    tenant: CurrentTenant,
    last_event_id: Annotated[
        str | None, Header(max_length=64, json_schema_extra=_documented_cursor)
    ] = None,
    after: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Resume after this event id",
            json_schema_extra=_documented_cursor,
        ),
    ] = None,
) -> Response:
    """Every update of the conversation, resumable with ``Last-Event-ID``."""
    resume_from = _cursor(last_event_id, after)
    handle = state.conversations.handle(tenant, conversation_id)
    description = await guarded(handle.describe())  # 404 before streaming
    cursor = await open_cursor(state.events, conversation_id, resume_from)
    closed = description.status != WorkflowExecutionStatus.RUNNING
    at_end = cursor.position is not None and cursor.position == await _last_id(
        state, conversation_id
    )
    if closed and resume_from and at_end:
        return Response(status_code=204)  # nothing after the end: EventSource stops here

    async def snapshot() -> SnapshotState:
        snap = await guarded(state.conversations.snapshot(tenant, conversation_id))
        return SnapshotState.from_snapshot(snap)

    async def events(stop: anyio.Event):  # type: ignore[no-untyped-def]
        OPEN_STREAMS.inc()
        try:
            async for frame in conversation_stream(
                state.events,
                state.tail,
                conversation_id,
                cursor,
                snapshot,
                closed_probe(handle),
                stop,
                EVENTS_DELIVERED.inc,
            ):
                yield frame
        finally:
            OPEN_STREAMS.dec()

    return sse_response(events, state.settings.api_sse_ping_seconds)
