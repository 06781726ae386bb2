"""The Temporal client factory picks plain, mTLS or API-key connections, and
settings never show their secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from agent_core.settings import Settings
from agent_core.temporal_client import tls_config

pytestmark = pytest.mark.fast


def test_plain_connection_by_default() -> None:
    assert tls_config(Settings()) is False


def test_api_key_implies_tls() -> None:
    assert tls_config(Settings(temporal_api_key="secret-key")) is True


def test_tls_set_either_way_wins_over_the_api_key() -> None:
    key = "secret-key"
    assert tls_config(Settings(temporal_api_key=key, temporal_tls=False)) is False
    assert tls_config(Settings(temporal_tls=True)) is True


def test_mtls_reads_the_client_certificate(tmp_path: Path) -> None:
    cert, key, ca = (tmp_path / n for n in ("client.pem", "client.key", "ca.pem"))
    cert.write_bytes(b"CERT")
    key.write_bytes(b"KEY")
    ca.write_bytes(b"CA")
    config = tls_config(Settings(temporal_tls_cert=cert, temporal_tls_key=key, temporal_tls_ca=ca))
    assert isinstance(config, TLSConfig)
    assert (config.client_cert, config.client_private_key, config.server_root_ca_cert) == (
        b"CERT",
        b"KEY",
        b"CA",
    )


def test_secrets_are_masked_in_settings_output() -> None:
    settings = Settings(temporal_api_key="tk-123", llm_api_key="sk-456", api_keys="k-789:alice")
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    for secret in ("tk-123", "sk-456", "k-789"):
        assert secret not in shown
