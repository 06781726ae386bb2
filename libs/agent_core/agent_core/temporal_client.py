"""Connect to Temporal: local, mTLS or API key, always with the pydantic converter.

Secrets (the API key, the TLS key) are read from settings and handed to the
SDK; they are never logged or put in error messages.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from agent_core.settings import Settings

__all__ = ["connect_temporal", "tls_config"]


def tls_config(settings: Settings) -> TLSConfig | bool:
    """mTLS when a client cert is given, server TLS for API keys or ``TEMPORAL_TLS``."""
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        ca = settings.temporal_tls_ca.read_bytes() if settings.temporal_tls_ca else None
        return TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
            server_root_ca_cert=ca,
        )
    return settings.temporal_tls or settings.temporal_api_key is not None


def _runtime(settings: Settings) -> Runtime | None:
    if not settings.temporal_metrics_port:
        return None
    prometheus = PrometheusConfig(bind_address=f"0.0.0.0:{settings.temporal_metrics_port}")
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))


async def connect_temporal(settings: Settings, lazy: bool = False) -> Client:
    """A client with the pydantic converter; ``lazy`` defers the first connection
    (the gateway starts, and reports not ready, while Temporal is down)."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=api_key,
        tls=tls_config(settings),
        data_converter=pydantic_data_converter,
        runtime=_runtime(settings),
        lazy=lazy,
    )
