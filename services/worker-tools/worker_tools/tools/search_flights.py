"""search_flights: return-flight offers between two cities (travel goal).

Offers are computed, not stored: the fare grows with the great-circle distance
and a demand factor drawn from a digest of airline, route and dates, so the
same search always returns the same offers, on any worker, after any retry.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from agent_core.errors import ToolFailed
from agent_core.registry import ToolContext
from worker_tools.tools._data import digest, load_json, parse_date
from worker_tools.tools._flights import (
    Airline,
    Airport,
    airlines,
    airport,
    currency,
    flight_number,
)

_EARTH_RADIUS_KM = 6371.0


async def search_flights(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """Offers from every airline, cheapest first, each with its return flight."""
    origin, destination = airport(args["origin"]), airport(args["destination"])
    if origin == destination:
        raise ToolFailed(f"origin and destination are both {origin.city}")
    depart = parse_date(args["date_depart"], "date_depart")
    back = parse_date(args["date_return"], "date_return")
    if back < depart:
        raise ToolFailed(f"return date {back} is before departure date {depart}")
    await ctx.report_progress(
        f"Searching flights {origin.code} to {destination.code}, {depart} to {back}"
    )
    offers = sorted(
        (_offer(a, origin, destination, depart, back) for a in airlines()),
        key=lambda offer: offer["price"],
    )
    await ctx.report_progress(f"Found {len(offers)} flights")
    return {
        "origin": origin.city,
        "destination": destination.city,
        "date_depart": depart.isoformat(),
        "date_return": back.isoformat(),
        "currency": currency(),
        "flights": offers,
    }


def _offer(
    airline: Airline, origin: Airport, destination: Airport, depart: date, back: date
) -> dict[str, Any]:
    return {
        "flight_id": flight_number(airline, origin, destination),
        "return_flight_id": flight_number(airline, destination, origin),
        "airline": airline.name,
        "price": _fare(airline, origin, destination, depart, back),
    }


def _fare(
    airline: Airline, origin: Airport, destination: Airport, depart: date, back: date
) -> float:
    """Return fare ending in 9 (249.0): distance-based, times a stable demand factor."""
    model = load_json("flights.json")["fare"]
    one_way = model["base"] + model["per_km"] * _distance_km(origin, destination)
    seed = digest(airline.code, origin.code, destination.code, depart.isoformat(), back.isoformat())
    spread = int(seed[:8], 16) / 0xFFFFFFFF
    demand = model["demand_low"] + (model["demand_high"] - model["demand_low"]) * spread
    return float(max(1, round(2 * one_way * demand / 10)) * 10 - 1)


def _distance_km(a: Airport, b: Airport) -> float:
    """Great-circle distance (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(h))
