"""The demo tools against their schema examples and sample data.

The scripted fake LLM proposes each tool with the first example of every
property, so those calls must pass the schema and succeed on the sample data.
Failure cases pass the schema too: they fail on the domain, with ``ToolFailed``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent_core.errors import ToolFailed
from agent_core.registry import GOALS, TOOLS, ToolContext, ToolHandler, ToolSpec, validate_tool_args
from worker_tools.tools import load_handlers

pytestmark = pytest.mark.fast

Handlers = dict[str, ToolHandler]


class FakeLedger:
    """The ``Ledger`` protocol over a dict: the first value stored per key wins."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}

    async def record_once(self, key: str, value: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        if key in self.records:
            return self.records[key], False
        self.records[key] = value
        return value, True


class ProgressLog(list[str]):
    async def __call__(self, message: str) -> None:
        self.append(message)


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


@pytest.fixture
def progress() -> ProgressLog:
    return ProgressLog()


@pytest.fixture
def ctx(ledger: FakeLedger, progress: ProgressLog) -> ToolContext:
    return ToolContext(idempotency_key="wf-test/call-1", ledger=ledger, report_progress=progress)


@pytest.fixture(scope="module")
def handlers() -> Handlers:
    return load_handlers(TOOLS.values())


def example_args(spec: ToolSpec) -> dict[str, Any]:
    return {name: prop["examples"][0] for name, prop in spec.parameters["properties"].items()}


def like(name: str, **changes: Any) -> dict[str, Any]:
    """The tool's example arguments with ``changes``: one bad input at a time."""
    return {**example_args(TOOLS[name]), **changes}


async def run(
    handlers: Handlers, name: str, args: dict[str, Any], ctx: ToolContext
) -> dict[str, Any]:
    validate_tool_args(name, args)
    return await handlers[name](args, ctx)


# --- declarations ----------------------------------------------------------


def test_every_declared_handler_resolves(handlers: Handlers) -> None:
    assert set(handlers) == set(TOOLS)


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("worker_tools.tools.no_such_tool:no_such_tool", ImportError),
        ("worker_tools.tools.find_events:no_such_function", ImportError),
        ("worker_tools.tools.find_events", ImportError),
        ("worker_tools.tools._data:digest", TypeError),
    ],
)
def test_load_handlers_rejects_bad_paths(path: str, error: type[Exception]) -> None:
    spec = ToolSpec(name="broken", description="", parameters={}, handler=path)
    with pytest.raises(error, match="tool 'broken'"):
        load_handlers([spec])


def test_goals_list_only_declared_tools_and_use_them_all() -> None:
    used = {name for goal in GOALS.values() for name in goal.tools}
    assert used == set(TOOLS)
    assert {"travel", "hr_time_off", "order_tracking"} <= set(GOALS)


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_schema_is_strict_and_exemplified(name: str) -> None:
    schema = TOOLS[name].parameters
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) <= set(schema["properties"])
    for prop in schema["properties"].values():
        assert prop["type"] and prop["examples"]


# --- happy paths with the schema examples ----------------------------------


@pytest.mark.parametrize("name", sorted(TOOLS))
async def test_examples_succeed_and_report_progress(
    name: str, handlers: Handlers, ctx: ToolContext, progress: ProgressLog
) -> None:
    result = await run(handlers, name, example_args(TOOLS[name]), ctx)
    assert json.loads(json.dumps(result)) == result
    assert progress


async def test_find_events_matches_travel_examples(handlers: Handlers, ctx: ToolContext) -> None:
    result = await run(handlers, "find_events", {"city": " melbourne", "month": "apr"}, ctx)
    assert result["city"] == "Melbourne" and result["month"] == "April"
    assert "Southbank Comedy Festival" in [e["name"] for e in result["events"]]


async def test_find_events_counts_events_spanning_months(
    handlers: Handlers, ctx: ToolContext
) -> None:
    result = await run(handlers, "find_events", {"city": "Auckland", "month": "July"}, ctx)
    assert [e["name"] for e in result["events"]] == ["Midwinter Light Trail"]


async def test_find_events_empty_month_is_not_a_failure(
    handlers: Handlers, ctx: ToolContext
) -> None:
    result = await run(handlers, "find_events", {"city": "Cape Town", "month": "June"}, ctx)
    assert result["events"] == []


async def test_search_flights_offers_example_flight_deterministically(
    handlers: Handlers, ctx: ToolContext
) -> None:
    args = example_args(TOOLS["search_flights"])
    first, again = (
        await run(handlers, "search_flights", args, ctx),
        await run(handlers, "search_flights", args, ctx),
    )
    assert first == again
    prices = [f["price"] for f in first["flights"]]
    assert prices == sorted(prices)
    offer = next(f for f in first["flights"] if f["flight_id"] == "DA123")
    assert offer["price"] == 249.0 and offer["return_flight_id"] == "DA132"


async def test_check_leave_balance(handlers: Handlers, ctx: ToolContext) -> None:
    result = await run(handlers, "check_leave_balance", {"employee_id": "E1042"}, ctx)
    assert result["balances"] == {"annual": 14.5, "sick": 8, "personal": 2}


async def test_book_leave_skips_company_closures(handlers: Handlers, ctx: ToolContext) -> None:
    args = {
        "employee_id": "E1215",
        "start_date": "2027-03-22",
        "end_date": "2027-03-29",
        "kind": "annual",
    }
    result = await run(handlers, "book_leave", args, ctx)
    assert result["working_days"] == 4 and result["balance_after"] == 18


async def test_find_order_by_email_lists_orders_oldest_first(
    handlers: Handlers, ctx: ToolContext
) -> None:
    result = await run(handlers, "find_order", {"email": "Sam.Rivera@example.com"}, ctx)
    assert [o["order_id"] for o in result["orders"]] == ["ORD-48213", "ORD-48377"]


async def test_track_shipment_in_transit(handlers: Handlers, ctx: ToolContext) -> None:
    result = await run(handlers, "track_shipment", {"order_id": "ORD-48377"}, ctx)
    assert result["estimated_delivery"] == "2027-03-23"
    assert result["events"][-1]["location"] == "Sacramento hub"


# --- side effects run once -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "id_field", "prefix"),
    [
        ("create_invoice", "invoice_id", "INV-"),
        ("book_leave", "booking_id", "LV-"),
        ("request_return", "return_id", "RMA-"),
    ],
)
async def test_side_effect_is_recorded_once(
    name: str, id_field: str, prefix: str, handlers: Handlers, ctx: ToolContext, ledger: FakeLedger
) -> None:
    assert TOOLS[name].side_effects
    args = example_args(TOOLS[name])
    first = await run(handlers, name, args, ctx)
    retried = await run(handlers, name, args, ctx)
    assert first["created"] is True and retried["created"] is False
    assert first[id_field].startswith(prefix)
    assert {**retried, "created": True} == first
    assert list(ledger.records) == [ctx.idempotency_key]


async def test_invoice_id_follows_the_idempotency_key(
    handlers: Handlers, ledger: FakeLedger, progress: ProgressLog
) -> None:
    args = example_args(TOOLS["create_invoice"])
    ids = set()
    for key in ("wf-a/call-1", "wf-a/call-2", "wf-a/call-1"):
        ctx = ToolContext(idempotency_key=key, ledger=ledger, report_progress=progress)
        ids.add((await run(handlers, "create_invoice", args, ctx))["invoice_id"])
    assert len(ids) == 2 and len(ledger.records) == 2


async def test_example_invoice(handlers: Handlers, ctx: ToolContext) -> None:
    invoice = await run(handlers, "create_invoice", example_args(TOOLS["create_invoice"]), ctx)
    assert (invoice["flight_id"], invoice["amount"], invoice["email"]) == (
        "DA123",
        249.0,
        "traveller@example.com",
    )


# --- domain failures -------------------------------------------------------

FAILURES = [
    ("find_events", like("find_events", city="Atlantis"), "no events data for Atlantis"),
    ("find_events", like("find_events", month="Smarch"), "not a month"),
    ("search_flights", like("search_flights", origin="Atlantis"), "no airport for Atlantis"),
    ("search_flights", like("search_flights", destination="sydney"), "both Sydney"),
    ("search_flights", like("search_flights", date_return="2027-04-09"), "before departure"),
    ("search_flights", like("search_flights", date_depart="2027-02-30"), "not a real date"),
    ("create_invoice", like("create_invoice", amount=10000.01), "amount exceeds the card limit"),
    ("create_invoice", like("create_invoice", flight_id="ZZ999"), "not a flight we sell"),
    ("create_invoice", like("create_invoice", flight_id="DA133"), "not a flight we sell"),
    ("check_leave_balance", {"employee_id": "E9999"}, "no employee with id E9999"),
    ("book_leave", like("book_leave", employee_id="E9999"), "no employee"),
    ("book_leave", like("book_leave", end_date="2027-05-02"), "before start date"),
    (
        "book_leave",
        like("book_leave", start_date="2027-05-08", end_date="2027-05-09"),
        "no working",
    ),
    ("book_leave", like("book_leave", employee_id="E1330"), "only 0.5 left"),
    ("book_leave", like("book_leave", end_date="2027-08-31"), "at most 90 days"),
    ("find_order", {}, "give an order id or the email"),
    ("find_order", {"order_id": "ORD-99999"}, "no order ORD-99999"),
    ("find_order", like("find_order", order_id="ORD-49002"), "not placed with"),
    ("find_order", {"email": "nobody@example.com"}, "no orders placed with"),
    ("track_shipment", {"order_id": "ORD-49002"}, "processing: nothing has shipped"),
    ("track_shipment", {"order_id": "ORD-47150"}, "cancelled: nothing has shipped"),
    ("request_return", like("request_return", order_id="ORD-48377"), "only delivered orders"),
    ("request_return", like("request_return", order_id="ORD-46618"), "final-sale"),
    ("request_return", like("request_return", order_id="ORD-99999"), "no order"),
]


@pytest.mark.parametrize(("name", "args", "reason"), FAILURES, ids=[f[0] for f in FAILURES])
async def test_domain_failures_raise_tool_failed(
    name: str,
    args: dict[str, Any],
    reason: str,
    handlers: Handlers,
    ctx: ToolContext,
    ledger: FakeLedger,
) -> None:
    with pytest.raises(ToolFailed, match=reason):
        await run(handlers, name, args, ctx)
    assert ledger.records == {}


def test_every_tool_has_a_failure_case() -> None:
    assert {name for name, _, _ in FAILURES} == set(TOOLS)
