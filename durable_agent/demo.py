"""``make demo``: a travel conversation through the gateway, printed as it streams.

It is the terminal chat (``durable_agent.chat``) with a script for a user:
against a running stack (``make run``) it starts a conversation, prints the
agent's words as they arrive, confirms each tool the agent proposes, says
the script's next line each time the agent waits for input, and ends the
conversation when the script runs out::

    python -m durable_agent.demo [--url http://127.0.0.1:8000] [--goal travel] [--say TEXT ...]

The gateway's address: ``--url``, else ``DURABLE_AGENT_URL``, else the running
local stack's, else http://127.0.0.1:8000 (``api_client.default_url``). The
API key, when the gateway wants one: ``DURABLE_AGENT_API_KEY`` (never put it
in a URL). Only the public HTTP API is used, as any client would.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from rich.console import Console

from durable_agent.api_client import ApiClient, ApiError, default_url
from durable_agent.chat import ChatSession
from durable_agent.event_stream import StreamEvent

__all__ = ["TRAVEL_SCRIPT", "ScriptedChat", "main", "run_demo"]

#: what the demo's user says, one line each time the agent waits for input
TRAVEL_SCRIPT = (
    "Hi! I'd like to go to a music festival in Melbourne in April.",
    "I'll fly from Sydney, out on 2027-04-10 and back on 2027-04-14.",
    "Book the cheapest flight please, and send the invoice to traveller@example.com.",
    "That's all, thank you!",
)


class ScriptedChat(ChatSession):
    """The terminal chat whose user says the script's lines and confirms every
    proposal, then ends the conversation; it gives up after ``timeout`` seconds."""

    intro = ""  # no one types here

    def __init__(self, *args: Any, script: Sequence[str], timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.script = list(script)
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.tools_run = 0

    def _act(self) -> int | None:
        if time.monotonic() > self.deadline:
            self.view.error(f"the conversation did not end within {self.timeout:.0f} s")
            return 1
        return super()._act()

    def _confirm(self, call: dict[str, Any]) -> int | None:
        self.view.note(f"You: confirm {call['name']}")
        try:
            self._decide(call, "y")
        except ApiError as exc:
            self.view.error(str(exc))
        return None

    def _message(self) -> int | None:
        try:
            if self.script:
                self.api.send(self.id, self.script.pop(0))  # its echo prints it
            else:
                self.view.note("(the script is done: ending the conversation)")
                self.api.end(self.id)
        except ApiError as exc:
            self.view.error(str(exc))
            return 1
        return None

    def _handle(self, event: StreamEvent) -> None:
        self.tools_run += event.name == "tool_started"
        super()._handle(event)


def run_demo(
    url: str | None = None,
    api_key: str | None = None,
    goal: str = "travel",
    script: Sequence[str] = TRAVEL_SCRIPT,
    timeout: float = 180.0,
    stream: TextIO | None = None,
    color: bool | None = None,
) -> int:
    """Drive one conversation to its end; 0 when it ended, 1 on failure, 2 if no gateway."""
    console = Console(file=stream or sys.stdout, highlight=False, force_terminal=color)
    if color is False:
        console.no_color = True
    base = url or default_url()
    key = api_key if api_key is not None else os.environ.get("DURABLE_AGENT_API_KEY")
    with ApiClient(base, key or None) as api, ApiClient(base, key or None) as stream_api:
        try:
            api.request("GET", "/healthz")
            created = api.create(goal)
        except ApiError as exc:
            console.print(f"[red]Error:[/] {exc}")
            if exc.status is None:
                console.print("[dim]start the stack first, in another terminal: make run[/]")
            return 1 if exc.status else 2
        console.print(f"[dim]conversation {created['id']} (goal {goal}) at {api.base_url}[/]")
        chat = ScriptedChat(
            api,
            stream_api,
            created["id"],
            console,
            created["status"],
            script=script,
            timeout=timeout,
        )
        code = chat.run()
        console.print(
            f"[dim]{chat.tools_run} tools run; see it in the API: "
            f"GET {api.base_url}/v1/conversations/{created['id']}[/]"
        )
        return code


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="durable-agent demo",
        description="Drive a travel conversation through a running stack's gateway.",
    )
    parser.add_argument("--url", default=None, help="gateway URL (default: the running stack's)")
    parser.add_argument("--goal", default="travel", help="goal id (see GET /v1/goals)")
    parser.add_argument(
        "--say",
        action="append",
        default=None,
        metavar="TEXT",
        help="what the user says, in order (repeatable; default: a travel script)",
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds for the whole demo")
    color = parser.add_mutually_exclusive_group()
    color.add_argument("--color", dest="color", action="store_true", default=None)
    color.add_argument("--no-color", dest="color", action="store_false")
    args = parser.parse_args(argv)
    code = run_demo(
        url=args.url,
        goal=args.goal,
        script=args.say or TRAVEL_SCRIPT,
        timeout=args.timeout,
        color=args.color,
    )
    sys.exit(code)


if __name__ == "__main__":
    main()
