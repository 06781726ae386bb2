"""The published OpenAPI spec is the contract: schemathesis generates requests from
it (valid and not) against the real gateway, stack and keys, and checks each answer.

Every operation, every check, the stateful phase (sequences that follow the links it
infers, from create to the calls on what was created). Deterministic (the same cases
every run); its run report (``--report json``) is what this test reads.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx
import pytest

from tests.api.sse_client import tenant_keys
from tests.support.gateway import gateway
from tests.support.stack import agent_stack

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
MAX_EXAMPLES = 30  # per operation and phase: about a minute on two cores


async def _operations(base: str) -> int:
    async with httpx.AsyncClient(base_url=base) as http:
        spec = (await http.get("/openapi.json")).json()
    return sum(len(item) for item in spec["paths"].values())


async def _schemathesis(base: str, key: str, report: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        *(str(SCHEMATHESIS), "--config-file", str(CONFIG), "--no-color", "run"),
        f"{base}/openapi.json",
        *("--header", f"Authorization: Bearer {key}"),
        *("--checks", "all", "--phases", "examples,coverage,fuzzing,stateful"),
        *("--max-examples", str(MAX_EXAMPLES), "--generation-deterministic"),
        *("--report", "json", "--report-json-path", str(report)),
    )
    await process.wait()  # this event loop serves the gateway meanwhile


@pytest.mark.timeout(300)  # the run is about 90 s here; a loaded CI runner is slower
async def test_every_operation_conforms_to_the_published_spec(
    client, fake_llm, redis_url, tmp_path
):
    api_keys, keys = tenant_keys("fuzz")
    report = tmp_path / "schemathesis.json"
    async with (
        agent_stack(
            client, fake_llm, redis_url, api_keys=api_keys, api_rate_limit_per_minute=1_000_000
        ) as stack,
        gateway(stack.settings) as base,
    ):
        operations = await _operations(base)
        await _schemathesis(base, keys["fuzz"], report)

    run = json.loads(report.read_text())
    summary = {k: run[k] for k in ("operations", "test_cases", "failures", "errors")}
    print(json.dumps(summary, indent=1))
    assert run["complete"] and run["exit_code"] == 0, summary
    assert run["failures"] == [] and run["errors"] == [], summary
    assert run["operations"]["tested"] == operations >= 16, summary
    assert {name: p["status"] for name, p in run["phases"].items()} == dict.fromkeys(
        ("examples", "coverage", "fuzzing", "stateful"), "success"
    ), run["phases"]
    assert run["test_cases"]["generated"] >= 20 * operations, summary
