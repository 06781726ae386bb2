"""Checking a message and sending an update, as every route that changes a conversation does."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from agent_api.deps import AppState
from agent_api.errors import ApiError, guarded

__all__ = ["check_message", "send_update"]

T = TypeVar("T")


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
