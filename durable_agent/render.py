"""Terminal output for the CLI, with rich: transcripts, tool cards, events."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from durable_agent.event_stream import StreamEvent

__all__ = [
    "ChatView",
    "conversations_table",
    "event_line",
    "goals_table",
    "print_transcript",
    "tool_panel",
]

STATUS_TEXT = {
    "thinking": "thinking",
    "awaiting_input": "your turn",
    "awaiting_confirmation": "waiting for your confirmation",
    "running_tool": "running a tool",
    "ended": "ended",
}


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def tool_panel(
    name: str, args: dict[str, Any], title: str = "The agent proposes a tool call"
) -> Panel:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for key, value in (args or {}).items():
        table.add_row(key.replace("_", " "), Text(_value(value)))
    if not args:
        table.add_row("(no arguments)", "")
    return Panel(table, title=f"{title}: [bold]{name}[/]", title_align="left", border_style="cyan")


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError:
            return content
    return json.dumps(content, indent=2, ensure_ascii=False)


def goals_table(goals: list[dict[str, Any]]) -> Table:
    table = Table(title="Goals")
    table.add_column("id", style="bold")
    table.add_column("title")
    table.add_column("tools")
    for goal in goals:
        tools = ", ".join(t.get("name", "?") for t in goal.get("tools", []))
        table.add_row(goal["id"], goal.get("title", ""), tools)
    return table


def conversations_table(conversations: list[dict[str, Any]]) -> Table:
    table = Table(title="Conversations")
    table.add_column("id", style="bold", no_wrap=True)
    table.add_column("goal")
    table.add_column("state")
    table.add_column("started")
    for c in conversations:
        table.add_row(
            c["id"],
            c.get("goal") or "?",
            "open" if c.get("running") else "ended",
            str(c.get("started_at") or ""),
        )
    return table


def print_transcript(console: Console, transcript: list[dict[str, Any]]) -> None:
    for m in transcript:
        role = m.get("role")
        if role == "user":
            console.print(Text.assemble(("You: ", "bold green"), m.get("text", "")))
        elif role == "agent" and m.get("text"):
            console.print(Text.assemble(("Agent: ", "bold blue"), m.get("text", "")))
        call = m.get("tool_call")
        if call:
            console.print(tool_panel(call["name"], call.get("args") or {}, "Tool call"))
        result = m.get("tool_result")
        if result:
            if result.get("ok"):
                console.print(
                    Panel(
                        Text(_result_text(result.get("output"))),
                        title=f"Result of {result['name']}",
                        title_align="left",
                        border_style="green",
                    )
                )
            else:
                console.print(
                    f"[red]Tool {result['name']} failed:[/] {result.get('error')}", highlight=False
                )


def event_line(event: StreamEvent) -> Text:
    """One line for ``tail``: id, kind and the data."""
    data = {k: v for k, v in event.data.items() if k not in ("type", "metadata")}
    if event.type == "CUSTOM":
        data = data.get("value", {})
    return Text.assemble(
        (event.id, "dim"), " ", (event.name, "bold"), " ", json.dumps(data, ensure_ascii=False)
    )


class ChatView:
    """Renders a live conversation: streamed text, tool cards, progress, a spinner."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._spinner = None  # rich Status while the agent thinks
        self._streaming: str | None = None  # messageId whose text is being printed
        self._texts: dict[str, str] = {}  # messageId -> text printed so far

    # --- spinner ------------------------------------------------------
    def thinking(self, on: bool) -> None:
        if on and self._spinner is None and self._streaming is None:
            self._spinner = self.console.status("The agent is thinking…", spinner="dots")
            self._spinner.start()
        elif not on and self._spinner is not None:
            self._spinner.stop()
            self._spinner = None

    def _end_line(self) -> None:
        if self._streaming is not None:
            self.console.print()
            self._streaming = None

    # --- events -------------------------------------------------------
    def user(self, message_id: str, text: str) -> None:
        if message_id in self._texts:
            return
        self._texts[message_id] = text
        self.thinking(False)
        self._end_line()
        self.console.print(Text.assemble(("You: ", "bold green"), text))

    def text_start(self, message_id: str) -> None:
        self.thinking(False)
        if self._streaming != message_id:
            self._end_line()
            self.console.print(Text("Agent: ", style="bold blue"), end="")
            self._streaming = message_id
            self._texts.setdefault(message_id, "")

    def text_delta(self, message_id: str, delta: str) -> None:
        if self._streaming != message_id:
            self.text_start(message_id)
        self._texts[message_id] = self._texts.get(message_id, "") + delta
        # soft wrap: the terminal wraps the line, so a word split across deltas stays whole
        self.console.print(Text(delta), end="", soft_wrap=True)

    def text_end(self, message_id: str) -> None:
        if self._streaming == message_id:
            self._end_line()

    def agent_message(self, message_id: str, text: str) -> None:
        """The final text: print it only if the deltas did not already."""
        if self._texts.get(message_id) == text:
            self.text_end(message_id)
            return
        self.thinking(False)
        self._end_line()
        self._texts[message_id] = text
        self.console.print(Text.assemble(("Agent: ", "bold blue"), text))

    def voided(self, message_id: str) -> None:
        if message_id in self._texts:
            self._texts.pop(message_id)
            self._end_line()
            self.console.print("[dim](the partial reply above was discarded)[/]")

    def stopped(self, reason: str) -> None:
        self.thinking(False)
        self._end_line()
        self.console.print(f"[yellow]({reason})[/]", highlight=False)

    def proposal(self, name: str, args: dict[str, Any]) -> None:
        self.thinking(False)
        self._end_line()
        self.console.print(tool_panel(name, args))

    def decided(self, approved: bool, reason: str | None, how: str = "") -> None:
        """``how``: "edited" (run with the user's arguments) or "automatic" (policy)."""
        self._end_line()
        if how == "automatic":
            self.console.print("[green]Runs without asking (its approval policy).[/]")
        elif how == "edited":
            self.console.print("[green]Confirmed with your edited arguments.[/]")
        elif approved:
            self.console.print("[green]Confirmed.[/]")
        else:
            self.console.print(
                f"[yellow]Rejected[/]{': ' + reason if reason else '.'}", highlight=False
            )

    def tool_started(self, name: str) -> None:
        self.thinking(False)
        self._end_line()
        self.console.print(f"[cyan]Running {name}…[/]", highlight=False)

    def progress(self, message: str) -> None:
        self._end_line()
        self.console.print(Text.assemble(("  · ", "cyan"), message))

    def result(self, name: str, content: Any) -> None:
        self._end_line()
        self.console.print(
            Panel(
                Text(_result_text(content)),
                title=f"Result{' of ' + name if name else ''}",
                title_align="left",
                border_style="green",
            )
        )

    def failed(self, name: str, error: str) -> None:
        self._end_line()
        self.console.print(f"[red]Tool {name} failed:[/] {error}", highlight=False)

    def error(self, message: str) -> None:
        self.thinking(False)
        self._end_line()
        self.console.print(f"[red]Error:[/] {message}", highlight=False)

    def note(self, message: str) -> None:
        self.thinking(False)
        self._end_line()
        self.console.print(f"[dim]{message}[/]", highlight=False)

    def snapshot(self, snap: dict[str, Any]) -> None:
        self.thinking(False)
        self._end_line()
        self._texts.clear()
        self.console.print("[dim](history restored from a snapshot)[/]")
        print_transcript(self.console, snap.get("transcript") or [])
