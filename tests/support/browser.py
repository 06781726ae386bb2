"""A headless Debian chromium page through Playwright, for the browser tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CHROMIUM", "browser_page", "requires_chromium"]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

requires_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests need Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
)


@contextlib.asynccontextmanager
async def browser_page(width: int = 1200, height: int = 900) -> AsyncIterator[Any]:
    """A page of that size; ``page.errors`` collects the page's uncaught errors."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.errors = errors  # type: ignore[attr-defined]
            yield page
        finally:
            await browser.close()
