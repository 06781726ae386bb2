"""Archived transcript pages: the older lines of a long conversation, in the object store.

The workflow keeps only the recent part of the transcript in its state; when
enough older lines are summarised and out of the model's window it hands them,
``PAGE_SIZE`` at a time, to the ``archive_transcript_page`` activity, which
writes them here. Page ``n`` of a conversation has a fixed key (by workflow
id, so tenants never share one), so a retried write lands on the same object
and the gateway finds any page from its number alone.
"""

from __future__ import annotations

from agent_core.models import ArchivePageInput, TranscriptPage
from agent_core.object_store import ObjectStore

__all__ = ["TranscriptArchive", "page_key"]


def page_key(workflow_id: str, page: int) -> str:
    return f"transcripts/{workflow_id}/{page:08d}.json"


class TranscriptArchive:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def write(self, input: ArchivePageInput) -> None:
        page = TranscriptPage(
            page=input.page, first_index=input.first_index, messages=input.messages
        )
        await self._store.write(
            page_key(input.workflow_id, input.page), page.model_dump_json().encode()
        )

    async def read(self, workflow_id: str, page: int) -> TranscriptPage | None:
        """The page, or ``None`` when the store has lost it (a lifecycle rule
        shorter than the conversation's life)."""
        data = await self._store.read(page_key(workflow_id, page))
        return TranscriptPage.model_validate_json(data) if data is not None else None
