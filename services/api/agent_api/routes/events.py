"""The per-conversation Server-Sent Events stream."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse
from temporalio.client import WorkflowExecutionStatus

from agent_api.deps import ConversationId, CurrentTenant, State
from agent_api.errors import error_responses, guarded
from agent_api.metrics import EVENTS_DELIVERED, OPEN_STREAMS
from agent_api.sse import conversation_stream
from agent_core.models import ConversationSnapshot

router = APIRouter(prefix="/v1/conversations", tags=["events"])


@router.get(
    "/{conversation_id}/events",
    name="stream_events",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "AG-UI events"},
        **error_responses(401, 404, 422, 429, 503),
    },
)
async def stream_events(
    conversation_id: ConversationId,
    state: State,
    tenant: CurrentTenant,
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
    after: Annotated[
        str | None, Query(max_length=64, description="Resume after this event id")
    ] = None,
) -> EventSourceResponse:
    """Every update of the conversation, resumable with ``Last-Event-ID``."""
    await guarded(state.conversations.snapshot(tenant, conversation_id))  # 404 before streaming
    handle = state.conversations.handle(tenant, conversation_id)

    async def snapshot() -> ConversationSnapshot:
        return await guarded(state.conversations.snapshot(tenant, conversation_id))

    async def is_closed() -> bool:
        try:
            return (await handle.describe()).status != WorkflowExecutionStatus.RUNNING
        except Exception:
            return False

    async def events():  # type: ignore[no-untyped-def]
        OPEN_STREAMS.inc()
        try:
            async for frame in conversation_stream(
                state.events,
                state.tail,
                conversation_id,
                last_event_id or after,
                snapshot,
                is_closed,
                EVENTS_DELIVERED.inc,
            ):
                yield frame
        finally:
            OPEN_STREAMS.dec()

    return EventSourceResponse(
        events(),
        ping=state.settings.api_sse_ping_seconds,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
