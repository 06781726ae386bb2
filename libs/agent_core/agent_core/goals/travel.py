"""Travel goal: find an event in a city and month, fly there, get an invoice."""

from __future__ import annotations

from agent_core.specs import Goal, ToolSpec

TOOLS = (
    ToolSpec(
        name="find_events",
        description="Find events (festivals, conferences, concerts) in a city during a month.",
        parameters={
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 1, "examples": ["Melbourne"]},
                "month": {
                    "type": "string",
                    "description": "Month name in English, e.g. April",
                    "examples": ["April"],
                },
            },
            "required": ["city", "month"],
            "additionalProperties": False,
        },
        handler="worker_tools.tools.find_events:find_events",
    ),
    ToolSpec(
        name="search_flights",
        description="Search return flights between two cities for given dates.",
        parameters={
            "type": "object",
            "properties": {
                "origin": {"type": "string", "minLength": 1, "examples": ["Sydney"]},
                "destination": {"type": "string", "minLength": 1, "examples": ["Melbourne"]},
                "date_depart": {
                    "type": "string",
                    "format": "date",
                    "pattern": r"^\d{4}-\d{2}-\d{2}$",
                    "examples": ["2027-04-10"],
                },
                "date_return": {
                    "type": "string",
                    "format": "date",
                    "pattern": r"^\d{4}-\d{2}-\d{2}$",
                    "examples": ["2027-04-14"],
                },
            },
            "required": ["origin", "destination", "date_depart", "date_return"],
            "additionalProperties": False,
        },
        handler="worker_tools.tools.search_flights:search_flights",
    ),
    ToolSpec(
        name="create_invoice",
        description="Create an invoice for the chosen flight. Charges the customer.",
        parameters={
            "type": "object",
            "properties": {
                "email": {
                    "type": "string",
                    "pattern": r"^[^@\s]+@[^@\s]+$",
                    "examples": ["traveller@example.com"],
                },
                "flight_id": {"type": "string", "minLength": 1, "examples": ["DA123"]},
                "amount": {"type": "number", "exclusiveMinimum": 0, "examples": [249.0]},
                "description": {"type": "string", "examples": ["Return flight"]},
            },
            "required": ["email", "flight_id", "amount"],
            "additionalProperties": False,
        },
        handler="worker_tools.tools.create_invoice:create_invoice",
        side_effects=True,
    ),
)

GOAL = Goal(
    id="travel",
    title="Book a trip to an event",
    description=(
        "Help the user find an event in a city and month they choose, search flights "
        "to it, and create an invoice for the flight they pick."
    ),
    agent_name="Trip planner",
    category="travel",
    tools=("find_events", "search_flights", "create_invoice"),
    starter_prompt="Welcome! Which city and month would you like to find an event in?",
    example_conversation=(
        "user: I'd like to go to an event in Melbourne in April\n"
        "agent: Let me look for events in Melbourne in April. Shall I search?\n"
        "user: yes\n"
        "tool(find_events): Comedy Festival, 2027-04-09 to 2027-04-20\n"
        "agent: The Comedy Festival runs 9-20 April. Where are you flying from?\n"
        "user: Sydney, 10 to 14 April\n"
        "agent: I'll search flights Sydney to Melbourne, 10-14 April. OK?\n"
        "user: yes\n"
        "tool(search_flights): DA123, 249.00\n"
        "agent: DA123 costs 249.00. What email should the invoice go to?\n"
        "user: me@example.com\n"
        "agent: I'll create an invoice for DA123 (249.00) to me@example.com. Confirm?\n"
        "user: yes\n"
        "tool(create_invoice): INV-1, sent\n"
        "agent: Done: invoice INV-1 is in your inbox. Have a great trip!"
    ),
)
