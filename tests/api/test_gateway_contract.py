"""The published contract: OpenAPI declares every error status, /metrics has
the gateway's series."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families

from agent_api.main import create_app
from agent_core.settings import Settings
from durable_agent.event_stream import StreamEvent
from tests.api.sse_client import read_frames, tenant_keys
from tests.support.gateway import api_client, free_port, gateway
from tests.support.stack import agent_stack

CONVERSATION_OPS_409 = {"messages", "confirm", "reject"}


async def _openapi() -> dict:
    app = create_app(Settings(api_keys="k:t"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://x") as http:
        response = await http.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


async def test_api_docs_false_serves_no_docs_and_no_spec():
    """For a gateway behind a public Ingress: none of the three routes exists."""
    app = create_app(Settings(api_keys="k:t", api_docs=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://x") as http:
        answers = {
            path: (await http.get(path)).status_code
            for path in ("/docs", "/redoc", "/openapi.json")
        }
    assert answers == {"/docs": 404, "/redoc": 404, "/openapi.json": 404}
    # the API itself stays
    assert app.url_path_for("stream_events", conversation_id="c") == "/v1/conversations/c/events"


async def test_every_v1_operation_declares_its_error_statuses():
    spec = await _openapi()
    ops = [
        (path, method, op)
        for path, item in spec["paths"].items()
        if path.startswith("/v1/")
        for method, op in item.items()
    ]
    assert len(ops) >= 8, [f"{m} {p}" for p, m, _ in ops]
    problems = []
    for path, method, op in ops:
        name = f"{method.upper()} {path}"
        responses = op["responses"]
        expected = {"401", "429"}
        params = op.get("parameters", [])
        if "{conversation_id}" in path:
            expected |= {"404"}
        if path.startswith("/v1/conversations"):
            expected |= {"503"}
        if params or "requestBody" in op:
            expected |= {"422"}
        writes = method != "get"
        if writes and path.endswith(
            ("/messages", "/confirm", "/reject", "/stop", "/edit", "/goal")
        ):
            expected |= {"409"}
        if writes and (path.endswith("/messages") or path == "/v1/conversations"):
            expected |= {"413"}
        missing = expected - responses.keys()
        if missing:
            problems.append(f"{name} does not declare {sorted(missing)}")
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if schema.get("$ref") != "#/components/schemas/ErrorResponse":
                    problems.append(f"{name} {status} is not documented as ErrorResponse: {schema}")
        if not op.get("security"):
            problems.append(f"{name} declares no security scheme")
        if not any(s.startswith("2") for s in responses):
            problems.append(f"{name} declares no success status")
    assert not problems, "\n".join(problems)
    # an unknown goal is outside the documented schema, not a schema-valid request refused
    goal = spec["components"]["schemas"]["ConversationCreate"]["properties"]["goal"]
    assert "travel" in goal["enum"], goal
    # request bodies are strict: no unknown fields
    strict = ("ConversationCreate", "MessageCreate", "ToolRejection", "StopRequest")
    for model in (*strict, "ToolEdit", "GoalSwitch"):
        assert spec["components"]["schemas"][model].get("additionalProperties") is False, model
    # the busy policy is a documented enum, per conversation and per message
    busy = spec["components"]["schemas"]["BusyPolicy"]
    assert busy["enum"] == ["enqueue", "reject", "interrupt"], busy
    for model in ("ConversationCreate", "MessageCreate"):
        assert "busy_policy" in spec["components"]["schemas"][model]["properties"], model
    assert "/v1/conversations/{conversation_id}/stop" in spec["paths"]


def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def _value(samples, name: str, **labels: str) -> float:
    return sum(v for n, ls, v in samples if n == name and labels.items() <= ls.items())


async def test_metrics_count_requests_by_route_and_open_streams(client, fake_llm, redis_url):
    """On their own port (METRICS_PORT), not the API's."""
    api_keys, keys = tenant_keys("alice")
    port = free_port()
    async with (
        agent_stack(client, fake_llm, redis_url, api_keys=api_keys, metrics_port=port) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as http,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as scrape,
    ):
        assert (await http.get("/metrics")).status_code == 404  # not on the public port
        before = _samples((await scrape.get("/metrics")).text)
        assert (await http.get("/v1/goals")).status_code == 200
        unknown = uuid.uuid4().hex
        assert (await http.get(f"/v1/conversations/{unknown}")).status_code == 404
        created = await http.post("/v1/conversations", json={"goal": "travel"})
        assert created.status_code == 201
        url = created.json()["events_url"]

        opened = asyncio.Event()
        release = asyncio.Event()

        async def hold(_: StreamEvent) -> None:
            opened.set()
            await release.wait()

        reader = asyncio.create_task(read_frames(http, url, limit=1, on_frame=hold))
        await asyncio.wait_for(opened.wait(), 10)
        during = _samples((await scrape.get("/metrics")).text)
        release.set()
        await reader
        for _ in range(50):  # the server notices the disconnect shortly after
            after = _samples((await scrape.get("/metrics")).text)
            if _value(after, "api_open_sse_streams") <= _value(before, "api_open_sse_streams"):
                break
            await asyncio.sleep(0.1)
        await http.post(f"/v1/conversations/{created.json()['id']}/end")

    route = "/v1/conversations/{conversation_id}"
    for name, labels in [
        ("api_requests_total", {"method": "GET", "route": "/v1/goals", "status": "200"}),
        ("api_requests_total", {"method": "GET", "route": route, "status": "404"}),
        ("api_requests_total", {"method": "POST", "route": "/v1/conversations", "status": "201"}),
    ]:
        assert _value(after, name, **labels) >= _value(before, name, **labels) + 1, (name, labels)
    # raw ids never become label values (bounded cardinality)
    assert not [
        ls for n, ls, _ in after if n == "api_requests_total" and unknown in ls.get("route", "")
    ]
    assert _value(during, "api_open_sse_streams") >= _value(before, "api_open_sse_streams") + 1
    assert _value(after, "api_open_sse_streams") == _value(before, "api_open_sse_streams")
    assert (
        _value(after, "api_sse_events_delivered_total")
        >= _value(before, "api_sse_events_delivered_total") + 1
    )
    assert any(n.startswith("api_request_seconds") for n, _, _ in after)


async def test_405_lists_every_method_of_the_path():
    """FastAPI has a route per method; the ``Allow`` of a 405 names all of the path's."""
    app = create_app(Settings(api_keys="k:t"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://x") as http:
        answers = {
            path: await http.request(method, path)
            for method, path in [
                ("OPTIONS", "/v1/conversations"),
                ("DELETE", "/v1/conversations/c-1/messages"),
                ("PUT", "/v1/conversations/c-1"),
            ]
        }
    allowed = {path: r.headers.get("allow") for path, r in answers.items()}
    assert allowed == {
        "/v1/conversations": "GET, POST",
        "/v1/conversations/c-1/messages": "GET, POST",
        "/v1/conversations/c-1": "GET",
    }
    for r in answers.values():
        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
