"""The parts to start (each a process with its readiness probe), and the plan of them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from durable_agent.stack.ports import _Ports
from durable_agent.stack.processes import MARKER_VAR

Probe = Callable[["Part"], Awaitable[bool]]


@dataclass
class Part:
    name: str
    argv: list[str]
    env: dict[str, str]
    probe: Probe
    needs: tuple[str, ...] = ()
    stop_timeout: float = 10.0
    process: asyncio.subprocess.Process | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    started_at: float = 0.0
    pump: asyncio.Task[None] | None = None
    watcher: asyncio.Task[None] | None = None
    last_error: str = ""
    start_ticks: int | None = None  # with the pid, identifies the process (Linux)
    restart: bool = False  # a service (not Temporal or Redis): restart it when it dies
    restarts: list[float] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


@dataclass
class _Plan:
    """What to start, and what to tell the user."""

    parts: dict[str, Part]
    urls: dict[str, str]
    facts: list[tuple[str, str]]  # (label, value) rows of the "is up" banner
    notes: list[tuple[str, str]]  # (level, text) said before starting
    temporal_address: str
    namespace: str


@dataclass
class _Draft:
    """A plan being put together, part by part."""

    env: dict[str, str]
    settings: Any
    marker: str
    ports: _Ports = field(default_factory=_Ports)
    parts: dict[str, Part] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    facts: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    model_env: dict[str, str] = field(default_factory=dict)
    temporal_address: str = ""
    redis_url: str = ""
    storage_url: str = ""

    def add(self, part: Part) -> None:
        self.parts[part.name] = part

    @property
    def infra(self) -> tuple[str, ...]:
        """The parts every service needs up first."""
        return tuple(n for n in ("temporal", "redis") if n in self.parts)

    def base_env(self, **extra: str) -> dict[str, str]:
        return {
            **self.env,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "PYTHONUNBUFFERED": "1",
            MARKER_VAR: self.marker,
            **extra,
        }

    def service_env(self, **extra: str) -> dict[str, str]:
        """For the workers and the gateway: where Temporal, Redis, the object store
        and the model are."""
        return self.base_env(
            **self.model_env,
            TEMPORAL_ADDRESS=self.temporal_address,
            TEMPORAL_NAMESPACE=self.settings.temporal_namespace,
            REDIS_URL=self.redis_url,
            STORAGE_URL=self.storage_url,
            **extra,
        )
