"""Workflow ids derived from the tenant and the conversation id.

Another tenant's key addresses a different, absent workflow: a conversation
is invisible (404) to every tenant but its own without any lookup.
"""

from __future__ import annotations

import re

__all__ = [
    "CONVERSATION_ID_PATTERN",
    "TENANT_SEARCH_ATTRIBUTE",
    "is_valid_conversation_id",
    "workflow_id",
]

TENANT_SEARCH_ATTRIBUTE = "Tenant"
CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_ID = re.compile(CONVERSATION_ID_PATTERN)


def is_valid_conversation_id(conversation_id: str) -> bool:
    return bool(_ID.fullmatch(conversation_id))


def workflow_id(tenant: str, conversation_id: str) -> str:
    return f"agent/{tenant}/{conversation_id}"
