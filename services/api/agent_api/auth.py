"""API keys → tenants. Keys are kept only as SHA-256 digests.

Keys come from ``API_KEYS`` (``key:tenant`` pairs, comma-separated) and/or
``API_KEYS_FILE`` (one ``key:tenant`` per line, ``#`` comments). A presented
key is hashed and looked up; no key is ever logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from agent_core.settings import Settings

__all__ = ["DEV_TENANT", "KeyRing"]

DEV_TENANT = "dev"
_TENANT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class KeyRing:
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._tenants: list[tuple[bytes, str]] = []
        for key, tenant in pairs:
            if not _TENANT.fullmatch(tenant):
                raise ValueError(
                    "tenant names may use letters, digits, '-' and '_' (1-64 characters)"
                )
            self._tenants.append((_digest(key), tenant))

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        lines: list[str] = []
        if settings.api_keys:
            lines += settings.api_keys.get_secret_value().split(",")
        if settings.api_keys_file:
            lines += settings.api_keys_file.read_text().splitlines()
        pairs = []
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, tenant = line.rpartition(":")
            if not sep or not key:
                raise ValueError("each API key entry must look like key:tenant")
            pairs.append((key.strip(), tenant.strip()))
        return cls(pairs)

    def __len__(self) -> int:
        return len(self._tenants)

    def tenant_for(self, key: str) -> str | None:
        """The key's tenant; every stored digest is compared, in constant time."""
        digest = _digest(key)
        found = None
        for stored, tenant in self._tenants:
            if hmac.compare_digest(stored, digest):
                found = tenant
        return found
