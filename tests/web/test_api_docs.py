"""The API docs render with no network but the gateway's own (Swagger UI and
ReDoc from the gateway, not a CDN): chromium here reaches only loopback."""

from __future__ import annotations

import pytest

from tests.support.browser import browser_page, requires_chromium
from tests.support.gateway import gateway
from tests.support.stack import agent_stack

pytestmark = [requires_chromium, pytest.mark.timeout(120)]


async def test_swagger_ui_and_redoc_render_offline(client, fake_llm, redis_url):
    async with (
        agent_stack(client, fake_llm, redis_url, api_dev_mode=True) as stack,
        gateway(stack.settings) as base,
        browser_page(1100, 700) as page,
    ):
        elsewhere: list[str] = []  # what the pages needed from outside the gateway

        def note(request) -> None:  # type: ignore[no-untyped-def]
            local = request.url.startswith((base, "blob:", "data:"))
            # ReDoc's "powered by" footer links its logo from its CDN: decoration only
            if not local and request.resource_type != "image":
                elsewhere.append(f"{request.resource_type} {request.url}")

        page.on("request", note)
        await page.goto(base + "/docs")
        await page.locator(".swagger-ui .info .title", has_text="durable-agent").wait_for(
            timeout=20_000
        )
        operations = await page.locator(".swagger-ui .opblock").count()
        await page.goto(base + "/redoc")
        await page.locator("redoc h1, [role=main] h1", has_text="durable-agent").first.wait_for(
            timeout=20_000
        )

    assert operations >= 10  # every route of the spec is listed
    assert elsewhere == []  # no script, style or font came from outside the gateway
    assert page.errors == []
