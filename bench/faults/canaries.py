"""Canary values for every secret setting, and the search for them afterwards.

Each secret the services read (``SecretStr`` fields of ``Settings``) gets a
value found nowhere else, set for the campaign's stack and really used where
it can be: the fake LLM refuses any other ``LLM_API_KEY``, and the clients
authenticate with the ``API_KEYS`` keys; ``TEMPORAL_API_KEY`` goes to the
dev server (which ignores it) over plain gRPC (``TEMPORAL_TLS=false``).
Afterwards every log, workflow history, Redis value, object-store file and
error body the campaign saw is searched for each value.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from agent_core.settings import Settings

__all__ = ["Canaries", "SecretLeak"]


@dataclass(frozen=True)
class SecretLeak:
    secret: str  # the setting's name
    where: str  # "log api", "history agent/t/c", "redis key", "error body ..."


@dataclass
class Canaries:
    """One value per secret setting, plus an API key per tenant (all in ``API_KEYS``)."""

    tenants: list[str]
    values: dict[str, str] = field(default_factory=dict)
    api_keys: dict[str, str] = field(default_factory=dict)  # tenant -> key

    def __post_init__(self) -> None:
        tag = uuid.uuid4().hex[:10]
        for name, info in Settings.model_fields.items():
            if "SecretStr" in str(info.annotation):
                self.values[name] = f"canary-{name.replace('_', '-')}-{tag}"
        self.api_keys = {t: f"canary-key-{uuid.uuid4().hex}" for t in self.tenants}
        self.values["api_keys"] = ",".join(f"{k}:{t}" for t, k in self.api_keys.items())

    def env(self) -> dict[str, str]:
        """The settings as environment variables for the stack (the dev server
        speaks plain gRPC, so the Temporal API key goes without TLS)."""
        return {name.upper(): value for name, value in self.values.items()} | {
            "TEMPORAL_TLS": "false"
        }

    def needles(self) -> dict[str, bytes]:
        """What to search for: each value, and each API key on its own."""
        found = {name: v.encode() for name, v in self.values.items()}
        found |= {f"api_keys[{t}]": k.encode() for t, k in self.api_keys.items()}
        return found

    def search(self, where: str, blobs: Iterable[bytes]) -> list[SecretLeak]:
        """Every secret found in ``blobs`` (one leak per secret and place)."""
        leaks: set[SecretLeak] = set()
        needles = self.needles()
        for blob in blobs:
            for name, needle in needles.items():
                if needle in blob:
                    leaks.add(SecretLeak(name, where))
        return sorted(leaks, key=lambda leak: (leak.secret, leak.where))
