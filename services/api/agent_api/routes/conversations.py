"""Conversations: create, list, read, and the inputs a user sends to one."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import APIRouter, Request, status
from redis.exceptions import RedisError

from agent_api.deps import ConversationId, CurrentTenant, State
from agent_api.errors import ApiError, error_responses, guarded
from agent_api.schemas import (
    Accepted,
    ConversationCreate,
    ConversationCreated,
    ConversationList,
    ConversationListItem,
    ConversationPublic,
    MessageCreate,
    ToolRejection,
)
from agent_core import events as ev
from agent_core.errors import UnknownGoal
from agent_core.models import ConversationStatus, ToolDecisionResult
from agent_core.registry import get_goal

T = TypeVar("T")

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])


def _events_url(request: Request, conversation_id: str) -> str:
    return str(request.url_for("stream_events", conversation_id=conversation_id).path)


async def _update(state: State, tenant: str, conversation_id: str, call: Awaitable[T]) -> T:
    """Send an update; "not found" from a workflow that exists but has closed
    (or closed while the update waited) is a 409, not a 404."""
    try:
        return await guarded(call)
    except ApiError as exc:
        if exc.status == 404 and await guarded(state.conversations.exists(tenant, conversation_id)):
            raise ApiError(409, "conversation_ended", "the conversation has ended") from exc
        raise


async def _decide(
    state: State,
    tenant: str,
    conversation_id: str,
    update: Awaitable[ToolDecisionResult],
    reason: str | None,
) -> Accepted:
    """Send a confirm or reject, then announce the recorded decision."""
    result = await _update(state, tenant, conversation_id, update)
    decided = ev.decision_recorded(result.seq, result.call_id, result.approved, reason)
    await state.events.publish(conversation_id, [decided])
    return Accepted(conversation_id=conversation_id, seq=result.seq, tool_call_id=result.call_id)


def _check_length(state: State, text: str | None) -> None:
    limit = state.settings.agent_max_prompt_chars
    if text is not None and len(text) > limit:
        raise ApiError(413, "message_too_long", f"messages are limited to {limit} characters")
    if text is not None and not text.strip():
        raise ApiError(422, "bad_message", "the message is empty")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 413, 422, 429, 503),
)
async def create_conversation(
    body: ConversationCreate, request: Request, state: State, tenant: CurrentTenant
) -> ConversationCreated:
    """Start a conversation with a goal, optionally with its first message."""
    try:
        get_goal(body.goal)
    except UnknownGoal:
        raise ApiError(
            422, "unknown_goal", f"unknown goal {body.goal!r}; see GET /v1/goals"
        ) from None
    _check_length(state, body.message)
    conversation_id = uuid.uuid4().hex
    await state.events.publish(
        conversation_id, [ev.conversation_created(conversation_id, body.goal)]
    )
    result = await guarded(
        state.conversations.start(tenant, conversation_id, body.goal, body.message)
    )
    if result is not None and body.message is not None:
        await state.events.publish(conversation_id, [ev.user_message(result.seq, body.message)])
    return ConversationCreated(
        id=conversation_id,
        goal=body.goal,
        status=ConversationStatus.THINKING if result else ConversationStatus.AWAITING_INPUT,
        events_url=_events_url(request, conversation_id),
        message_seq=result.seq if result else None,
    )


@router.get("", responses=error_responses(401, 422, 429, 503))
async def list_conversations(
    state: State, tenant: CurrentTenant, limit: int = 100
) -> ConversationList:
    """The caller's own conversations, newest first."""
    limit = max(1, min(limit, 500))

    async def collect() -> list[ConversationListItem]:
        return [
            ConversationListItem(
                id=c.conversation_id, goal=c.goal_id, running=c.running, started_at=c.started_at
            )
            async for c in state.conversations.list(tenant, limit)
        ]

    return ConversationList(conversations=await guarded(collect()))


@router.get("/{conversation_id}", responses=error_responses(401, 404, 422, 429, 503))
async def get_conversation(
    conversation_id: ConversationId, request: Request, state: State, tenant: CurrentTenant
) -> ConversationPublic:
    """Status, whole transcript and the tool call waiting for confirmation."""
    snap = await guarded(state.conversations.snapshot(tenant, conversation_id))
    return ConversationPublic.from_snapshot(snap, _events_url(request, conversation_id))


@router.post(
    "/{conversation_id}/messages",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 404, 409, 413, 422, 429, 503),
)
async def send_message(
    conversation_id: ConversationId, body: MessageCreate, state: State, tenant: CurrentTenant
) -> Accepted:
    """Queue a message for the agent; 202 once the workflow has accepted it."""
    _check_length(state, body.text)
    result = await _update(
        state, tenant, conversation_id, state.conversations.send(tenant, conversation_id, body.text)
    )
    await state.events.publish(conversation_id, [ev.user_message(result.seq, body.text)])
    return Accepted(conversation_id=conversation_id, seq=result.seq, queued=result.queued)


@router.post(
    "/{conversation_id}/tool-calls/{call_id}/confirm",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 404, 409, 422, 429, 503),
)
async def confirm_tool_call(
    conversation_id: ConversationId, call_id: str, state: State, tenant: CurrentTenant
) -> Accepted:
    """Approve the pending tool call named in the path; the tool then runs."""
    update = state.conversations.confirm(tenant, conversation_id, call_id)
    return await _decide(state, tenant, conversation_id, update, reason=None)


@router.post(
    "/{conversation_id}/tool-calls/{call_id}/reject",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 404, 409, 422, 429, 503),
)
async def reject_tool_call(
    conversation_id: ConversationId,
    call_id: str,
    state: State,
    tenant: CurrentTenant,
    body: ToolRejection | None = None,
) -> Accepted:
    """Refuse the pending tool call; the agent is told (with the reason) and goes on."""
    reason = body.reason if body else None
    update = state.conversations.reject(tenant, conversation_id, call_id, reason)
    return await _decide(state, tenant, conversation_id, update, reason)


@router.post(
    "/{conversation_id}/end",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 404, 409, 422, 429, 503),
)
async def end_conversation(
    conversation_id: ConversationId, state: State, tenant: CurrentTenant
) -> Accepted:
    """End the chat. Ending an ended chat is accepted and changes nothing."""
    try:
        result = await _update(
            state, tenant, conversation_id, state.conversations.end(tenant, conversation_id)
        )
    except ApiError as exc:
        if exc.code != "conversation_ended":
            raise
        return Accepted(conversation_id=conversation_id, seq=0)
    if not result.already_ended:
        await state.events.publish(
            conversation_id, [ev.status_changed(result.seq, ConversationStatus.ENDED)]
        )
        with contextlib.suppress(RedisError):  # best-effort, like publishing: the end happened
            await state.events.expire(
                conversation_id, state.settings.events_ended_retention_seconds
            )
    return Accepted(conversation_id=conversation_id, seq=result.seq)
