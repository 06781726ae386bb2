"""Connect to Temporal: local, mTLS or API key, always with the pydantic converter
and, given the object store, Temporal's External Storage on it.

Secrets (the API key, the TLS key) are read from settings and handed to the
SDK; they are never logged or put in error messages.
"""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.contrib.aws.s3driver import S3StorageDriver
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, ExternalStorage
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from agent_core.object_store import ObjectStore
from agent_core.settings import Settings

__all__ = ["connect_temporal", "data_converter", "tls_config"]


def data_converter(store: ObjectStore | None, threshold: int = 256 * 1024) -> DataConverter:
    """Pydantic payloads; those of ``threshold`` bytes or more go to the object store
    (the SDK's S3 driver, over S3 or a directory) and history keeps a reference.
    Every process that reads payloads (workers, gateway, replayer) needs the store."""
    if store is None:
        return pydantic_data_converter
    driver = S3StorageDriver(client=store, bucket=store.bucket)
    storage = ExternalStorage(drivers=[driver], payload_size_threshold=threshold)
    return dataclasses.replace(pydantic_data_converter, external_storage=storage)


def tls_config(settings: Settings) -> TLSConfig | bool:
    """mTLS when a client cert is given; else ``TEMPORAL_TLS`` if set, else server
    TLS exactly when an API key is set."""
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        ca = settings.temporal_tls_ca.read_bytes() if settings.temporal_tls_ca else None
        return TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
            server_root_ca_cert=ca,
        )
    if settings.temporal_tls is not None:
        return settings.temporal_tls
    return settings.temporal_api_key is not None


def _runtime(settings: Settings) -> Runtime | None:
    if not settings.temporal_metrics_port:
        return None
    prometheus = PrometheusConfig(bind_address=f"0.0.0.0:{settings.temporal_metrics_port}")
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))


async def connect_temporal(
    settings: Settings, store: ObjectStore | None, lazy: bool = False
) -> Client:
    """A client with the pydantic converter and External Storage on ``store``;
    ``lazy`` defers the first connection (the gateway starts, and reports not
    ready, while Temporal is down)."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=api_key,
        tls=tls_config(settings),
        data_converter=data_converter(store, settings.storage_payload_threshold_bytes),
        runtime=_runtime(settings),
        lazy=lazy,
    )
