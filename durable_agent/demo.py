"""``make demo``: a travel conversation through the gateway, printed as it streams.

Against a running stack (``make run``), it starts a conversation, reads its
Server-Sent Events, prints the agent's words as they arrive, confirms each
tool the agent proposes, answers the agent's questions from a short script,
and stops when the conversation ends::

    python -m durable_agent.demo [--url http://127.0.0.1:8000] [--goal travel]

The gateway's address: ``--url``, else ``DURABLE_AGENT_URL``, else the running
local stack's (``stack.json`` in ``DURABLE_AGENT_DATA_DIR``, default ``data``),
else http://127.0.0.1:8000. The API key, when
the gateway wants one: ``DURABLE_AGENT_API_KEY`` (never put it in a URL).
Only the public HTTP API is used (httpx + httpx-sse), as any client would.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx
from httpx_sse import SSEError, connect_sse

__all__ = ["TRAVEL_SCRIPT", "DemoError", "default_url", "main", "run_demo"]

#: what the demo's user says, one line each time the agent waits for input
TRAVEL_SCRIPT = (
    "Hi! I'd like to go to a music festival in Melbourne in April.",
    "I'll fly from Sydney, out on 2027-04-10 and back on 2027-04-14.",
    "Book the cheapest flight please, and send the invoice to traveller@example.com.",
    "That's all, thank you!",
)
DEFAULT_URL = "http://127.0.0.1:8000"
_MAX_RECONNECTS = 5
_CONFIRM_RETRY_SECONDS = 10.0


class DemoError(Exception):
    """The demo cannot go on; the message says why."""


def default_url(data_dir: Path | str | None = None) -> str:
    """``DURABLE_AGENT_URL``, the running local stack's gateway, or 127.0.0.1:8000."""
    if os.environ.get("DURABLE_AGENT_URL"):
        return os.environ["DURABLE_AGENT_URL"].rstrip("/")
    if data_dir is None:
        data_dir = os.environ.get("DURABLE_AGENT_DATA_DIR") or "data"
    try:
        state = json.loads((Path(data_dir) / "stack.json").read_text())
        return str(state["urls"]["gateway"]).rstrip("/")
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_URL


class _Printer:
    def __init__(self, stream: TextIO, color: bool) -> None:
        self.stream = stream
        self.color = color
        self.open_line = False

    def _paint(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and code else text

    def end_line(self) -> None:
        if self.open_line:
            self.stream.write("\n")
            self.open_line = False

    def line(self, who: str, text: str, code: str = "") -> None:
        self.end_line()
        self.stream.write(f"{self._paint(code or '1', f'{who:<6}')} {self._paint(code, text)}\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        self.line("", text, "2")

    def start(self, who: str, code: str) -> None:
        self.end_line()
        self.stream.write(self._paint(code, f"{who:<6} "))
        self.open_line = True
        self.stream.flush()

    def write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def _short(value: Any, limit: int = 220) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _error_code(response: httpx.Response) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def _error_text(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        return f"{response.status_code} {error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{response.status_code} {response.text[:200]}"


@dataclass
class _Conversation:
    http: httpx.Client
    out: _Printer
    script: list[str]
    id: str = ""
    events_url: str = ""
    last_event_id: str | None = None
    sent: str | None = None  # our latest message
    sent_seq: int | None = None  # its place in the conversation (from the 202)
    echoed: bool = False  # its user_message event came back
    ended: bool = False
    ending: bool = False
    confirmed: set[str] = field(default_factory=set)
    streamed: set[str] = field(default_factory=set)
    tool_names: dict[str, str] = field(default_factory=dict)
    tools_run: int = 0

    # -- actions ----------------------------------------------------------------

    def post(
        self, path: str, body: dict[str, Any] | None = None, conflict_ok: bool = False
    ) -> httpx.Response:
        response = self.http.post(path, json=body if body is not None else {})
        if response.status_code >= 400 and not (conflict_ok and response.status_code == 409):
            raise DemoError(f"POST {path}: {_error_text(response)}")
        return response

    def say(self, text: str) -> None:
        self.out.line("you", text, "1;34")
        self.sent, self.sent_seq, self.echoed = text, None, False
        response = self.post(f"/v1/conversations/{self.id}/messages", {"text": text})
        seq = response.json().get("seq")
        self.sent_seq = seq if isinstance(seq, int) else None

    def next_turn(self) -> None:
        if self.script:
            self.say(self.script.pop(0))
        elif not self.ending:
            self.ending = True
            self.out.note("(script finished: ending the conversation)")
            self.post(f"/v1/conversations/{self.id}/end", conflict_ok=True)

    def confirm(self, call_id: str, name: str, args: Any) -> None:
        """Approve the proposed call, once.

        The proposal is streamed by the model activity, a moment before the
        workflow records it as pending: a confirm sent at once may be refused
        with 409 ``nothing_pending``, so it is retried briefly.
        """
        if call_id in self.confirmed:
            return
        self.confirmed.add(call_id)
        self.out.line("agent", f"wants to run {name} {_short(args)}", "33")
        path = f"/v1/conversations/{self.id}/tool-calls/{call_id}/confirm"
        deadline = time.monotonic() + _CONFIRM_RETRY_SECONDS
        while True:
            response = self.post(path, conflict_ok=True)
            if response.status_code != 409:
                self.out.line("you", f"confirm {name}", "1;34")
                return
            if _error_code(response) != "nothing_pending" or time.monotonic() > deadline:
                self.out.note(f"(could not confirm {name}: {_error_text(response)})")
                return
            time.sleep(0.1)

    # -- events -----------------------------------------------------------------

    def handle(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "TEXT_MESSAGE_START":
            self.streamed.add(str(data.get("messageId")))
            self.out.start("agent", "1;32")
        elif kind == "TEXT_MESSAGE_CONTENT":
            if not self.out.open_line:
                self.out.start("agent", "1;32")
            self.out.write(str(data.get("delta", "")))
        elif kind == "TEXT_MESSAGE_END":
            self.out.end_line()
        elif kind == "TOOL_CALL_START":
            self.tool_names[str(data.get("toolCallId"))] = str(data.get("toolCallName"))
        elif kind == "TOOL_CALL_RESULT":
            name = self.tool_names.get(str(data.get("toolCallId")), "tool")
            self.tools_run += 1
            self.out.line("tool", f"{name} -> {_short(data.get('content', ''))}", "36")
        elif kind == "RUN_ERROR":
            self.out.line(
                "error", f"{data.get('code') or ''} {data.get('message', '')}".strip(), "1;31"
            )
        elif kind == "STATE_SNAPSHOT":
            self.on_snapshot(data.get("snapshot") or {})
        elif kind == "CUSTOM":
            seq = (data.get("metadata") or {}).get("seq")
            seq = seq if isinstance(seq, int) else None
            self.on_custom(str(data.get("name")), data.get("value") or {}, seq)

    def on_custom(self, name: str, value: dict[str, Any], seq: int | None = None) -> None:
        if name == "user_message":
            if self.sent is not None and value.get("text") == self.sent and not self.echoed:
                self.echoed = True
            else:
                self.out.line("user", str(value.get("text", "")), "34")
        elif name == "agent_message":
            if str(value.get("messageId")) not in self.streamed:
                self.out.line("agent", str(value.get("text", "")), "1;32")
        elif name == "text_message_voided":
            self.out.end_line()
            self.out.note("(that partial reply was discarded: the model call is being retried)")
        elif name == "tool_call_awaiting_confirmation":
            self.confirm(str(value.get("toolCallId")), str(value.get("name")), value.get("args"))
        elif name == "tool_started":
            self.out.line("tool", f"running {value.get('name')} ...", "36")
        elif name == "tool_progress":
            self.out.line("tool", f"... {value.get('message', '')}", "36")
        elif name == "tool_failed":
            self.out.line("tool", f"{value.get('name', 'tool')} failed: {value.get('error')}", "31")
        elif name == "status_changed":
            self.on_status(str(value.get("status")), seq)

    def on_status(self, status: str, seq: int | None) -> None:
        self.out.note(f"[{status}]")
        if status == "ended":
            self.ended = True
        elif status == "awaiting_input" and self.answered(seq):
            self.next_turn()

    def answered(self, seq: int | None) -> bool:
        """Whether this wait for input comes after our latest message was handled."""
        if self.sent is None:
            return False
        if seq is not None and self.sent_seq is not None:
            return seq > self.sent_seq
        return self.echoed  # no sequence numbers on the wire: go by the echo

    def on_snapshot(self, snap: dict[str, Any]) -> None:
        status = str(snap.get("status"))
        self.out.note(f"[snapshot: {status}, {len(snap.get('transcript') or [])} messages]")
        pending = snap.get("pending_call") or snap.get("pendingCall")
        if status == "awaiting_confirmation" and pending:
            self.confirm(str(pending.get("id")), str(pending.get("name")), pending.get("args"))
        elif status == "ended":
            self.ended = True


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
    out_stream = stream or sys.stdout
    if color is None:
        color = (
            hasattr(out_stream, "isatty") and out_stream.isatty() and not os.environ.get("NO_COLOR")
        )
    out = _Printer(out_stream, color)
    base = (url or default_url()).rstrip("/")
    key = api_key if api_key is not None else os.environ.get("DURABLE_AGENT_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    timeouts = httpx.Timeout(30.0, read=40.0)
    with httpx.Client(base_url=base, headers=headers, timeout=timeouts) as http:
        try:
            http.get("/healthz").raise_for_status()
        except httpx.HTTPError as exc:
            out.line("error", f"no gateway answers at {base} ({type(exc).__name__})", "1;31")
            out.note("start the stack first, in another terminal: make run")
            return 2
        conv = _Conversation(http, out, list(script))
        try:
            return _converse(conv, base, goal, timeout)
        except DemoError as exc:
            out.line("error", str(exc), "1;31")
            if "401" in str(exc):
                out.note("the gateway wants an API key: set DURABLE_AGENT_API_KEY")
            return 1
        except KeyboardInterrupt:
            out.end_line()
            out.note("(interrupted)")
            return 130


def _converse(conv: _Conversation, base: str, goal: str, timeout: float) -> int:
    out = conv.out
    response = conv.http.post("/v1/conversations", json={"goal": goal})
    if response.status_code != 201:
        raise DemoError(f"could not start a conversation: {_error_text(response)}")
    created = response.json()
    conv.id, conv.events_url = created["id"], created["events_url"]
    out.note(f"conversation {conv.id} (goal {goal}) at {base}")
    out.note(f"events: {base}{conv.events_url}")
    deadline = time.monotonic() + timeout
    reconnects = 0
    while not conv.ended:
        headers = {"Last-Event-ID": conv.last_event_id} if conv.last_event_id else {}
        try:
            with connect_sse(conv.http, "GET", conv.events_url, headers=headers) as source:
                if source.response.status_code != 200:
                    source.response.read()
                    raise DemoError(f"event stream: {_error_text(source.response)}")
                if conv.sent is None:  # subscribed: now say the first thing
                    conv.next_turn()
                for sse in source.iter_sse():
                    if time.monotonic() > deadline:
                        raise DemoError(f"the conversation did not end within {timeout:.0f}s")
                    if not sse.data:
                        continue  # keep-alive
                    if sse.id:
                        conv.last_event_id = sse.id
                    conv.handle(sse.event, json.loads(sse.data))
                    if conv.ended:
                        break
        except (httpx.TransportError, SSEError) as exc:
            reconnects += 1
            if reconnects > _MAX_RECONNECTS or time.monotonic() > deadline:
                raise DemoError(f"lost the event stream: {exc}") from None
            out.end_line()
            out.note(
                f"(stream interrupted: {type(exc).__name__}; resuming after {conv.last_event_id})"
            )
            time.sleep(0.5)
            continue
        if not conv.ended:  # the server closed the stream early: resume
            reconnects += 1
            if reconnects > _MAX_RECONNECTS:
                raise DemoError("the event stream kept closing before the conversation ended")
    out.end_line()
    final = conv.http.get(f"/v1/conversations/{conv.id}")
    if final.status_code == 200:
        body = final.json()
        out.note(
            f"conversation {conv.id} {body.get('status')}: "
            f"{len(body.get('transcript') or [])} transcript entries, {conv.tools_run} tools run"
        )
    out.note(f"see it in the API: GET {base}/v1/conversations/{conv.id}")
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="durable-agent demo",
        description="Drive a travel conversation through a running stack's gateway.",
    )
    parser.add_argument("--url", default=None, help=f"gateway URL (default: {DEFAULT_URL})")
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
