"""The interactive terminal chat behind ``durable-agent chat``.

A reader thread follows the conversation's event stream (resuming after
drops) and hands events to the main thread through a queue; the main thread
renders them and, once the stream has been quiet for a moment in a state
that waits for the user, asks for a message or a confirmation.
"""

from __future__ import annotations

import json
import queue
import threading
from typing import Any

from rich.console import Console
from rich.prompt import Prompt

from durable_agent.api_client import ApiClient, ApiError
from durable_agent.event_stream import StreamEvent
from durable_agent.render import ChatView, goals_table, print_transcript

__all__ = ["ChatSession"]

QUIET_SECONDS = 0.3
_QUIT, _ACTED, _SHOWN = object(), object(), object()  # what a slash command did

HELP = (
    "Commands: /goal ID moves the conversation to another goal (/goal lists them), "
    "/end ends the conversation, /history prints it, /quit leaves it open. "
    "At a proposal: y runs it, a always allows that tool here, e edits its arguments, n rejects it. "
    "Ctrl-C while the agent answers stops the answer."
)


class ChatSession:
    #: printed when the chat starts
    intro = HELP

    def __init__(
        self,
        api: ApiClient,
        stream_api: ApiClient,
        conversation_id: str,
        console: Console,
        status: str = "",
    ) -> None:
        self.api = api
        self.stream_api = stream_api
        self.id = conversation_id
        self.console = console
        self.view = ChatView(console)
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.status = status  # until the stream says otherwise
        self.status_mark = 0  # bumps on every status change: prompt once per change
        self.prompted_mark = -1
        self.pending: dict[str, Any] | None = None
        self.asked: set[str] = set()
        self.tool_names: dict[str, str] = {}
        self.typed: list[str] = []  # messages typed here: already on screen at the prompt

    # --- the stream ---------------------------------------------------
    def _read(self) -> None:
        try:
            for event in self.stream_api.events(
                self.id,
                on_reconnect=lambda: self.events.put(("note", "connection lost; reconnecting…")),
            ):
                self.events.put(("event", event))
            self.events.put(("closed", None))
        except ApiError as exc:
            self.events.put(("error", exc))
        except Exception as exc:  # never die silently in the thread
            self.events.put(("error", ApiError(f"the event stream failed: {exc}")))

    def run(self) -> int:
        """Chat until the conversation ends (0), the user quits (0) or an error (1)."""
        threading.Thread(target=self._read, name="events", daemon=True).start()
        if self.intro:
            self.console.print(f"[dim]{self.intro}[/]")
        while True:
            try:
                kind, item = self.events.get(timeout=QUIET_SECONDS)
            except queue.Empty:
                outcome = self._act()
                if outcome is not None:
                    return outcome
                continue
            except KeyboardInterrupt:
                if self.status != "thinking":
                    return self._quit()
                self._stop()
                continue
            if kind == "event":
                self._handle(item)
            elif kind == "note":
                self.view.note(item)
            elif kind == "error":
                self.view.error(str(item))
                return 1
            elif kind == "closed":
                self.view.thinking(False)
                self.console.print("[bold]The conversation has ended.[/]")
                return 0

    # --- rendering ----------------------------------------------------
    def _set_status(self, status: str) -> None:
        self.status = status
        self.status_mark += 1
        self.view.thinking(status == "thinking")

    def _handle(self, event: StreamEvent) -> None:
        d, v, name = event.data, event.value, event.name
        if name == "STATE_SNAPSHOT":
            snap = d.get("snapshot") or {}
            self.view.snapshot(snap)
            call = snap.get("pending_call")
            self.pending = call if snap.get("status") == "awaiting_confirmation" else None
            if self.pending:
                self.view.proposal(self.pending["name"], self.pending.get("args") or {})
            self._set_status(str(snap.get("status", "")))
        elif name == "TEXT_MESSAGE_START":
            self.view.text_start(d["messageId"])
        elif name == "TEXT_MESSAGE_CONTENT":
            self.view.text_delta(d["messageId"], d.get("delta", ""))
        elif name == "TEXT_MESSAGE_END":
            self.view.text_end(d["messageId"])
        elif name == "TOOL_CALL_START":
            self.tool_names[d["toolCallId"]] = d.get("toolCallName", "")
        elif name == "TOOL_CALL_RESULT":
            self.view.result(self.tool_names.get(d["toolCallId"], ""), d.get("content"))
        elif name == "RUN_ERROR":
            self.view.error(f"the agent hit an error: {d.get('message')}")
        elif name == "user_message":
            if self.typed and self.typed[0] == v.get("text"):
                self.typed.pop(0)
                self.view.thinking(self.status == "thinking")
            else:
                self.view.user(v["messageId"], v.get("text", ""))
        elif name == "agent_message":
            self.view.agent_message(v["messageId"], v.get("text", ""))
        elif name == "text_message_voided":
            self.view.voided(v["messageId"])
        elif name == "turn_stopped":
            self.view.stopped(v.get("reason", ""))
        elif name == "tool_call_withdrawn":
            self.pending = None
            self.view.note(f"The proposal was withdrawn: {v.get('reason', '')}.")
        elif name == "conversation_timed_out":
            self.view.note(f"No input for {v.get('idleSeconds', 0):g} s: the conversation closes.")
        elif name == "status_changed":
            self._set_status(str(v.get("status", "")))
        elif name == "tool_call_awaiting_confirmation":
            self.pending = {
                "id": v["toolCallId"],
                "name": v.get("name", ""),
                "args": v.get("args") or {},
            }
            self.tool_names[v["toolCallId"]] = v.get("name", "")
            self.view.proposal(self.pending["name"], self.pending["args"])
        elif name == "tool_call_decided":
            if self.pending and self.pending["id"] == v.get("toolCallId"):
                self.pending = None
            how = "automatic" if v.get("automatic") else "edited" if "editedArgs" in v else ""
            self.view.decided(bool(v.get("approved")), v.get("reason"), how)
        elif name == "tool_policy_changed":
            self.view.note(f"{v.get('name')} now runs without asking in this conversation.")
        elif name == "goal_changed":
            self.view.note(f"The conversation moved to goal {v.get('goal')}.")
        elif name == "tool_started":
            self.tool_names[v["toolCallId"]] = v.get("name", "")
            self.view.tool_started(v.get("name", ""))
        elif name == "tool_progress":
            self.view.progress(v.get("message", ""))
        elif name == "tool_failed":
            self.view.failed(v.get("name", ""), v.get("error", ""))

    # --- asking the user ----------------------------------------------
    def _act(self) -> int | None:
        if (
            self.status == "awaiting_confirmation"
            and self.pending
            and self.pending["id"] not in self.asked
        ):
            self.asked.add(self.pending["id"])
            return self._confirm(self.pending)
        if self.status == "awaiting_input" and self.prompted_mark != self.status_mark:
            self.prompted_mark = self.status_mark
            return self._message()
        return None

    def _ask(self, prompt: str, **kwargs: Any) -> str | None:
        self.view.thinking(False)
        try:
            return Prompt.ask(prompt, console=self.console, **kwargs)
        except (EOFError, KeyboardInterrupt):
            return None

    def _confirm(self, call: dict[str, Any]) -> int | None:
        """Ask about a proposal; a /command works here too (a /history, then ask again)."""
        while True:
            answer = self._ask(
                f"Run [bold]{call['name']}[/]? (y yes, a always, e edit, n no) \\[y/a/e/n]",
                default="y",
                show_default=False,
            )
            if answer is None:
                return self._quit()
            answer = answer.strip().lower() or "y"
            if answer.startswith("/"):
                done = self._command(answer)
                if done is _QUIT:
                    return self._quit()
                if done is _ACTED:
                    return None
                continue
            if answer not in ("y", "a", "e", "n"):
                self.view.error("answer y, a, e or n (or a /command, /help lists them)")
                continue
            try:
                self._decide(call, answer)
            except ApiError as exc:  # e.g. an edit that does not fit: ask again
                self.view.error(str(exc))
                self.asked.discard(call["id"])
            return None

    def _decide(self, call: dict[str, Any], answer: str) -> None:
        if answer in ("y", "a"):
            self.api.confirm(self.id, call["id"], always=answer == "a")
        elif answer == "e":
            self.api.edit(self.id, call["id"], self._edited_args(call))
        else:
            reason = self._ask("Reason (optional)", default="", show_default=False)
            self.api.reject(self.id, call["id"], reason or None)

    def _edited_args(self, call: dict[str, Any]) -> dict[str, Any]:
        text = self._ask("Arguments (JSON)", default=json.dumps(call.get("args") or {}))
        try:
            args = json.loads(text or "")
        except ValueError:
            raise ApiError("the arguments are not valid JSON") from None
        if not isinstance(args, dict):
            raise ApiError("the arguments must be a JSON object")
        return args

    def _message(self) -> int | None:
        while True:
            text = self._ask("[bold green]You[/]")
            if text is None:
                return self._quit()
            text = text.strip()
            if not text:
                continue
            done = self._command(text) if text.startswith("/") else None
            if done is _QUIT:
                return self._quit()
            if done is _SHOWN:
                continue
            if done is None:
                try:
                    self.typed.append(text)
                    self.api.send(self.id, text)
                except ApiError as exc:
                    self.view.error(str(exc))
                    continue
            return None

    def _command(self, text: str) -> object | None:
        """Run a slash command: ``_QUIT``, ``_ACTED`` (the conversation changed),
        ``_SHOWN`` (only printed something), or None when ``text`` is none."""
        try:
            if text == "/quit":
                return _QUIT
            if text == "/end":
                self.api.end(self.id)
                self.console.print("[dim]Ending the conversation…[/]")
                return _ACTED
            if text.startswith("/goal "):
                self.api.switch_goal(self.id, text.removeprefix("/goal ").strip())
                return _ACTED
            if text == "/history":
                transcript = self.api.conversation(self.id).get("transcript") or []
                print_transcript(self.console, transcript)
            elif text == "/goal":
                self.console.print(goals_table(self.api.goals()))
            elif text in ("/help", "/?"):
                self.console.print(f"[dim]{HELP}[/]")
            else:
                return None
        except ApiError as exc:
            self.view.error(str(exc))
        return _SHOWN

    def _stop(self) -> None:
        """Ctrl-C while the agent answers: stop that answer, keep the conversation."""
        self.view.note("Stopping the answer…")
        try:
            self.api.stop(self.id)
        except ApiError as exc:  # it finished meanwhile: nothing to stop
            self.view.error(str(exc))

    def _quit(self) -> int:
        self.view.thinking(False)
        self.console.print(
            f"\nLeft conversation {self.id} open. Resume it with: "
            f'[bold]make chat ARGS="--conversation {self.id}"[/]',
            highlight=False,
        )
        return 0
