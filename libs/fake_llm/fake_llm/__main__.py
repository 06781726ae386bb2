"""``python -m fake_llm`` / ``fake-llm``: serve the fake LLM as its own process.

The offline local stack and demos point litellm at this process; tests and
benchmarks script it over ``/_fake/*`` (see ``fake_llm.remote``).
"""

from __future__ import annotations

import argparse

import uvicorn

from fake_llm.app import create_app
from fake_llm.state import FakeState

__all__ = ["main", "parse_args"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fake-llm", description="A fake OpenAI-compatible chat-completions server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--api-key", default=None, help="require this bearer token (default: accept any)"
    )
    parser.add_argument(
        "--chunk-chars", type=int, default=4, help="characters per streamed chunk (auto replies)"
    )
    parser.add_argument(
        "--chunk-delay", type=float, default=0.0, help="seconds between streamed chunks"
    )
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    style = {"chunk_chars": max(1, args.chunk_chars), "chunk_delay": max(0.0, args.chunk_delay)}
    app = create_app(FakeState(api_key=args.api_key, auto_style=style))
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, lifespan="off")


if __name__ == "__main__":
    main()
