"""Checking a message and sending an update, as every route that changes a conversation does."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import RedisError

from agent_api.deps import AppState
from agent_api.errors import ApiError, guarded

__all__ = ["check_message", "send_message_update", "send_update"]

T = TypeVar("T")
#: how long a message refused by a workflow behind its own log is sent again
CATCH_UP_SECONDS = 15.0
_CATCH_UP_POLL_SECONDS = 0.25


def check_message(state: AppState, text: str | None) -> None:
    """413 for a message over the limit, 422 for an empty one: refused here, before
    Temporal, with the same answer the workflow's validator would give."""
    limit = state.settings.agent_max_prompt_chars
    if text is not None and len(text) > limit:
        raise ApiError(413, "message_too_long", f"messages are limited to {limit} characters")
    if text is not None and not text.strip():
        raise ApiError(422, "bad_message", "the message is empty")


async def send_update(state: AppState, tenant: str, conversation_id: str, call: Awaitable[T]) -> T:
    """Send an update; "not found" from a workflow that exists but has closed
    (or closed while the update waited) is a 409, not a 404."""
    try:
        return await guarded(call)
    except ApiError as exc:
        if exc.status == 404 and await guarded(state.conversations.exists(tenant, conversation_id)):
            raise ApiError(409, "conversation_ended", "the conversation has ended") from exc
        raise


async def send_message_update(
    state: AppState, tenant: str, conversation_id: str, send: Callable[[], Awaitable[T]]
) -> T:
    """``send_update`` for a message, sent again while the workflow catches up.

    A message refused because the agent has not got that far (still answering,
    a run still open) by a workflow whose log holds more events than it has
    written comes from a retried workflow task: its worker died after writing
    them, so the client saw the answer the workflow is about to reach again.
    The message waits for it, up to ``CATCH_UP_SECONDS``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CATCH_UP_SECONDS
    while True:
        try:
            return await send_update(state, tenant, conversation_id, send())
        except ApiError as exc:
            written = _events_written(exc)
            if written is None or loop.time() > deadline:
                raise
            if not await _log_is_ahead(state, conversation_id, written):
                raise
        await asyncio.sleep(_CATCH_UP_POLL_SECONDS)


def _events_written(refusal: ApiError) -> int | None:
    """How far the workflow was when it refused for lack of progress, if it said."""
    details = refusal.details or [None]
    written = details[0].get("events_written") if isinstance(details[0], dict) else None
    return written if refusal.status == 409 and isinstance(written, int) else None


async def _log_is_ahead(state: AppState, conversation_id: str, written: int) -> bool:
    try:
        return await state.events.last_number(conversation_id) > written
    except RedisError:
        return False  # no proof the workflow is behind: the refusal stands
