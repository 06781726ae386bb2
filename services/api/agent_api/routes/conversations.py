"""Conversations: create, list, read, and the inputs a user sends to one.

The gateway only asks: the workflow decides and writes every event. Each
request may carry an ``Idempotency-Key`` (or a ``conversation_id`` /
``message_id`` in its body): it becomes the Temporal workflow or update id,
so a retry after a 503, a timeout or a cut connection returns the first
answer and is never applied twice.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, status
from temporalio.exceptions import WorkflowAlreadyStartedError

from agent_api.deps import ConversationId, CurrentTenant, State
from agent_api.errors import ApiError, error_responses, guarded
from agent_api.schemas import (
    PAGE_CURSOR,
    Accepted,
    ConversationCreate,
    ConversationCreated,
    ConversationList,
    ConversationListItem,
    ConversationPublic,
    GoalSwitch,
    GoalSwitched,
    MessageCreate,
    MessagePage,
    StopRequest,
    ToolConfirmation,
    ToolEdit,
    ToolRejection,
    page_cursor,
    page_of,
)
from agent_api.transcript_pages import read_page
from agent_api.updates import check_message, send_message_update, send_update
from agent_core.conversation_ids import workflow_id
from agent_core.errors import UnknownGoal
from agent_core.mcp_config import server_of
from agent_core.models import ConversationStatus, ToolDecisionResult
from agent_core.registry import SWITCH_GOAL_TOOL, TOOLS, get_goal, mcp_servers

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        pattern=r"^[A-Za-z0-9_.:-]{1,128}$",
        description="Retry-safe request id: a retry with the same key gets the first answer",
    ),
]


def _events_url(request: Request, conversation_id: str) -> str:
    return str(request.url_for("stream_events", conversation_id=conversation_id).path)


async def _decide(
    state: State, tenant: str, conversation_id: str, update: Awaitable[ToolDecisionResult]
) -> Accepted:
    result = await send_update(state, tenant, conversation_id, update)
    return Accepted(conversation_id=conversation_id, seq=result.seq, tool_call_id=result.call_id)


def _check_goal(goal: str) -> None:
    try:
        get_goal(goal)
    except UnknownGoal:
        raise ApiError(422, "unknown_goal", f"unknown goal {goal!r}; see GET /v1/goals") from None


def _check_policies(body: ConversationCreate) -> None:
    """Native tools by name; an MCP tool (``server__tool``) by its configured server,
    since the servers, not the gateway, know their tools."""
    named = set(body.tool_policies or {}) - {*TOOLS, SWITCH_GOAL_TOOL}
    unknown = sorted(n for n in named if server_of(n) not in mcp_servers())
    if unknown:
        raise ApiError(422, "unknown_tool", f"unknown tools {unknown}; see GET /v1/goals")


def _conversation_id(body: ConversationCreate, key: str | None) -> str:
    """The client's id, one derived from its idempotency key, or a new random one."""
    if body.conversation_id:
        return body.conversation_id
    if key:
        return hashlib.sha256(key.encode()).hexdigest()[:32]
    return uuid.uuid4().hex


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 413, 422, 429, 503),
)
async def create_conversation(
    body: ConversationCreate,
    request: Request,
    state: State,
    tenant: CurrentTenant,
    idempotency_key: IdempotencyKey = None,
) -> ConversationCreated:
    """Start a conversation with a goal, optionally with its first message.

    Retry-safe with an ``Idempotency-Key`` or a ``conversation_id``: a retry
    returns the same conversation and its first message is applied once.
    ``tool_policies`` override the registry's approval policies for this conversation."""
    _check_goal(body.goal)
    _check_policies(body)
    check_message(state, body.message)
    conversation_id = _conversation_id(body, idempotency_key)
    request_id = idempotency_key or body.conversation_id
    start = state.conversations.start(
        tenant,
        conversation_id,
        body.goal,
        body.message,
        request_id,
        busy_policy=body.busy_policy,
        tool_policies=body.tool_policies,
    )
    try:
        result = await guarded(start)
    except WorkflowAlreadyStartedError:  # retried after the conversation closed
        result, status_now = None, ConversationStatus.ENDED
    else:
        status_now = ConversationStatus.THINKING if result else ConversationStatus.AWAITING_INPUT
    return ConversationCreated(
        id=conversation_id,
        goal=body.goal,
        status=status_now,
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
    """Status, the recent transcript (with the cursor to older lines) and the tool
    call waiting for confirmation."""
    snap = await guarded(state.conversations.snapshot(tenant, conversation_id))
    return ConversationPublic.from_snapshot(snap, _events_url(request, conversation_id))


PageCursor = Annotated[
    str | None,
    Query(
        pattern=PAGE_CURSOR,
        description="A cursor from older_messages: the page of lines before it",
    ),
]


@router.get("/{conversation_id}/messages", responses=error_responses(401, 404, 410, 422, 429, 503))
async def list_messages(
    conversation_id: ConversationId, state: State, tenant: CurrentTenant, before: PageCursor = None
) -> MessagePage:
    """The transcript page by page, newest first: without ``before`` the recent
    part, then each ``older_messages`` cursor fetches the page before, from the
    object store where the conversation archived it. Nothing is dropped."""
    snap = await guarded(state.conversations.snapshot(tenant, conversation_id))
    if before is None:
        older = page_cursor(snap.archive_pages - 1)
        return MessagePage(
            messages=snap.transcript, first_index=snap.archived_messages, older_messages=older
        )
    number = page_of(before)
    if number >= snap.archive_pages:
        # a well-formed cursor naming nothing: not found, as an unknown conversation is
        raise ApiError(404, "page_not_found", f"this conversation has no page {number}")
    page = await read_page(state, workflow_id(tenant, conversation_id), number)
    return MessagePage(
        messages=page.messages, first_index=page.first_index, older_messages=page_cursor(number - 1)
    )


@router.post(
    "/{conversation_id}/messages",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 404, 409, 413, 422, 429, 503),
)
async def send_message(
    conversation_id: ConversationId,
    body: MessageCreate,
    state: State,
    tenant: CurrentTenant,
    idempotency_key: IdempotencyKey = None,
) -> Accepted:
    """Queue a message for the agent; 202 once the workflow has accepted it.

    While the agent answers, its ``busy_policy`` (or the conversation's) decides:
    queue it, refuse it (409 ``agent_busy``, naming the turn) or interrupt the
    answer. Retry-safe with an ``Idempotency-Key`` or a ``message_id``."""
    check_message(state, body.text)
    request_id = idempotency_key or body.message_id
    result = await send_message_update(
        state,
        tenant,
        conversation_id,
        lambda: state.conversations.send(
            tenant, conversation_id, body.text, request_id, busy=body.busy_policy
        ),
    )
    return Accepted(
        conversation_id=conversation_id,
        seq=result.seq,
        queued=result.queued,
        duplicate=result.duplicate,
    )


@router.post(
    "/{conversation_id}/tool-calls/{call_id}/confirm",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 404, 409, 422, 429, 503),
)
async def confirm_tool_call(
    conversation_id: ConversationId,
    call_id: str,
    state: State,
    tenant: CurrentTenant,
    body: ToolConfirmation | None = None,
) -> Accepted:
    """Approve the pending tool call named in the path; the tool then runs. With
    ``always``, later calls of this tool in this conversation run without asking."""
    always = body.always if body else False
    update = state.conversations.confirm(tenant, conversation_id, call_id, always=always)
    return await _decide(state, tenant, conversation_id, update)


@router.post(
    "/{conversation_id}/tool-calls/{call_id}/edit",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 404, 409, 422, 429, 503),
)
async def edit_tool_call(
    conversation_id: ConversationId,
    call_id: str,
    body: ToolEdit,
    state: State,
    tenant: CurrentTenant,
) -> Accepted:
    """Approve the pending tool call with edited arguments; the tool runs with those.

    The workflow checks them against the tool's JSON schema first: 422
    ``bad_tool_args`` names every problem, and nothing is decided. The
    transcript keeps the proposal (the agent's line) and what ran (the tool's)."""
    update = state.conversations.edit(
        tenant, conversation_id, call_id, body.args, always=body.always
    )
    return await _decide(state, tenant, conversation_id, update)


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
    return await _decide(state, tenant, conversation_id, update)


@router.post(
    "/{conversation_id}/stop",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 404, 409, 422, 429, 503),
)
async def stop_turn(
    conversation_id: ConversationId,
    state: State,
    tenant: CurrentTenant,
    body: StopRequest | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Accepted:
    """Stop the model call in flight: its partial text is voided, the stop recorded,
    and the agent waits for input. Not the end of the chat. 409 ``nothing_running``
    when no turn runs, ``tool_running`` while a tool runs (never cut off). A retry
    (same ``Idempotency-Key``, or naming a run already stopped) gets the first answer."""
    run_id = body.run_id if body else None
    stop = state.conversations.stop(tenant, conversation_id, run_id, idempotency_key)
    result = await send_update(state, tenant, conversation_id, stop)
    return Accepted(
        conversation_id=conversation_id,
        seq=result.seq,
        run_id=result.run_id,
        duplicate=result.duplicate,
    )


@router.post(
    "/{conversation_id}/goal",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 404, 409, 422, 429, 503),
)
async def switch_goal(
    conversation_id: ConversationId,
    body: GoalSwitch,
    state: State,
    tenant: CurrentTenant,
    idempotency_key: IdempotencyKey = None,
) -> GoalSwitched:
    """Move the conversation to another goal: the transcript goes on, a proposal
    waiting is withdrawn, and the new goal's agent (with its tools) takes the next turn."""
    _check_goal(body.goal)
    request_id = idempotency_key or body.request_id
    update = state.conversations.switch_goal(tenant, conversation_id, body.goal, request_id)
    result = await send_update(state, tenant, conversation_id, update)
    return GoalSwitched(
        conversation_id=conversation_id,
        seq=result.seq,
        goal=result.goal,
        unchanged=result.unchanged,
    )


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
        result = await send_update(
            state, tenant, conversation_id, state.conversations.end(tenant, conversation_id)
        )
    except ApiError as exc:
        if exc.code != "conversation_ended":
            raise
        return Accepted(conversation_id=conversation_id, seq=0, duplicate=True)
    return Accepted(conversation_id=conversation_id, seq=result.seq, duplicate=result.already_ended)
