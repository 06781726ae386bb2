"""Temporal's External Storage on a real S3 API (moto's server mode on loopback).

The stack runs a whole conversation with the payload threshold at 1 KiB, so
almost every payload (plans, tool runs, continue-as-new state) goes to the
bucket through the SDK's S3 driver and history keeps only references; the
ledger records its invoice in the same bucket.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest
from aiobotocore.session import get_session
from temporalio.client import Client

from agent_core.models import ConversationStatus
from agent_core.object_store import S3ObjectStore, open_object_store
from agent_core.settings import Settings
from agent_core.temporal_client import data_converter
from tests.support.s3 import S3_ACCESS, moto_server
from tests.support.stack import WHOLE_TRIP, agent_stack

BUCKET = "durable-agent-test"
THRESHOLD = 1024


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
async def s3_settings(s3_endpoint: str) -> AsyncIterator[dict[str, object]]:
    async with get_session().create_client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ) as s3:
        await s3.create_bucket(Bucket=BUCKET)
    yield {
        "storage_url": f"s3://{BUCKET}",
        "storage_s3_endpoint_url": s3_endpoint,
        "storage_s3_region": "us-east-1",
        "storage_payload_threshold_bytes": THRESHOLD,
        **S3_ACCESS,
    }


async def test_a_conversation_keeps_its_large_payloads_in_s3(
    client, fake_llm, redis_url, s3_settings
):
    async with open_object_store(Settings(**s3_settings)) as store:
        assert isinstance(store, S3ObjectStore)
        s3_client = await Client.connect(
            client.service_client.config.target_host,
            namespace=client.namespace,
            data_converter=data_converter(store, THRESHOLD),
        )
        async with agent_stack(
            s3_client, fake_llm, redis_url, agent_show_confirm=False, **s3_settings
        ) as stack:
            cid = await stack.start("travel", WHOLE_TRIP)
            final = await stack.result(cid, within=60)
            handle = stack.conversations.handle(stack.tenant, cid)
            history = await handle.fetch_history()
            keys = await _keys(store)

    assert final.status is ConversationStatus.ENDED
    invoice = next(
        m.tool_result
        for m in final.transcript
        if m.tool_result and m.tool_result.name == "create_invoice"
    )
    assert invoice.ok and invoice.output and invoice.output["created"] is True
    payloads = _payloads(json.loads(history.to_json()))
    referenced = [p for p in payloads if p.get("externalPayloads")]
    assert referenced, "no payload went to the bucket"
    # what stayed inline is under the threshold: history holds references, not data
    assert max(len(json.dumps(p)) for p in payloads if p not in referenced) < 2 * THRESHOLD
    assert any(k.startswith("v0/") for k in keys)
    assert any(k.startswith("ledger/") for k in keys)


async def test_a_conditional_create_refuses_a_second_writer(s3_settings):
    async with open_object_store(Settings(**s3_settings)) as store:
        assert await store.create("ledger/once.json", b"first") is True
        assert await store.create("ledger/once.json", b"second") is False
        assert await store.read("ledger/once.json") == b"first"
        assert await store.read("ledger/missing.json") is None


async def _keys(store: S3ObjectStore) -> list[str]:
    paginator = store._client.get_paginator("list_objects_v2")
    return [
        o["Key"]
        async for page in paginator.paginate(Bucket=store.bucket)
        for o in page.get("Contents", [])
    ]


def _payloads(node: object) -> list[dict]:
    """Every payload object in a history's JSON (those with ``metadata`` and ``data``)."""
    found: list[dict] = []
    if isinstance(node, dict):
        if "metadata" in node and "data" in node:
            found.append(node)
        else:
            for value in node.values():
                found += _payloads(value)
    elif isinstance(node, list):
        for value in node:
            found += _payloads(value)
    return found
