"""./Dockerfile (one multi-target file: api, worker-llm, worker-tools, fake-llm):
hadolint-clean, built from the lock file, non-root, health-checked, and each
image runs a console script of the package it installs."""

from __future__ import annotations

import http.server
import json
import re
import shlex
import socket
import sys
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from deploy_support import DOCKERFILE, REPO_ROOT, package_scripts, run, tool

FINAL_TARGETS = {
    "api": "agent-api",
    "worker-llm": "worker-llm",
    "worker-tools": "worker-tools",
    "fake-llm": "fake-llm",
}
HEALTHCHECK_SCRIPT = REPO_ROOT / "deploy" / "docker" / "healthcheck.py"


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (KEYWORD, rest)

    def all(self, keyword: str) -> list[str]:
        return [rest for kw, rest in self.instructions if kw == keyword]


def parse_dockerfile(text: str) -> tuple[dict[str, str], dict[str, Stage]]:
    """Global ARG defaults and the stages, with continuation lines joined."""
    logical: list[str] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # comment inside a continued instruction
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        logical.append(buf + line)
        buf = ""
    args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else parts[0]
            current = stages[name] = Stage(name, parts[0])
        elif current is None:
            if keyword == "ARG" and "=" in rest:
                k, v = rest.split("=", 1)
                args[k.strip()] = v.strip()
        else:
            current.instructions.append((keyword, rest.strip()))
    return args, stages


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], dict[str, Stage]]:
    return parse_dockerfile(DOCKERFILE.read_text())


def chain(stages: dict[str, Stage], name: str) -> list[Stage]:
    """A stage and the stages it is built FROM, nearest first."""
    out = []
    while name in stages:
        out.append(stages[name])
        name = stages[name].base
    return out


def test_hadolint() -> None:
    run([tool("hadolint"), "--failure-threshold", "warning", str(DOCKERFILE)])


def test_final_targets_exist(dockerfile) -> None:
    _, stages = dockerfile
    assert set(FINAL_TARGETS) <= set(stages)
    # `docker build .` with no --target builds the gateway.
    assert list(stages)[-1] == "api"


def test_base_image_is_python_311_slim(dockerfile) -> None:
    args, stages = dockerfile
    assert args["PYTHON_IMAGE"].startswith("python:3.11-slim")
    for target in FINAL_TARGETS:
        root = chain(stages, target)[-1]
        assert root.base == "${PYTHON_IMAGE}", target
    assert stages["builder"].base == "${PYTHON_IMAGE}"


@pytest.mark.parametrize("target", sorted(FINAL_TARGETS))
def test_final_image(dockerfile, target: str) -> None:
    _, stages = dockerfile
    stages_up = chain(stages, target)
    final = stages_up[0]

    # Non-root: a numeric, non-zero USER (Kubernetes' runAsNonRoot checks the uid).
    users = [u for s in reversed(stages_up) for u in s.all("USER")]
    assert users, f"{target}: no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"{target}: USER {users[-1]}"

    assert final.all("HEALTHCHECK"), f"{target}: no HEALTHCHECK"
    assert "healthcheck" in final.all("HEALTHCHECK")[0]

    # Only the venv comes from the build stage; no uv, no compiler, no sources.
    copies = [c for s in stages_up for c in s.all("COPY")]
    froms = {m.group(1) for c in copies if (m := re.search(r"--from=(\S+)", c))}
    assert froms == {f"build-{target}"}, f"{target}: copies from {froms}"
    assert any(c.endswith("/app/.venv /app/.venv") for c in copies)
    for s in stages_up:
        for cmd in s.all("RUN"):
            assert not re.search(r"apt-get install|build-essential|gcc", cmd), (target, cmd)

    # The command is a console script of the package the build stage installs.
    build = stages[f"build-{target}"]
    syncs = build.all("RUN")
    assert all("--frozen" in r and "--no-dev" in r for r in syncs if "uv sync" in r)
    packages = {m.group(1) for r in syncs if (m := re.search(r"--package (\S+)", r))}
    assert packages == {FINAL_TARGETS[target]}, packages
    cmd = final.all("CMD")[-1]
    argv = json.loads(cmd)
    scripts = package_scripts()
    package = FINAL_TARGETS[target]
    assert package in scripts, f"no pyproject with [project] name = {package!r}"
    assert argv[0] in scripts[package], f"{target}: {argv[0]} is not a script of {package}"


def test_packages_are_locked_workspace_members() -> None:
    """uv sync --frozen --package X needs X in uv.lock as a workspace member."""
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    editable = {p["name"] for p in lock["package"] if "editable" in p.get("source", {})}
    missing = set(FINAL_TARGETS.values()) - editable
    assert not missing, f"not workspace members in uv.lock: {missing}"


def test_worker_llm_image_settings(dockerfile) -> None:
    _, stages = dockerfile
    env = " ".join(stages["worker-llm"].all("ENV"))
    assert "LITELLM_LOCAL_MODEL_COST_MAP=True" in env
    assert "METRICS_PORT=9100" in env and "TEMPORAL_METRICS_PORT=9101" in env
    api_env = " ".join(stages["api"].all("ENV"))
    assert "API_HOST=0.0.0.0" in api_env
    # the gateway's metrics on their own port, off the public one, as in compose and Helm
    assert "METRICS_PORT=9100" in api_env and "9100" in stages["api"].all("EXPOSE")[0]


def test_dockerignore_allows_only_build_inputs(dockerfile) -> None:
    lines = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "an allow-list: exclude everything first"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    # Whatever the Dockerfile copies or binds from the context is allowed back in.
    _, stages = dockerfile
    sources = {"pyproject.toml", "uv.lock"}
    for s in stages.values():
        for c in s.all("COPY"):
            parts = [p for p in shlex.split(c) if not p.startswith("--")]
            if "--from=" not in c and parts[:-1] != ["."]:
                sources.update(parts[:-1])
    for src in sources:
        assert any(src == a or src.startswith(a + "/") for a in allowed), src
    for secret in ("**/.env", "**/.venv"):
        assert secret in lines


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthcheck_script(monkeypatch: pytest.MonkeyPatch) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        monkeypatch.setenv("HC_TEST_PORT", str(port))

        def check(url: str) -> int:
            return run([sys.executable, str(HEALTHCHECK_SCRIPT), url], check=False).returncode

        assert check("http://127.0.0.1:${HC_TEST_PORT}/healthz") == 0  # env expanded
        assert check(f"http://127.0.0.1:{port}/readyz") == 1  # HTTP 503
        assert check(f"http://127.0.0.1:{_free_port()}/healthz") == 1  # refused
    finally:
        server.shutdown()
    assert Path(HEALTHCHECK_SCRIPT).stat().st_mode & 0o111, "healthcheck.py should be executable"
