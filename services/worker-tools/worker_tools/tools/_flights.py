"""The demo airline network: airports, airlines and how flight numbers are formed.

A flight number is the airline's code, its series digit, then the origin's and
the destination's slot digits: Durable Air (series 1) from Sydney (slot 2) to
Melbourne (slot 3) is DA123. ``search_flights`` makes numbers and
``create_invoice`` checks them, so the rule lives here once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from agent_core.errors import ToolFailed
from worker_tools.tools._data import find_key, load_json

__all__ = ["Airline", "Airport", "airlines", "airport", "currency", "flight_number", "sells"]

_FLIGHT_ID = re.compile(r"([A-Z]{2})(\d)(\d)(\d)")


@dataclass(frozen=True)
class Airport:
    city: str
    code: str
    slot: int
    lat: float
    lon: float


@dataclass(frozen=True)
class Airline:
    code: str
    name: str
    series: int


@cache
def _airports() -> dict[str, Airport]:
    table = load_json("flights.json")["airports"]
    return {city: Airport(city=city, **fields) for city, fields in table.items()}


@cache
def airlines() -> tuple[Airline, ...]:
    return tuple(Airline(**fields) for fields in load_json("flights.json")["airlines"])


def currency() -> str:
    return str(load_json("flights.json")["currency"])


def airport(city: str) -> Airport:
    """The airport serving ``city``; ``ToolFailed`` for a city we do not fly to."""
    key = find_key(_airports(), city)
    if key is None:
        raise ToolFailed(f"no airport for {city.strip()}: we fly to {', '.join(_airports())}")
    return _airports()[key]


def flight_number(airline: Airline, origin: Airport, destination: Airport) -> str:
    return f"{airline.code}{airline.series}{origin.slot}{destination.slot}"


def sells(flight_id: str) -> bool:
    """Whether ``flight_id`` is a number this network could have offered."""
    match = _FLIGHT_ID.fullmatch(flight_id.strip().upper())
    if match is None:
        return False
    code, series, origin, destination = match.groups()
    slots = {str(a.slot) for a in _airports().values()}
    return (
        any(a.code == code and str(a.series) == series for a in airlines())
        and origin != destination
        and {origin, destination} <= slots
    )
