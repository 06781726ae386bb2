"""The stack's output: one line per write, prefixed with its source, coloured on a terminal."""

from __future__ import annotations

import os
from typing import TextIO

_COLORS = {
    "temporal": "35",
    "redis": "31",
    "fake-llm": "33",
    "worker-llm": "36",
    "worker-tools": "34",
    "api": "32",
    "stack": "1",
}
_LEVELS = {"info": "", "ok": "32", "note": "33", "warn": "1;33", "error": "1;31"}


class Console:
    """One line per write, prefixed with its source; coloured on a terminal."""

    def __init__(self, stream: TextIO, color: bool, width: int = 12) -> None:
        self.stream = stream
        self.color = color
        self.width = width
        self.broken = False

    def _paint(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and code else text

    def line(self, source: str, text: str, level: str = "info") -> None:
        if self.broken:
            return
        prefix = self._paint(_COLORS.get(source, "0"), f"{source:<{self.width}} |")
        try:
            self.stream.write(f"{prefix} {self._paint(_LEVELS.get(level, ''), text)}\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            self.broken = True

    def say(self, text: str, level: str = "info") -> None:
        self.line("stack", text, level)


def _use_color(stream: TextIO, wanted: bool | None) -> bool:
    if wanted is not None:
        return wanted
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()
