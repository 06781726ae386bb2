"""``durable-agent``: talk to the agent from a terminal.

    durable-agent chat [--goal travel] [--tool-policy TOOL=auto] [--conversation ID] [--url URL]
    durable-agent goals | list | show ID | tail ID [--after EVENT_ID]
    durable-agent up [stack options]   (a local stack, see durable_agent.stack)

The gateway's address comes from ``--url`` or ``DURABLE_AGENT_URL``, else the
running local stack's (``make run``); the API key from
``DURABLE_AGENT_API_KEY`` (none is needed in dev mode). The key is never printed.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from durable_agent.api_client import DEFAULT_URL, ApiClient, ApiError, default_url
from durable_agent.chat import ChatSession
from durable_agent.render import (
    conversations_table,
    event_line,
    goals_table,
    print_transcript,
    tool_panel,
)

__all__ = ["app", "main"]

KEY_ENV = "DURABLE_AGENT_API_KEY"

app = typer.Typer(
    name="durable-agent",
    help="Chat with the durable agent from a terminal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="DURABLE_AGENT_URL",
        help=f"The gateway's base URL (default: the running local stack's, else {DEFAULT_URL}).",
    ),
]


def _client(url: str | None) -> ApiClient:
    return ApiClient(url or default_url(), os.environ.get(KEY_ENV) or None)


def _fail(exc: ApiError) -> NoReturn:
    errors.print(f"[red]Error:[/] {exc}")
    raise typer.Exit(1)


def _policies(items: list[str]) -> dict[str, str]:
    """``--tool-policy TOOL=POLICY`` options as ``tool_policies`` (the gateway checks them)."""
    pairs = [item.partition("=") for item in items]
    if any(not tool or not sep or not value for tool, sep, value in pairs):
        _fail(ApiError("--tool-policy takes TOOL=POLICY, e.g. find_events=auto"))
    return {tool: value for tool, _, value in pairs}


@app.command()
def chat(
    goal: Annotated[
        str, typer.Option("--goal", "-g", help="Goal of a new conversation.")
    ] = "travel",
    conversation: Annotated[
        str | None, typer.Option("--conversation", "-c", help="Resume this conversation instead.")
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="First message of a new conversation.")
    ] = None,
    busy_policy: Annotated[
        str | None,
        typer.Option(
            "--busy-policy",
            help="What a message sent while the agent answers does in a new conversation: "
            "enqueue (default), reject or interrupt.",
        ),
    ] = None,
    tool_policy: Annotated[
        list[str] | None,
        typer.Option(
            "--tool-policy",
            help="TOOL=ask|auto|never for a new conversation (repeatable), e.g. find_events=auto.",
        ),
    ] = None,
    url: Url = None,
) -> None:
    """Start (or resume) a conversation and chat with the agent."""
    with _client(url) as api, _client(url) as stream_api:
        try:
            if conversation:
                info = api.conversation(conversation)
                console.print(f"Resuming conversation [bold]{info['id']}[/] (goal {info['goal']}).")
                conversation_id, status = info["id"], info["status"]
            else:
                goals = {g["id"]: g for g in api.goals()}
                if goal not in goals:
                    _fail(ApiError(f"unknown goal {goal!r}; goals: {', '.join(sorted(goals))}"))
                created = api.create(goal, message, busy_policy, _policies(tool_policy or []))
                conversation_id, status = created["id"], created["status"]
                console.print(
                    f"Started conversation [bold]{conversation_id}[/] ({goals[goal].get('title', goal)})."
                )
                if not message and goals[goal].get("starter_prompt"):
                    console.print(
                        Text.assemble(("Agent: ", "bold blue"), goals[goal]["starter_prompt"])
                    )
        except ApiError as exc:
            _fail(exc)
        code = ChatSession(api, stream_api, conversation_id, console, status).run()
    raise typer.Exit(code)


@app.command()
def goals(url: Url = None) -> None:
    """List the goals the agent can pursue."""
    with _client(url) as api:
        try:
            console.print(goals_table(api.goals()))
        except ApiError as exc:
            _fail(exc)


@app.command("list")
def list_(url: Url = None) -> None:
    """List your conversations."""
    with _client(url) as api:
        try:
            items = api.conversations()
        except ApiError as exc:
            _fail(exc)
        if items:
            console.print(conversations_table(items))
        else:
            console.print("No conversations yet: start one with [bold]make chat[/].")


@app.command()
def show(conversation_id: str, url: Url = None) -> None:
    """Print a conversation: its transcript, status and any pending tool call."""
    with _client(url) as api:
        try:
            info = api.conversation(conversation_id)
        except ApiError as exc:
            _fail(exc)
    console.print(f"[bold]{info['id']}[/] · goal {info['goal']} · {info['status']}")
    print_transcript(console, info.get("transcript") or [])
    call = info.get("pending_tool_call")
    if call:
        console.print(tool_panel(call["name"], call.get("args") or {}, "Waiting for confirmation"))
    for queued in info.get("queued_messages") or []:
        console.print(f"[dim]queued:[/] {queued}")


@app.command()
def tail(
    conversation_id: str,
    after: Annotated[
        str | None, typer.Option("--after", help="Resume after this event id.")
    ] = None,
    url: Url = None,
) -> None:
    """Print a conversation's events as they come, until it ends."""
    last = after
    with _client(url) as api:
        try:
            for event in api.events(
                conversation_id, after, on_reconnect=lambda: errors.print("[dim]reconnecting…[/]")
            ):
                last = event.id or last
                console.print(event_line(event), soft_wrap=True)
        except ApiError as exc:
            _fail(exc)
        except KeyboardInterrupt:
            if last:
                errors.print(
                    f"[dim]resume with: durable-agent tail {conversation_id} --after {last}[/]"
                )
            raise typer.Exit(130) from None


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def up(ctx: typer.Context) -> None:
    """Run the whole stack locally (options as for durable_agent.stack; --help there)."""
    try:
        from durable_agent.stack import main as stack_main
    except ImportError:
        errors.print("[red]Error:[/] the local stack runner is not available in this build")
        raise typer.Exit(1) from None
    stack_main(list(ctx.args))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        errors.print("\ninterrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: one line, the traceback only on request
        if os.environ.get("DURABLE_AGENT_DEBUG"):
            raise
        errors.print(f"[red]Unexpected error:[/] {type(exc).__name__}: {exc}", markup=True)
        errors.print("[dim]set DURABLE_AGENT_DEBUG=1 to see the traceback[/]")
        sys.exit(2)


if __name__ == "__main__":
    main()
