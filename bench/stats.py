"""Percentiles and rates, rounded the way the report prints them."""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["percentile", "summary"]


def percentile(values: Iterable[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0-100) of ``values``, or None if empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary(values: Iterable[float]) -> dict[str, float | int | None]:
    """Count, p50, p90, p99 and max, in the values' unit, to 0.1."""
    ordered = sorted(values)

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "n": len(ordered),
        "p50": rounded(percentile(ordered, 50)),
        "p90": rounded(percentile(ordered, 90)),
        "p99": rounded(percentile(ordered, 99)),
        "max": rounded(ordered[-1] if ordered else None),
    }
