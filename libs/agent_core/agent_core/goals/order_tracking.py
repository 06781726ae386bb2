"""Order-tracking goal: find a customer's order, track its parcel, start a return."""

from __future__ import annotations

from agent_core.models import ToolPolicy
from agent_core.specs import Goal, ToolSpec

_ORDER_ID = {
    "type": "string",
    "pattern": r"^ORD-\d{5}$",
    "description": "Order number, e.g. ORD-48213",
    "examples": ["ORD-48213"],
}

TOOLS = (
    ToolSpec(
        name="find_order",
        description=(
            "Find orders by order number, or every order placed with an email. "
            "Give at least one; given both, the order must belong to that email."
        ),
        parameters={
            "type": "object",
            "properties": {
                "order_id": _ORDER_ID,
                "email": {
                    "type": "string",
                    "pattern": r"^[^@\s]+@[^@\s]+$",
                    "examples": ["sam.rivera@example.com"],
                },
            },
            "required": [],
            "additionalProperties": False,
        },
        handler="worker_tools.tools.find_order:find_order",
        approval=ToolPolicy.AUTO,  # a read-only lookup
    ),
    ToolSpec(
        name="track_shipment",
        description="Show where an order's parcel is: carrier, tracking number and scans.",
        parameters={
            "type": "object",
            "properties": {"order_id": _ORDER_ID},
            "required": ["order_id"],
            "additionalProperties": False,
        },
        handler="worker_tools.tools.track_shipment:track_shipment",
        approval=ToolPolicy.AUTO,  # a read-only lookup
    ),
    ToolSpec(
        name="request_return",
        description=(
            "Open a return for a delivered order and email a prepaid label. "
            "The customer is refunded the order total when it arrives."
        ),
        parameters={
            "type": "object",
            "properties": {
                "order_id": _ORDER_ID,
                "reason": {
                    "type": "string",
                    "minLength": 3,
                    "maxLength": 500,
                    "examples": ["The shoes are a size too small"],
                },
            },
            "required": ["order_id", "reason"],
            "additionalProperties": False,
        },
        handler="worker_tools.tools.request_return:request_return",
        side_effects=True,
    ),
)

GOAL = Goal(
    id="order_tracking",
    title="Track an order or return it",
    description=(
        "Help a customer find their order, see where its parcel is, and return a "
        "delivered order they are not happy with."
    ),
    agent_name="Order helper",
    category="retail",
    tools=("find_order", "track_shipment", "request_return"),
    starter_prompt=(
        "Hello! I can find your order, track its delivery or start a return. "
        "What's your order number, or the email you ordered with?"
    ),
    example_conversation=(
        "user: Where is my rain jacket? I ordered it last week.\n"
        "agent: I can look that up. What's the order number, or the email you ordered with?\n"
        "user: sam.rivera@example.com\n"
        "agent: I'll look up the orders placed with sam.rivera@example.com. OK?\n"
        "user: yes\n"
        "tool(find_order): ORD-48213 delivered (shoes, socks); ORD-48377 shipped (rain shell)\n"
        "agent: Your rain shell is order ORD-48377 and it has shipped. Shall I track it?\n"
        "user: yes\n"
        "tool(track_shipment): Parcelbird PB7730022510, in transit at Sacramento hub, "
        "due 2027-03-23\n"
        "agent: It left the Sacramento hub on 20 March and should arrive by 23 March.\n"
        "user: The shoes from the other order are too small. Can I send them back?\n"
        "agent: I'll open a return for ORD-48213 (reason: a size too small); "
        "you'd be refunded 154.00 USD. Confirm?\n"
        "user: yes\n"
        "tool(request_return): RMA-8C1D07E5B2, label sent\n"
        "agent: Done: return RMA-8C1D07E5B2 is open and the Parcelbird label is in your "
        "inbox. The refund follows once the parcel arrives."
    ),
)
