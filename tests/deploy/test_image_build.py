"""The images' build, checked offline (no Docker engine here): copy exactly
the build context .dockerignore lets through (docker_context.py, Docker's
own matching rules), install each image's workspace member from that copy the
way the Dockerfile does (`uv sync --frozen --no-dev --no-editable --package
<member>` into a fresh environment, from uv's cache), and import what each
console script runs. Cutting libs/ or services/ from .dockerignore, or a
module an entry point needs, fails here rather than in the first real build."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from deploy_support import REPO_ROOT, package_scripts
from docker_context import copy_context, is_excluded, read_dockerignore

# Dockerfile final target -> the workspace member its build stage installs
# (test_dockerfiles.py checks the Dockerfile says so).
TARGETS = {
    "api": "agent-api",
    "worker-llm": "worker-llm",
    "worker-tools": "worker-tools",
    "fake-llm": "fake-llm",
}


@pytest.mark.parametrize(
    ("lines", "path", "excluded"),
    [
        (["*", "!libs/"], "libs/agent_core/agent_core/__init__.py", False),
        (["*", "!libs/"], "README.md", True),
        (["*", "!libs/"], "other/libs/x.py", True),
        (["**/tests"], "services/api/tests/test_x.py", True),
        (["**/tests"], "tests/deploy/x.py", True),
        (["**/tests"], "testsuite/x.py", False),
        # Docker's "*" stops at "/": unlike gitignore, *.md is top-level only
        (["*.md", "!README.md"], "README.md", False),
        (["*.md"], "docs/clients.md", False),
        (["*.md"], "CHANGES.md", True),
        (["/libs"], "libs/x", True),
        (["**/*.py[cod]"], "libs/a/__pycache__/m.cpython-311.pyc", True),
        (["**/.env.*"], ".env.example", True),
        (["# *", "x"], "y", False),
        (["*", "!libs/", "**/.venv"], "libs/a/.venv/bin/python", True),
        (["docs", "!docs/keep.md"], "docs/keep.md", False),
        (["docs", "!docs/keep.md"], "docs/drop.md", True),
    ],
)
def test_dockerignore_matching_follows_docker(lines: list[str], path: str, excluded: bool) -> None:
    assert is_excluded(read_dockerignore("\n".join(lines)), path) is excluded


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    dest = tmp_path_factory.mktemp("build-context")
    return dest, copy_context(REPO_ROOT, dest)


def test_build_context_holds_the_sources_and_nothing_private(
    context: tuple[Path, list[str]],
) -> None:
    _, files = context
    top = {f.split("/", 1)[0] for f in files}
    assert {"pyproject.toml", "uv.lock", "libs", "services"} <= top, top
    for member in [
        *REPO_ROOT.glob("libs/*/pyproject.toml"),
        *REPO_ROOT.glob("services/*/pyproject.toml"),
    ]:
        assert member.relative_to(REPO_ROOT).as_posix() in files
    for f in files:
        parts = f.split("/")
        assert ".venv" not in parts and ".git" not in parts and "tests" not in parts, f
        assert not parts[-1].startswith(".env"), f
        assert "__pycache__" not in parts, f


def _uv() -> list[str]:
    """uv as the Makefile finds it: on PATH, else through scripts/uvw.py."""
    found = shutil.which("uv") or shutil.which("uv", path=str(Path.home() / ".local" / "bin"))
    if found:
        return [found]
    return [shutil.which("python3") or sys.executable, str(REPO_ROOT / "scripts" / "uvw.py")]


def _entry_points(member: str) -> dict[str, str]:
    for pyproject in [
        *REPO_ROOT.glob("libs/*/pyproject.toml"),
        *REPO_ROOT.glob("services/*/pyproject.toml"),
    ]:
        project = tomllib.loads(pyproject.read_text())["project"]
        if project["name"] == member:
            return dict(project.get("scripts", {}))
    raise AssertionError(f"no workspace member {member}")


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_image_installs_from_its_build_context_and_imports(
    context: tuple[Path, list[str]], tmp_path: Path, target: str
) -> None:
    ctx, _ = context
    member = TARGETS[target]
    venv = tmp_path / "venv"
    env = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_OFFLINE": "1",  # from the cache `uv sync` filled: no registry needed
        "UV_NO_PROGRESS": "1",
    }
    env.pop("VIRTUAL_ENV", None)
    sync = subprocess.run(
        [*_uv(), "sync", "--frozen", "--no-dev", "--no-editable", "--package", member,
         "--python", sys.executable],
        cwd=ctx, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert sync.returncode == 0, (
        f"uv sync --package {member} from the build context:\n{sync.stderr[-3000:]}"
    )
    scripts = _entry_points(member)
    assert scripts and set(scripts) == package_scripts()[member]
    for script, ref in scripts.items():
        assert (venv / "bin" / script).exists(), f"{target}: no console script {script}"
        module, _, attr = ref.partition(":")
        # imported from the new environment, outside the repository, as in the
        # image (non-editable: the module must live in the venv, not the context)
        check = (
            f"import importlib, sys; m = importlib.import_module({module!r}); "
            f"assert callable(m.{attr}); print(m.__file__)"
        )
        proc = subprocess.run(
            [str(venv / "bin" / "python"), "-I", "-c", check],
            cwd=tmp_path,
            env={
                "PATH": os.environ["PATH"],
                "HOME": str(tmp_path),
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            },
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, f"{target}: import {module}:\n{proc.stderr[-3000:]}"
        assert proc.stdout.strip().startswith(str(venv)), proc.stdout
