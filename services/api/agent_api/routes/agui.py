"""The AG-UI endpoint: an ``HttpAgent`` runs the agent here, one run per POST.

A thin adapter over the conversation's own events. The body is AG-UI's
``RunAgentInput``: ``threadId`` is the conversation (started with the goal in
the path when new), ``runId`` names the run the workflow opens, the newest
user message is the prompt, and ``resume`` answers the interrupt the last
run ended with (``resolved`` with ``payload.approved`` true confirms the
proposal, with ``payload.args`` instead of the proposed arguments if given
and, with ``payload.always``, for every later call of that tool; false, or
``cancelled``, rejects it, with ``payload.reason``). The
response streams that run's events, LF-framed, and closes at its end. The
run id doubles as the request id: a retried POST is applied once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from sse_starlette import EventSourceResponse

from agent_api.deps import CurrentTenant, State
from agent_api.errors import ApiError, error_responses, guarded
from agent_api.schemas import RunInput
from agent_api.sse import closed_probe, run_frames, sse_response
from agent_api.updates import check_message, send_message_update, send_update
from agent_core.conversation_ids import is_valid_conversation_id
from agent_core.errors import UnknownGoal
from agent_core.registry import GOALS, get_goal

router = APIRouter(prefix="/v1/ag-ui", tags=["ag-ui"])

# documented as the goals there are, checked by ``_check`` (422 unknown_goal)
GoalPath = Annotated[
    str, Path(description="A goal id from GET /v1/goals", json_schema_extra={"enum": sorted(GOALS)})
]


@router.post(
    "/{goal}",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The run's AG-UI events"},
        # 404: a resume on a thread that does not exist
        **error_responses(401, 404, 409, 413, 422, 429, 503),
    },
)
async def run_agent(
    goal: GoalPath, body: RunInput, state: State, tenant: CurrentTenant
) -> Response:
    """Run the agent once on the thread ``threadId`` and stream the run."""
    _check(goal, body)
    thread, run_id = body.thread_id, body.run_id
    conversations = state.conversations
    exists = await guarded(conversations.exists(tenant, thread))
    position = (await state.events.last_id(thread) or "0") if exists else "0"
    request_id = f"run-{run_id}"
    if body.resume:
        answer = body.resume[0]
        payload: dict[str, Any] = answer.payload if isinstance(answer.payload, dict) else {}
        call_id = answer.interrupt_id
        always = payload.get("always") is True
        args = payload.get("args")
        if answer.status == "resolved" and payload.get("approved") is True and args is not None:
            if not isinstance(args, dict):
                raise ApiError(422, "bad_tool_args", "payload.args must be a JSON object")
            decide = conversations.edit(tenant, thread, call_id, args, run_id, always)
        elif answer.status == "resolved" and payload.get("approved") is True:
            decide = conversations.confirm(tenant, thread, call_id, run_id, always)
        else:
            decide = conversations.reject(tenant, thread, call_id, payload.get("reason"), run_id)
        await send_update(state, tenant, thread, decide)
    else:
        text = _newest_user_text(body)
        check_message(state, text)
        if exists:
            result = await send_message_update(
                state,
                tenant,
                thread,
                lambda: conversations.send(
                    tenant, thread, text, request_id, run_id, new_run_only=True
                ),
            )
        else:
            result = await guarded(
                conversations.start(tenant, thread, goal, text, request_id, run_id)
            )
        if result is not None and result.duplicate:
            position = "0"  # a retried run: find its start from the beginning
    probe = closed_probe(conversations.handle(tenant, thread))
    return sse_response(
        lambda stop: run_frames(state.events, state.tail, thread, position, run_id, probe, stop),
        state.settings.api_sse_ping_seconds,
    )


def _check(goal: str, body: RunInput) -> None:
    try:
        get_goal(goal)
    except UnknownGoal:
        raise ApiError(422, "unknown_goal", f"unknown goal {goal!r}; see GET /v1/goals") from None
    if not is_valid_conversation_id(body.thread_id):
        raise ApiError(422, "bad_thread_id", "threadId may use letters, digits, '-' and '_' (1-64)")
    if not is_valid_conversation_id(body.run_id):
        raise ApiError(422, "bad_run_id", "runId may use letters, digits, '-' and '_' (1-64)")


def _newest_user_text(body: RunInput) -> str:
    for message in reversed(body.messages):
        if message.role == "user":
            content = message.content
            text = content if isinstance(content, str) else _text_parts(content)
            if text.strip():
                return text
            break
    raise ApiError(422, "no_user_message", "the run needs a user message (or a resume entry)")


def _text_parts(content: Any) -> str:
    return " ".join(getattr(part, "text", "") or "" for part in content or [])
