"""Fixtures for the deployment checks; the helpers live in deploy_support.py
(test modules import it by name: every conftest.py is module "conftest")."""

from __future__ import annotations

import pytest
from deploy_support import helm_path


@pytest.fixture(scope="session")
def helm() -> str:
    """Path of the helm binary, extracted on first use (scripts/helm.py)."""
    return str(helm_path())
