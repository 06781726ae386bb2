"""The activity that writes a page of older transcript lines to the object store.

It runs on the workflow worker, next to the workflow that calls it; a retry
writes the same page to the same key, so a repeat changes nothing.
"""

from __future__ import annotations

from temporalio import activity

from agent_core import activity_names as act
from agent_core.models import ArchivePageInput
from agent_core.transcript_archive import TranscriptArchive

__all__ = ["TranscriptArchiver"]


class TranscriptArchiver:
    def __init__(self, archive: TranscriptArchive) -> None:
        self._archive = archive

    @activity.defn(name=act.ARCHIVE_PAGE)
    async def archive_transcript_page(self, input: ArchivePageInput) -> None:
        await self._archive.write(input)
