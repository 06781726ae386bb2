"""Every setting of every service, read from the environment in one place.

Services build one ``Settings()`` at start-up and hand the parts they need to
the objects they create; nothing else reads the environment.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]

_WITH_BASE = re.compile(r"^(?P<model>.+?)@(?P<base>https?://\S+)$")


class Settings(BaseSettings):
    """Environment variables (upper-case field names) with local-stack defaults."""

    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", frozen=True, env_ignore_empty=True
    )

    # Temporal
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_api_key: SecretStr | None = None
    # unset: TLS exactly when an API key is set; false: plain even with a key (a local
    # sidecar or proxy that terminates TLS, or a dev server)
    temporal_tls: bool | None = None
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    workflow_task_queue: str = "agent-workflows"
    # empty: model calls run on the workflow queue, dispatched eagerly to the worker
    # that runs the workflow; a name sends them to their own queue and workers
    llm_task_queue: str = ""
    tools_task_queue: str = "agent-tools"

    # Redis (the live event log)
    redis_url: str = "redis://127.0.0.1:6379/0"
    events_stream_maxlen: int = Field(10_000, ge=100)
    events_retention_seconds: int = Field(7 * 24 * 3600, ge=60)
    events_ended_retention_seconds: int = Field(3600, ge=1)

    # Object store (payloads over the threshold, archived transcript pages, the
    # side-effect ledger): file:<directory> or s3://<bucket>, with the S3 endpoint
    # (MinIO) and credentials below; no credentials: boto's own chain (IAM roles)
    storage_url: str = Field(
        "file:data/objects", pattern=r"^(file:.+|s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$"
    )
    storage_payload_threshold_bytes: int = Field(256 * 1024, ge=0)
    storage_s3_endpoint_url: str | None = None
    storage_s3_region: str | None = None
    storage_s3_access_key_id: SecretStr | None = None
    storage_s3_secret_access_key: SecretStr | None = None

    # Model (any litellm model string)
    llm_model: str = "openai/fake-agent"
    llm_api_base: str | None = None
    llm_api_key: SecretStr | None = None
    # bounds the whole streamed call (connect to last token), each model of a call
    llm_timeout_seconds: float = Field(60.0, gt=0)
    llm_max_repairs: int = Field(2, ge=0, le=5)
    # comma-separated, tried in order when a model is unavailable (429, 5xx, timeout,
    # connection); chosen like LLM_MODEL, sharing LLM_API_KEY, and LLM_API_BASE unless
    # an entry names its own: ``openai/x@http://host:8080/v1``
    llm_fallback_models: str = ""
    # the reply's token limit per call kind, and the model's context window: a
    # prompt (messages and tool definitions) is cut to fit beside the reply
    llm_max_tokens_plan: int = Field(1024, ge=16)
    llm_max_tokens_summary: int = Field(512, ge=16)
    llm_context_tokens: int = Field(8192, ge=512)
    # auto: openai/ models through the OpenAI SDK (lean), the rest through litellm
    llm_client: Literal["auto", "litellm"] = "auto"

    # Agent behaviour
    agent_show_confirm: bool = True
    agent_history_window: int = Field(12, ge=2)
    agent_max_turns_per_run: int = Field(50, ge=2)
    agent_max_prompt_chars: int = Field(8_000, ge=1)
    agent_max_history_events: int = Field(4_000, ge=200)
    agent_heartbeat_timeout_seconds: float = Field(10.0, gt=0)
    # a conversation with no input this long closes itself; a proposal left
    # undecided this long is withdrawn (0: only the idle timeout applies)
    agent_idle_timeout_seconds: float = Field(3 * 24 * 3600.0, gt=0)
    agent_confirmation_timeout_seconds: float = Field(0.0, ge=0)

    # MCP tool servers and the goals that use them (a JSON file; see README "MCP tool servers")
    mcp_servers_file: Path | None = None

    # Workers: activities one worker process runs at once (bounded, so heartbeats keep up)
    worker_max_concurrent_activities: int = Field(50, ge=1, le=1000)
    # on SIGTERM, in-flight activities get this long to finish (keep it under the
    # pod's terminationGracePeriodSeconds); what is cut short is retried elsewhere
    worker_shutdown_grace_seconds: float = Field(10.0, ge=0)

    # Metrics: the service's own Prometheus port, and the Temporal SDK's (0 = off)
    metrics_port: int = Field(0, ge=0, le=65535)
    temporal_metrics_port: int = Field(0, ge=0, le=65535)

    # Gateway
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    api_keys: SecretStr | None = None
    api_keys_file: Path | None = None
    api_dev_mode: bool = False
    api_cors_origins: str = ""
    api_rate_limit_per_minute: int = Field(1200, ge=1)
    api_sse_ping_seconds: float = Field(15.0, gt=0)
    api_access_log: bool = True  # a line per request (make run turns it off)
    api_docs: bool = True  # /docs, /redoc and /openapi.json (off: not served at all)
    # how often a stream's conversation is checked for a workflow closed with no end logged
    api_stream_closed_check_seconds: float = Field(30.0, gt=0)

    def secret(self, name: str) -> str | None:
        """The environment variable ``name``: where an MCP server's secret header or
        env value comes from (the file names it, never holds it)."""
        return os.environ.get(name) or None

    @cached_property
    def fallback_models(self) -> list[tuple[str, str | None]]:
        """``LLM_FALLBACK_MODELS`` as (model, its own API base or None), in order. Only
        ``@http://`` or ``@https://`` starts a base: a model string may hold an ``@``
        of its own (Vertex's ``claude-3-5-sonnet@20240620``)."""
        entries = [m.strip() for m in self.llm_fallback_models.split(",") if m.strip()]
        return [_model_and_base(entry) for entry in entries]

    @cached_property
    def cors_origins(self) -> list[str]:
        """``API_CORS_ORIGINS`` as a list (comma-separated in the environment)."""
        return [o.strip() for o in self.api_cors_origins.split(",") if o.strip()]


def _model_and_base(entry: str) -> tuple[str, str | None]:
    match = _WITH_BASE.match(entry)
    return (match["model"], match["base"]) if match else (entry, None)
