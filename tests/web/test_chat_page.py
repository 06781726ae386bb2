"""The web chat page in a real browser (Debian's chromium through Playwright).

Runs a gateway and an agent stack in-process, then drives the page: a full
travel conversation with confirmation clicks, tokens visibly streaming, a
reload and a dropped stream mid-conversation that resume without duplicates.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from fake_llm import FakeLLM
from tests.support.browser import browser_page, requires_chromium
from tests.support.gateway import api_client, gateway
from tests.support.stack import WHOLE_TRIP, agent_stack

KEYS = "key-web:webtenant"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"

pytestmark = [requires_chromium, pytest.mark.timeout(180)]


async def page_transcript(page) -> list[tuple[str, str]]:
    rows = await page.evaluate(
        """() => [...document.querySelectorAll('#transcript li.msg')].map(
            li => [li.classList.contains('user') ? 'user' : 'agent', li.querySelector('.text').textContent])"""
    )
    return [tuple(row) for row in rows]


async def api_transcript(http, conversation_id: str) -> list[tuple[str, str]]:
    body = (await http.get(f"/v1/conversations/{conversation_id}")).json()
    return [
        (m["role"], m["text"])
        for m in body["transcript"]
        if m["role"] in ("user", "agent") and m["text"]
    ]


async def wait_transcript_matches(page, http, conversation_id: str, within: float = 15) -> list:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        shown, truth = await page_transcript(page), await api_transcript(http, conversation_id)
        if shown == truth:
            return shown
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"page transcript {shown!r}\n!= API transcript {truth!r}")
        await asyncio.sleep(0.1)


async def confirm_next(page) -> None:
    button = page.get_by_role("button", name="Confirm")
    await button.first.wait_for(state="visible", timeout=20_000)
    await button.first.click()
    await page.wait_for_function(
        "() => !document.querySelector('#transcript button.confirm')", timeout=20_000
    )


async def test_full_conversation_in_the_browser(client, redis_url, tmp_path):
    async with (
        FakeLLM(chunk_delay=0.04) as fake,
        agent_stack(client, fake, redis_url, api_keys=KEYS) as stack,
        gateway(stack.settings) as base,
        api_client(base, "key-web") as http,
        browser_page() as page,
    ):
        await page.goto(base + "/")
        # without a key the page says so, then the key is entered once
        await page.get_by_role("alert").wait_for(timeout=10_000)
        assert "API key" in await page.get_by_role("alert").inner_text()
        key_field = page.get_by_label("API key")
        assert "required" in (await key_field.get_attribute("placeholder") or "")
        await page.get_by_label("API key").fill("key-web")
        await page.get_by_role("button", name="Save key").click()
        await page.wait_for_function("() => document.querySelectorAll('#goal option').length > 0")
        assert (
            await page.evaluate("() => sessionStorage.getItem('durable-agent.api-key')")
            == "key-web"
        )
        await page.get_by_label("Goal").select_option("travel")
        await page.get_by_label("First message").fill(WHOLE_TRIP)
        await page.get_by_role("button", name="Start").click()

        # tokens stream into the first agent bubble: watch its text grow
        seen: list[str] = []
        deadline = asyncio.get_running_loop().time() + 20
        while asyncio.get_running_loop().time() < deadline:
            text = await page.evaluate(
                "() => { const t = document.querySelector('#transcript li.msg.agent .text'); return t ? t.textContent : null; }"
            )
            if text and (not seen or seen[-1] != text):
                seen.append(text)
            if await page.locator("#transcript button.confirm").count():
                break
            await asyncio.sleep(0.02)
        final = seen[-1]
        partial = [s for s in seen if s != final]
        assert len(partial) >= 3, f"expected the reply to stream in pieces, saw {seen!r}"
        assert all(final.startswith(p) for p in partial), seen

        conversation_id = page.url.rsplit("/", 1)[-1]
        # the conversation appears in the side list
        await page.locator(f'#conversations button[data-id="{conversation_id}"]').wait_for(
            timeout=10_000
        )

        # a readable card with the arguments, then confirm
        card = page.locator("#transcript li.tool").first
        assert await card.locator("dt").count() >= 1
        await confirm_next(page)
        await page.get_by_role("button", name="Confirm").first.wait_for(timeout=20_000)

        # reload mid-conversation: the history replays, nothing twice
        await page.reload()
        await page.get_by_role("button", name="Confirm").first.wait_for(timeout=20_000)
        await wait_transcript_matches(page, http, conversation_id)
        assert await page.locator("#transcript li.tool").count() == 2

        # a dropped stream resumes from the last event id by itself
        assert await page.evaluate("() => window.durableAgent.lastEventId()")
        await page.evaluate("() => window.durableAgent.dropStream()")
        await confirm_next(page)

        # resuming from an id the log does not know: the gateway sends a
        # STATE_SNAPSHOT and the page rebuilds itself from it
        await page.get_by_role("button", name="Confirm").first.wait_for(timeout=20_000)
        await page.evaluate("() => window.durableAgent.dropStream('1-0')")
        await page.wait_for_function(
            "() => window.durableAgent.lastEventId() !== '1-0' && document.querySelector('#transcript button.confirm')",
            timeout=20_000,
        )
        assert await page.evaluate("() => window.durableAgent.snapshots()") == 1
        await wait_transcript_matches(page, http, conversation_id)
        await confirm_next(page)

        await page.wait_for_function(
            "() => document.getElementById('status').textContent.includes('ended')", timeout=30_000
        )
        shown = await wait_transcript_matches(page, http, conversation_id)
        assert shown[0] == ("user", WHOLE_TRIP)
        assert shown[-1][0] == "agent" and shown[-1][1].startswith("All done")
        assert await page.locator("#transcript li.tool").count() == 3
        assert await page.locator("#transcript .tool-state", has_text="Done.").count() == 3
        assert await page.locator("#transcript .result pre").count() == 3
        assert await page.get_by_role("button", name="Send").is_disabled()
        assert page.errors == []  # type: ignore[attr-defined]
        # the whole finished conversation in one picture; docs/ keeps one, refreshed
        # with UPDATE_SCREENSHOT=1, so test runs do not churn the repository
        target = (
            SCREENSHOT
            if os.environ.get("UPDATE_SCREENSHOT") == "1"
            else tmp_path / "screenshot.png"
        )
        height = await page.evaluate(
            "() => document.getElementById('transcript').scrollHeight - document.getElementById('transcript').clientHeight + window.innerHeight"
        )
        await page.set_viewport_size({"width": 1200, "height": min(int(height) + 40, 2400)})
        await page.screenshot(path=str(target))
        assert target.stat().st_size > 10_000


async def test_dev_mode_on_a_phone_and_end_chat(client, fake_llm, redis_url):
    async with (
        agent_stack(client, fake_llm, redis_url, api_dev_mode=True) as stack,
        gateway(stack.settings) as base,
        browser_page(width=390, height=844) as page,
    ):
        await page.goto(base + "/")
        await page.wait_for_function("() => document.querySelectorAll('#goal option').length > 0")
        placeholder = await page.get_by_label("API key").get_attribute("placeholder")
        assert placeholder == "not needed in dev mode"
        await page.get_by_label("Goal", exact=True).select_option("travel")
        await page.get_by_role("button", name="Start").click()
        await page.get_by_label("Message", exact=True).wait_for()
        await page.wait_for_function("() => !document.getElementById('composer-text').disabled")
        box = page.get_by_label("Message", exact=True)
        await box.fill("I want to go to Melbourne in April")
        await box.press("Enter")
        await page.locator("#transcript li.msg.user").first.wait_for(timeout=10_000)
        await page.get_by_role("button", name="Confirm").first.wait_for(timeout=20_000)
        # reject with a reason
        await page.locator("#transcript input.reason").fill("not now")
        await page.get_by_role("button", name="Reject").click()
        await page.locator("#transcript .tool-state", has_text="Rejected: not now").wait_for(
            timeout=10_000
        )
        await page.get_by_role("button", name="End chat").click()
        await page.wait_for_function(
            "() => document.getElementById('status').textContent.includes('ended')", timeout=20_000
        )
        # no horizontal scrolling on a phone
        assert await page.evaluate(
            "() => document.documentElement.scrollWidth <= window.innerWidth"
        )
        assert page.errors == []  # type: ignore[attr-defined]


async def test_approval_controls_and_goal_switch_in_the_browser(client, fake_llm, redis_url):
    """A policy chosen at creation, an edit (refused, then run), always-allow, a goal switch."""
    async with (
        agent_stack(client, fake_llm, redis_url, api_dev_mode=True) as stack,
        gateway(stack.settings) as base,
        browser_page() as page,
    ):
        await page.goto(base + "/")
        await page.wait_for_function("() => document.querySelectorAll('#goal option').length > 0")
        assert await page.get_by_label("Goal", exact=True).input_value() == "goal_choice"
        await page.get_by_label("Goal", exact=True).select_option("travel")
        await page.get_by_label("find events").select_option("auto")
        await page.get_by_label("First message").fill(WHOLE_TRIP)
        await page.get_by_role("button", name="Start").click()
        notes = page.locator("#transcript .card-note")
        await notes.filter(has_text="Ran without asking").wait_for(timeout=20_000)

        # search_flights asks: an edit that does not fit is refused with the gateway's reason
        await page.get_by_role("button", name="Edit arguments").wait_for(timeout=20_000)
        await page.get_by_role("button", name="Edit arguments").click()
        editor = page.get_by_label("Arguments (JSON)")
        await editor.fill('{"origin": "Sydney"}')
        await page.get_by_role("button", name="Run with these arguments").click()
        alert = page.get_by_role("alert")
        await alert.filter(has_text="do not fit search_flights").wait_for(timeout=10_000)
        edited = {
            "origin": "Sydney",
            "destination": "Melbourne",
            "date_depart": "2027-04-10",
            "date_return": "2027-04-15",
        }
        await editor.fill(json.dumps(edited))
        await page.get_by_role("button", name="Run with these arguments").click()
        await notes.filter(has_text="You edited the arguments. The agent proposed").wait_for(
            timeout=10_000
        )
        assert await page.locator("#transcript dd", has_text="2027-04-15").count() == 1

        # "always allow" from the card
        always = page.get_by_role("button", name="Always allow this tool here")
        await always.wait_for(timeout=20_000)
        await always.click()
        await page.locator(
            "#transcript .note", has_text="create invoice: run without asking"
        ).wait_for(timeout=10_000)
        await page.wait_for_function(
            "() => document.getElementById('status').textContent.includes('ended')", timeout=20_000
        )
        assert await page.get_by_role("button", name="Switch goal").is_disabled()

        # a new conversation, moved to another goal from the page
        await page.get_by_role("button", name="Start").click()  # goal_choice, the default
        await page.wait_for_function("() => !document.getElementById('switch').disabled")
        await page.get_by_label("Move to").select_option("order_tracking")
        await page.get_by_role("button", name="Switch goal").click()
        await page.locator("#transcript .note", has_text="moved to goal order_tracking").wait_for(
            timeout=10_000
        )
        box = page.get_by_label("Message", exact=True)
        for question, answer in (("your order number", "ORD-48213"), ("the reason", "Too small")):
            await page.locator("#transcript li.msg.agent", has_text=question).wait_for(
                timeout=20_000
            )
            await box.fill(answer)
            await box.press("Enter")
        await page.get_by_role("button", name="Confirm").first.wait_for(timeout=20_000)
        assert "order_tracking" in await page.locator("#chat-title").inner_text()
        assert page.errors == []  # type: ignore[attr-defined]


async def test_sse_parser(client, redis_url, fake_llm):
    async with (
        agent_stack(client, fake_llm, redis_url, api_dev_mode=True) as stack,
        gateway(stack.settings) as base,
        browser_page() as page,
    ):
        await page.goto(base + "/")
        result = await page.evaluate(
            """() => {
              const out = []; const retries = [];
              const p = new SSE.SSEParser(e => out.push(e), ms => retries.push(ms));
              const chunks = [': keep-alive\\r', '\\nretry: 2000\\nid: 1-0\\nevent: A\\ndata: {"x"', ':\\ndata: 1}\\r\\n',
                              '\\r\\n', 'id: 2-0\\ndata\\ndata:  two\\n\\n', 'id: 3-0\\n\\n', 'data: x\\r', '\\r'];
              for (const c of chunks) p.push(c);
              return {out, retries, last: p.lastEventId};
            }"""
        )
    assert result["retries"] == [2000]
    assert result["out"] == [
        {"id": "1-0", "event": "A", "data": '{"x":\n1}'},
        {"id": "2-0", "event": "message", "data": "\n two"},
        {"id": "3-0", "event": "message", "data": "x"},
    ]
    assert result["last"] == "3-0"


async def test_stop_button_and_interrupting_message(client, redis_url):
    """Stop appears while the agent answers; the page shows the stop as the API
    transcript does; a message sent with "interrupt" cuts the next answer short."""
    async with (
        FakeLLM(chunk_chars=2, chunk_delay=0.3) as fake,
        # a proposal streams for about 17 s here: LLM_TIMEOUT_SECONDS bounds the whole call
        agent_stack(client, fake, redis_url, api_dev_mode=True, llm_timeout_seconds=60) as stack,
        gateway(stack.settings) as base,
        api_client(base) as http,
        browser_page() as page,
    ):
        await page.goto(base + "/")
        await page.wait_for_function("() => document.querySelectorAll('#goal option').length > 0")
        stop = page.get_by_role("button", name="Stop answer")
        assert await stop.is_disabled()
        await page.get_by_label("First message").fill("Melbourne in April please")
        await page.get_by_role("button", name="Start").click()
        await page.locator("#transcript li.msg.agent").first.wait_for(timeout=20_000)
        await stop.click()
        await page.locator("#transcript li.msg.stopped", has_text="stopped by the user").wait_for(
            timeout=10_000
        )
        await page.wait_for_function(
            "() => document.getElementById('status').textContent === 'Your turn.'", timeout=10_000
        )
        assert await stop.is_disabled()
        conversation_id = page.url.rsplit("/", 1)[-1]
        await wait_transcript_matches(page, http, conversation_id)

        box = page.get_by_label("Message", exact=True)
        await box.fill("Melbourne, then")
        await box.press("Enter")
        await page.wait_for_function("() => !document.getElementById('stop').disabled")
        await page.get_by_label("While the agent answers").select_option("interrupt")
        await box.fill("No: Sydney in May")
        await box.press("Enter")
        await page.locator(
            "#transcript li.msg.stopped", has_text="interrupted by a newer message"
        ).wait_for(timeout=10_000)
        await page.wait_for_function(  # the new message's answer (a proposal) is in
            "() => document.getElementById('stop').disabled", timeout=45_000
        )
        shown = await wait_transcript_matches(page, http, conversation_id)
        assert ("user", "No: Sydney in May") in shown
        assert page.errors == []  # type: ignore[attr-defined]


async def test_timeouts_show_on_the_page(client, fake_llm, redis_url):
    """An undecided proposal is withdrawn, then the idle conversation closes: both say why."""
    timeouts = {"agent_confirmation_timeout_seconds": 1, "agent_idle_timeout_seconds": 3}
    async with (
        agent_stack(client, fake_llm, redis_url, api_dev_mode=True, **timeouts) as stack,
        gateway(stack.settings) as base,
        browser_page() as page,
    ):
        await page.goto(base + "/")
        await page.wait_for_function("() => document.querySelectorAll('#goal option').length > 0")
        await page.get_by_label("Goal", exact=True).select_option("travel")
        await page.get_by_label("First message").fill("An event in Melbourne in April")
        await page.get_by_role("button", name="Start").click()
        await page.locator(
            "#transcript .tool-state", has_text="Withdrawn: no decision came in time."
        ).wait_for(timeout=20_000)
        assert not await page.locator("#transcript button.confirm").count()
        await page.wait_for_function(
            "() => document.getElementById('status').textContent"
            " === 'This conversation closed by itself after 3 seconds without input.'",
            timeout=20_000,
        )
        assert await page.get_by_role("button", name="Send").is_disabled()
        assert page.errors == []  # type: ignore[attr-defined]
