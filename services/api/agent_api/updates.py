"""Sending an update to a conversation, as every route that changes one does."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from agent_api.deps import AppState
from agent_api.errors import ApiError, guarded

__all__ = ["send_update"]

T = TypeVar("T")


async def send_update(state: AppState, tenant: str, conversation_id: str, call: Awaitable[T]) -> T:
    """Send an update; "not found" from a workflow that exists but has closed
    (or closed while the update waited) is a 409, not a 404."""
    try:
        return await guarded(call)
    except ApiError as exc:
        if exc.status == 404 and await guarded(state.conversations.exists(tenant, conversation_id)):
            raise ApiError(409, "conversation_ended", "the conversation has ended") from exc
        raise
