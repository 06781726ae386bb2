"""``durable-agent`` driven in a pseudo-terminal against a real gateway and stack.

The gateway and the workers run in this test's event loop; pexpect's
blocking reads run in a thread (``asyncio.to_thread``) so the loop keeps going.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from fake_llm import FakeLLM
from tests.support.gateway import api_client, free_port, gateway
from tests.support.stack import agent_stack

BIN = Path(sys.executable).parent / "durable-agent"
KEYS = "key-cli:clitenant"
CONFIRM = r"\[y/a/e/n\]"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")

pytestmark = pytest.mark.timeout(180)


def env(key: str | None = "key-cli") -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("DURABLE_AGENT_")}
    values.update({"TERM": "xterm-256color", "COLUMNS": "160", "LINES": "50"})
    if key:
        values["DURABLE_AGENT_API_KEY"] = key
    return values


def plain(text: str) -> str:
    return ANSI.sub("", text)


def spawn(*args: str) -> pexpect.spawn:
    child = pexpect.spawn(
        str(BIN), list(args), env=env(), encoding="utf-8", timeout=30, dimensions=(50, 160)
    )
    child.logfile_read = io.StringIO()
    return child


def output(child: pexpect.spawn) -> str:
    return plain(child.logfile_read.getvalue())


def driven(script):  # type: ignore[no-untyped-def]
    """Turn a pexpect timeout into an assertion that shows what the terminal showed."""

    def run(*args):  # type: ignore[no-untyped-def]
        children: list[pexpect.spawn] = []
        try:
            return script(children, *args)
        except (pexpect.TIMEOUT, pexpect.EOF) as exc:
            seen = output(children[-1]) if children else ""
            raise AssertionError(
                f"{type(exc).__name__}; the terminal showed:\n{seen[-3000:]}"
            ) from None
        finally:
            for child in children:
                child.close(force=True)

    return run


def expect_prompt(child: pexpect.spawn) -> None:
    child.expect("You")
    child.expect(": ")


@driven
def first_session(children: list, base: str) -> tuple[str, str]:
    """Start, confirm one tool, reject the next with a reason, /history, /quit."""
    child = spawn("chat", "--goal", "travel", "--url", base)
    children.append(child)
    child.expect(r"Started conversation (?:\x1b\[[0-9;]*m)*(\w+)")
    conversation_id = child.match.group(1)
    expect_prompt(child)
    child.sendline("Melbourne in April please, from Sydney 10 to 14 April")
    child.expect("find_events")
    child.expect(CONFIRM)
    child.sendline("e")  # an edit that does not fit the schema is refused, then asked again
    child.expect("Arguments")
    child.sendline('{"city": ""}')
    child.expect("do not fit find_events")
    child.expect(CONFIRM)
    child.sendline("e")
    child.expect("Arguments")
    child.sendline('{"city": "Sydney", "month": "April"}')
    child.expect("Confirmed with your edited arguments")
    child.expect("Result")
    child.expect("search_flights")
    child.expect(CONFIRM)
    child.sendline("/history")  # a command at a proposal's prompt, then the question again
    child.expect("Melbourne in April please")
    child.expect(CONFIRM)
    child.sendline("maybe")
    child.expect("answer y, a, e or n")
    child.expect(CONFIRM)
    child.sendline("n")
    child.expect("Reason")
    child.sendline("too expensive")
    child.expect("Rejected")
    expect_prompt(child)
    child.sendline("/history")
    child.expect("Melbourne in April please")
    expect_prompt(child)
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, output(child)
    return conversation_id, output(child)


@driven
def second_session(children: list, base: str, conversation_id: str) -> str:
    """Resume, ask again, confirm the rest until the conversation ends."""
    child = spawn("chat", "--conversation", conversation_id, "--url", base)
    children.append(child)
    child.expect("Resuming conversation")
    expect_prompt(child)
    child.sendline(
        "Fine, search the flights after all; the cheapest one, invoice to me@example.com"
    )
    child.expect("search_flights")
    child.expect(CONFIRM)
    child.sendline("a")
    child.expect("search_flights now runs without asking")
    child.expect("create_invoice")
    child.expect(CONFIRM)
    child.sendline("y")
    child.expect("All done")
    child.expect("The conversation has ended")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, output(child)
    return output(child)


@driven
def goal_session(children: list, base: str) -> str:
    """A policy set at creation; the starter goal hands over; auto tools run; /goal
    lists goals and switches."""
    child = spawn(
        "chat", "--goal", "goal_choice", "--tool-policy", "track_shipment=ask", "--url", base
    )
    children.append(child)
    expect_prompt(child)
    child.sendline("Order tracking, please: ORD-48213")
    child.expect("switch_goal")
    child.expect(CONFIRM)
    child.sendline("y")
    child.expect("moved to goal order_tracking")
    child.expect("Runs without asking")  # find_order: auto in the registry
    child.expect("track_shipment")  # auto in the registry, ask in this conversation
    child.expect(CONFIRM)
    child.sendline("n")
    child.expect("Reason")
    child.sendline("")
    expect_prompt(child)
    child.sendline("/goal")
    child.expect("hr_time_off")
    expect_prompt(child)
    child.sendline("/goal hr_time_off")
    child.expect("moved to goal hr_time_off")
    child.expect("your employee id")  # the brain asks for what no one has said yet
    expect_prompt(child)
    child.sendline("E1042: annual leave, 3 to 7 May")
    child.expect("book_leave")
    child.expect(CONFIRM)
    child.sendline("n")
    child.expect("Reason")
    child.sendline("")
    expect_prompt(child)
    child.sendline("/end")
    child.expect("The conversation has ended")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, output(child)
    return output(child)


def run(*args: str, key: str | None = "key-cli") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), *args], env=env(key), capture_output=True, text=True, timeout=60, check=False
    )


async def test_chat_in_a_terminal(client, redis_url):
    async with (
        FakeLLM(chunk_delay=0.02) as fake,
        agent_stack(client, fake, redis_url, api_keys=KEYS) as stack,
        gateway(stack.settings) as base,
    ):
        conversation_id, out1 = await asyncio.to_thread(first_session, base)
        assert "thinking" in out1  # the spinner showed while the agent worked
        live, *histories = out1.split(": /history")  # what followed each typed /history
        assert live.count("Next I'll use find_events") == 1  # streamed once, not repeated
        assert len(histories) == 2  # /history at the proposal's prompt and at the message's
        # and printed once more by each /history
        assert all(h.count("Next I'll use find_events") == 1 for h in histories)
        assert "Left conversation" in out1
        assert f'make chat ARGS="--conversation {conversation_id}"' in out1  # works as printed
        async with api_client(base, "key-cli") as http:
            body = (await http.get(f"/v1/conversations/{conversation_id}")).json()
        assert body["status"] == "awaiting_input"

        out2 = await asyncio.to_thread(second_session, base, conversation_id)
        # the resumed session replayed the history once, then went on live
        assert out2.count("Melbourne in April please") == 1
        assert out2.count("Next I'll use create_invoice") == 1
        async with api_client(base, "key-cli") as http:
            body = (await http.get(f"/v1/conversations/{conversation_id}")).json()
        assert body["status"] == "ended"

        out3 = await asyncio.to_thread(goal_session, base)
        assert out3.count("moved to goal") == 2

        # the other commands
        goals = await asyncio.to_thread(run, "goals", "--url", base)
        assert goals.returncode == 0 and "travel" in goals.stdout
        listed = await asyncio.to_thread(run, "list", "--url", base)
        assert listed.returncode == 0 and conversation_id in listed.stdout
        shown = await asyncio.to_thread(run, "show", conversation_id, "--url", base)
        assert shown.returncode == 0
        assert "Melbourne in April please" in shown.stdout and "ended" in shown.stdout
        tailed = await asyncio.to_thread(run, "tail", conversation_id, "--url", base)
        assert tailed.returncode == 0, tailed.stderr
        lines = tailed.stdout.splitlines()
        assert "RUN_STARTED" in lines[0] and "conversation_created" in lines[1]
        assert "status_changed" in lines[-1]
        middle = lines[len(lines) // 2].split()[0]
        resumed = await asyncio.to_thread(
            run, "tail", conversation_id, "--after", middle, "--url", base
        )
        assert resumed.stdout.splitlines() == lines[len(lines) // 2 + 1 :]

        # clear errors, no tracebacks
        refused = await asyncio.to_thread(run, "list", "--url", base, key="wrong-key")
        assert refused.returncode == 1
        assert "DURABLE_AGENT_API_KEY" in refused.stderr and "Traceback" not in refused.stderr
        missing = await asyncio.to_thread(run, "show", "nope123", "--url", base)
        assert missing.returncode == 1 and "Traceback" not in missing.stderr


def test_gateway_down_is_a_clear_error():
    down = run("chat", "--url", f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 1
    assert "cannot reach the gateway" in down.stderr
    assert "Traceback" not in down.stderr + down.stdout


@driven
def stopped_session(children: list, base: str) -> str:
    """Ctrl-C while the agent answers stops that answer; the chat goes on."""
    child = spawn("chat", "--goal", "travel", "--message", "Melbourne in April", "--url", base)
    children.append(child)
    child.expect("Agent: ")
    child.sendintr()
    child.expect("stopped by the user")
    expect_prompt(child)
    child.sendline("/end")
    child.expect("The conversation has ended")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, output(child)
    return output(child)


async def test_ctrl_c_stops_the_answer_not_the_chat(client, redis_url):
    async with (
        FakeLLM(chunk_chars=2, chunk_delay=0.3) as fake,
        agent_stack(client, fake, redis_url, api_keys=KEYS) as stack,
        gateway(stack.settings) as base,
    ):
        out = await asyncio.to_thread(stopped_session, base)
    assert "Stopping the answer" in out
    assert "discarded" in out  # the partial reply was voided on screen too
    assert "Left conversation" not in out
