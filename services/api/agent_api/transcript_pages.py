"""Reading archived transcript pages from the object store for the gateway.

The workflow wrote them (through its archive activity); the gateway only
reads, after the conversation's own snapshot has checked the caller's tenant
and told how many pages there are.
"""

from __future__ import annotations

import logging

from agent_api.deps import AppState
from agent_api.errors import ApiError, unavailable
from agent_core.models import TranscriptPage
from agent_core.transcript_archive import TranscriptArchive

__all__ = ["read_page"]

log = logging.getLogger(__name__)


async def read_page(state: AppState, workflow_id: str, number: int) -> TranscriptPage:
    try:
        page = await TranscriptArchive(state.store).read(workflow_id, number)
    except Exception as exc:  # the store's own errors (S3, disk) are many; none is the caller's
        log.warning("object store read failed: %s", type(exc).__name__)
        raise unavailable("object_store") from None
    if page is None:
        raise ApiError(
            410,
            "page_gone",
            f"page {number} is no longer in the object store (its lifecycle rule?)",
        )
    return page
