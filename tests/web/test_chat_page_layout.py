"""The web chat page as a new user meets it (headless Chromium): the Confirm
button in view on every proposal, a greeting, no stale "ended", the list up to
date, and a long conversation readable back to its first line."""

from __future__ import annotations

import pytest

from tests.support.browser import browser_page, requires_chromium
from tests.support.gateway import gateway
from tests.support.stack import WHOLE_TRIP, agent_stack

pytestmark = [requires_chromium, pytest.mark.timeout(180)]

IN_VIEW = """(el) => {
  const box = el.getBoundingClientRect();
  const pane = document.getElementById('transcript').getBoundingClientRect();
  return box.top >= Math.max(0, pane.top) - 1 && box.bottom <= Math.min(window.innerHeight, pane.bottom) + 1;
}"""


def _last(snap) -> str | None:
    return snap.transcript[-1].text if snap.transcript else None


async def _start(page, base: str, message: str | None) -> None:
    await page.goto(base + "/")
    await page.wait_for_function("() => document.querySelectorAll('#goal option').length > 0")
    await page.get_by_label("Goal", exact=True).select_option("travel")
    if message:
        await page.get_by_label("First message").fill(message)
    await page.get_by_role("button", name="Start").click()


@pytest.mark.parametrize("size", [(1100, 700), (375, 800)], ids=["laptop", "phone"])
async def test_every_proposal_shows_its_confirm_button_in_view(client, fake_llm, redis_url, size):
    width, height = size
    async with (
        agent_stack(client, fake_llm, redis_url, api_dev_mode=True) as stack,
        gateway(stack.settings) as base,
        browser_page(width=width, height=height) as page,
    ):
        await _start(page, base, WHOLE_TRIP)
        for proposal in range(3):  # find_events, search_flights, create_invoice
            confirm = page.locator("#transcript button.confirm")
            await confirm.wait_for(timeout=20_000)
            await page.wait_for_timeout(300)  # let the card finish filling in
            assert await confirm.evaluate(IN_VIEW), (
                f"Confirm of proposal {proposal + 1} is out of view"
            )
            await confirm.click()
            await page.wait_for_function(
                "() => !document.querySelector('#transcript button.confirm')", timeout=20_000
            )
        assert page.errors == []  # type: ignore[attr-defined]


async def test_a_new_conversation_greets_and_an_ended_one_shows_as_ended(
    client, fake_llm, redis_url
):
    async with (
        agent_stack(client, fake_llm, redis_url, api_dev_mode=True) as stack,
        gateway(stack.settings) as base,
        browser_page(width=1100, height=700) as page,
    ):
        await _start(page, base, None)
        greeting = page.locator("#transcript li.note", has_text="Hello!")
        await greeting.wait_for(timeout=10_000)
        first = page.url.rsplit("/", 1)[-1]
        await page.get_by_role("button", name="End chat").click()
        await page.wait_for_function(
            "() => document.getElementById('status').textContent.includes('ended')", timeout=20_000
        )
        entry = page.locator(f'#conversations button[data-id="{first}"]')
        await page.get_by_role("button", name="Start").click()  # a second conversation
        await page.wait_for_function(f"() => !location.hash.endsWith('{first}')", timeout=10_000)
        await page.locator("#transcript li.note", has_text="Hello!").wait_for(timeout=10_000)
        status = await page.locator("#status").inner_text()
        listed = await entry.inner_text()
    assert "ended" not in status.lower(), status
    assert "ended" in listed and "open" not in listed, listed


async def test_a_long_conversation_reads_back_to_its_first_line(client, fake_llm, redis_url):
    """Its log trimmed (100 events kept), the page opens on a snapshot of the recent
    part and pages back through the archive to the first message."""
    turns = 40
    fake_llm.script("plan", *[f"answer {i}" for i in range(turns)])
    async with (
        agent_stack(
            client, fake_llm, redis_url, api_dev_mode=True,
            events_stream_maxlen=100, agent_history_window=4,
        ) as stack,
        gateway(stack.settings) as base,
        browser_page(width=1100, height=700) as page,
    ):  # fmt: skip
        stack.tenant = "dev"  # the tenant of a key-less request in dev mode
        cid = await stack.start("travel", "message 0")
        for i in range(1, turns):
            await stack.wait_for(cid, lambda s, n=i - 1: _last(s) == f"answer {n}")
            await stack.conversations.send(stack.tenant, cid, f"message {i}")
        snap = await stack.wait_for(cid, lambda s: _last(s) == f"answer {turns - 1}")
        assert snap.archive_pages >= 1
        await page.goto(f"{base}/#/c/{cid}")
        more = page.get_by_role("button", name="Show earlier messages")
        await more.wait_for(timeout=20_000)
        while await more.count():
            await more.click()
            await page.wait_for_timeout(200)
        said = await page.locator("#transcript li.msg.user .text").all_inner_texts()
        told = await page.locator("#transcript li.msg.agent .text").all_inner_texts()
    assert said == [f"message {i}" for i in range(turns)]
    assert told == [f"answer {i}" for i in range(turns)]
