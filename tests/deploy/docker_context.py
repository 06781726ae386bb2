"""The build context `docker build .` sends for ./Dockerfile, computed the way
Docker computes it from .dockerignore, so that the image builds can be
checked offline (test_image_build.py).

Docker's rules (moby/patternmatcher, which BuildKit and the classic builder
share) are not gitignore's, so no gitignore library will do:

- a line starting with ``#`` is a comment; each line is trimmed, ``!``
  re-includes, the pattern is cleaned like a path (``libs/`` is ``libs``,
  ``/libs`` is ``libs``);
- ``*`` and ``?`` never cross a ``/`` (``*.md`` is top-level files only),
  ``**`` crosses any number of them (``**/tests``: ``tests`` at any depth);
- a pattern that matches a directory matches everything under it (the
  pattern is tried on the path and on each of its parents);
- the last pattern that matches a path decides.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Pattern", "context_files", "copy_context", "is_excluded", "read_dockerignore"]

_ESCAPE = set(".+()|{}$")


@dataclass(frozen=True)
class Pattern:
    text: str
    exclusion: bool  # a "!" line: what it matches goes back into the context
    regex: re.Pattern[str]

    def match(self, path: str) -> bool:
        return self.regex.match(path) is not None


def _compile(pattern: str) -> re.Pattern[str]:
    """patternmatcher's translation of a cleaned pattern into a regex."""
    out = "^"
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if ch == "*":
            if i < len(pattern) and pattern[i] == "*":
                i += 1
                if i < len(pattern) and pattern[i] == "/":
                    i += 1  # "**/" is "**"
                out += ".*" if i == len(pattern) else "(.*/)?"
            else:
                out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch in _ESCAPE:
            out += "\\" + ch
        elif ch == "\\":
            if i < len(pattern):
                out += re.escape(pattern[i])
                i += 1
            else:
                out += "\\\\"
        else:
            out += ch
    return re.compile(out + "$")


def read_dockerignore(text: str) -> list[Pattern]:
    patterns = []
    for raw in text.splitlines():
        if raw.startswith("#"):
            continue
        line = raw.strip()
        if not line:
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        if line:
            line = posixpath.normpath(line)
            if len(line) > 1 and line.startswith("/"):
                line = line.lstrip("/")
        patterns.append(Pattern(line, exclusion, _compile(line)))
    return patterns


def is_excluded(patterns: list[Pattern], path: str) -> bool:
    """Whether a context-relative POSIX path is left out of the context
    (patternmatcher's MatchesOrParentMatches)."""
    parents = path.split("/")[:-1]
    candidates = ["/".join(parents[: i + 1]) for i in range(len(parents))]
    excluded = False
    for p in patterns:
        if p.exclusion != excluded:
            continue  # only an exclusion can flip an excluded path, and vice versa
        if p.match(path) or any(p.match(c) for c in candidates):
            excluded = not p.exclusion
    return excluded


def _final(patterns: list[Pattern]) -> list[Pattern]:
    """The exclusions after the last "!" line: what they match (a directory
    and all below it) nothing can bring back, so a walk may skip it."""
    last = max((i for i, p in enumerate(patterns) if p.exclusion), default=-1)
    return [p for p in patterns[last + 1 :] if not p.exclusion]


def context_files(root: Path) -> list[str]:
    """Every file (or symlink) under root that the build context holds, as
    POSIX paths relative to root."""
    patterns = read_dockerignore((root / ".dockerignore").read_text())
    final = _final(patterns)
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = [
            d
            for d in dirnames
            if not any(p.match(prefix + d) for p in final) and not (Path(dirpath, d).is_symlink())
        ]
        for name in filenames:
            rel = prefix + name
            if not is_excluded(patterns, rel):
                files.append(rel)
    return sorted(files)


def copy_context(root: Path, dest: Path) -> list[str]:
    """Copy exactly the build context of root into dest; returns its files."""
    files = context_files(root)
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target, follow_symlinks=False)
    return files
