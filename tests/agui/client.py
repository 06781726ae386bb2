"""Check AG-UI streams with the official JavaScript client (``@ag-ui/client`` 1.0.0).

Two node scripts sit next to this module (their headers document them fully):

* ``verify.mjs``: a captured event list -> zod ``EventSchemas`` per event, then the
  client's ``verifyEvents`` over the sequence; see :func:`verify_events`.
* ``run_agent.mjs``: drives an endpoint with ``HttpAgent`` (the client's own POST,
  SSE parser, verification and message reconstruction); see :class:`AgentSession`,
  which keeps one ``HttpAgent`` across runs so a test can decide each next run from
  the last one's events, and :func:`run_conversation` for a fixed list of runs.

The npm packages are pinned by ``package-lock.json`` here and installed into
``tests/agui/node_modules`` by :func:`ensure_installed` (CI runs
``npm ci --prefix tests/agui`` first). Tests skip via :data:`requires_node` only when
node or npm is not on PATH.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

AGUI_DIR = Path(__file__).resolve().parent
VERIFY_SCRIPT = AGUI_DIR / "verify.mjs"
RUN_AGENT_SCRIPT = AGUI_DIR / "run_agent.mjs"
_LOCK_FILE = AGUI_DIR / "package-lock.json"
_MODULES = AGUI_DIR / "node_modules"
# npm writes node_modules/.package-lock.json at the end of a successful install.
_INSTALL_STAMP = _MODULES / ".package-lock.json"
_REQUIRED_PACKAGES = ("@ag-ui/client", "@ag-ui/core", "rxjs", "zod")

# Result lines from run_agent.mjs carry whole event lists; asyncio's default 64 KiB
# line limit is far too small.
_LINE_LIMIT = 64 * 1024 * 1024


class AguiHarnessError(RuntimeError):
    """The harness itself failed (node/npm missing, install failed, script crashed)."""


def node_available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


requires_node = pytest.mark.skipif(
    not node_available(), reason="node and npm are needed for the AG-UI client harness"
)


def _installed() -> bool:
    if not _INSTALL_STAMP.exists():
        return False
    if any(not (_MODULES / name / "package.json").exists() for name in _REQUIRED_PACKAGES):
        return False
    return _INSTALL_STAMP.stat().st_mtime >= _LOCK_FILE.stat().st_mtime


@contextlib.contextmanager
def _install_lock():
    try:
        import fcntl
    except ImportError:  # not POSIX: no cross-process lock, still works serially
        yield
        return
    lock_path = Path(tempfile.gettempdir()) / f"agui-harness-{os.getuid()}.lock"
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_installed() -> Path:
    """Install the pinned npm packages if missing or older than package-lock.json.

    Returns the harness directory. Safe to call from parallel processes: installs are
    serialized by a file lock and re-checked under it.
    """
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise AguiHarnessError(
                f"`{tool}` is not on PATH; the AG-UI client harness needs node (20+) and npm"
            )
    if _installed():
        return AGUI_DIR
    with _install_lock():
        if _installed():
            return AGUI_DIR
        proc = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=AGUI_DIR,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if proc.returncode != 0 or not _installed():
            raise AguiHarnessError(
                f"`npm ci` in {AGUI_DIR} failed (exit {proc.returncode}):\n"
                f"{proc.stdout}\n{proc.stderr}"
            )
    return AGUI_DIR


def _parse_verify_output(returncode: int, stdout: str, stderr: str) -> dict[str, Any]:
    if returncode != 0:
        raise AguiHarnessError(f"verify.mjs failed (exit {returncode}): {stderr.strip()}")
    try:
        return json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise AguiHarnessError(f"verify.mjs printed no JSON: {stdout!r} {stderr!r}") from exc


def verify_events(events: list[dict[str, Any]], *, timeout: float = 60) -> dict[str, Any]:
    """Check ``events`` (camelCase, as sent in SSE ``data:``) with the official client.

    Returns ``{"ok": True, "count": n, "complete": bool}`` or ``{"ok": False,
    "stage": "schema" | "verify", "index": i, "type": ..., "error": "...", ...}``;
    ``index`` is the position of the first rejected event.
    """
    ensure_installed()
    proc = subprocess.run(
        ["node", str(VERIFY_SCRIPT)],
        cwd=AGUI_DIR,
        input=json.dumps(events),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return _parse_verify_output(proc.returncode, proc.stdout, proc.stderr)


def verify_streams(
    streams: dict[str, list[dict[str, Any]]], *, timeout: float = 300
) -> dict[str, dict[str, Any]]:
    """``verify_events`` for many sequences at once, in one node process."""
    ensure_installed()
    proc = subprocess.run(
        ["node", str(VERIFY_SCRIPT)],
        cwd=AGUI_DIR,
        input=json.dumps({"streams": streams}),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise AguiHarnessError(f"verify.mjs failed (exit {proc.returncode}): {proc.stderr}")
    return json.loads(proc.stdout)["results"]


async def averify_events(events: list[dict[str, Any]], *, time_limit: float = 60) -> dict[str, Any]:
    """:func:`verify_events` without blocking the event loop."""
    await asyncio.to_thread(ensure_installed)
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(VERIFY_SCRIPT),
        cwd=AGUI_DIR,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(
            proc.communicate(json.dumps(events).encode()), time_limit
        )
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return _parse_verify_output(proc.returncode or 0, stdout.decode(), stderr.decode())


def _agent_args(url: str, thread_id: str, headers: dict[str, str] | None) -> list[str]:
    args = ["node", str(RUN_AGENT_SCRIPT), "--url", url, "--thread-id", thread_id]
    for name, value in (headers or {}).items():
        args += ["--header", f"{name}: {value}"]
    return args


def run_conversation(
    url: str,
    thread_id: str,
    runs: list[dict[str, Any]],
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 120,
) -> list[dict[str, Any]]:
    """Make ``runs`` (run specs, see run_agent.mjs) in order with one HttpAgent.

    Blocking: the server must not be served by the calling thread's event loop (use
    :class:`AgentSession` from async tests).
    """
    ensure_installed()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"runs": runs}, handle)
    try:
        proc = subprocess.run(
            [*_agent_args(url, thread_id, headers), "--input-file", handle.name],
            cwd=AGUI_DIR,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        os.unlink(handle.name)
    if proc.returncode != 0:
        raise AguiHarnessError(f"run_agent.mjs failed (exit {proc.returncode}): {proc.stderr}")
    return json.loads(proc.stdout)


class AgentSession:
    """One official ``HttpAgent`` (``run_agent.mjs --interactive``) for a whole thread.

    ::

        async with AgentSession(url, "thread-1") as session:
            first = await session.run({"runId": "r1", "messages": [user_message]})
            second = await session.run({"runId": "r2", "resume": [...]})

    Each :meth:`run` returns the run result documented in run_agent.mjs: ``runId``,
    ``events`` (accepted by the client), ``wireEvents``, ``error``, ``outcome``,
    ``finished``, ``pendingInterrupts``, ``newMessages``, ``messages``, ``result``.
    ``messages`` in a spec are appended to the agent's history (``replaceMessages``
    to replace it). The agent's stderr (client warnings) is kept in :attr:`stderr`.
    """

    def __init__(
        self,
        url: str,
        thread_id: str,
        headers: dict[str, str] | None = None,
        *,
        timeout: float = 60,
    ) -> None:
        self.url = url
        self.thread_id = thread_id
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.results: list[dict[str, Any]] = []
        self._stderr: list[str] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task[None] | None = None

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    async def __aenter__(self) -> AgentSession:
        await asyncio.to_thread(ensure_installed)
        self._proc = await asyncio.create_subprocess_exec(
            *_agent_args(self.url, self.thread_id, self.headers),
            "--interactive",
            cwd=AGUI_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=_LINE_LIMIT,
        )
        self._stderr_task = asyncio.create_task(self._drain_stderr())
        return self

    async def _drain_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while line := await self._proc.stderr.readline():
            self._stderr.append(line.decode(errors="replace"))

    async def run(
        self, run_spec: dict[str, Any], *, time_limit: float | None = None
    ) -> dict[str, Any]:
        """Make one run with the session's agent; returns its result."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise AguiHarnessError("AgentSession is not open (use `async with`)")
        if proc.returncode is not None:
            raise AguiHarnessError(
                f"run_agent.mjs exited ({proc.returncode}); stderr:\n{self.stderr}"
            )
        limit = time_limit or self.timeout
        proc.stdin.write(json.dumps(run_spec).encode() + b"\n")
        await proc.stdin.drain()
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), limit)
        except TimeoutError:
            # A late reply would be read as the next run's: the session is over.
            proc.kill()
            await self.aclose()
            raise AguiHarnessError(
                f"no result from run_agent.mjs within {limit}s for "
                f"run {run_spec.get('runId')!r}; stderr:\n{self.stderr}"
            ) from None
        if not line:
            await proc.wait()
            if self._stderr_task is not None:
                await self._stderr_task
            raise AguiHarnessError(
                f"run_agent.mjs exited ({proc.returncode}) mid-run; stderr:\n{self.stderr}"
            )
        result = json.loads(line)
        if "harnessError" in result:
            raise AguiHarnessError(f"run_agent.mjs rejected the run spec: {result['harnessError']}")
        self.results.append(result)
        return result

    async def aclose(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if self._stderr_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._stderr_task, 5)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
