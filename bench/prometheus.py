"""Counters read from a worker's Prometheus endpoint, for figures that happen inside it."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["scrape"]


async def scrape(http: aiohttp.ClientSession, url: str) -> dict[str, float]:
    """Every unlabelled sample at ``url`` by name (``..._sum``, ``..._count``, ``..._total``)."""
    async with http.get(url) as response:
        response.raise_for_status()
        text = await response.text()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }
