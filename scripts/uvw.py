#!/usr/bin/env python3
"""Run uv, installing it first if needed: ``python3 scripts/uvw.py sync``.

The Makefile calls this when ``uv`` is not on PATH, so ``make run`` and
``make test`` work on a machine with only Python, pip and make. Order of
preference: ``uv`` on PATH; the ``uv`` Python package already importable
(``python3 -m uv``); else ``pip install --user uv`` (or ``pip install uv``
inside a virtualenv, or ``--break-system-packages`` for a user install on an
"externally managed" Python), then ``python3 -m uv``. Only the standard
library is used; the arguments are passed to uv unchanged.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

PYTHON = sys.executable or "python3"


def _log(message: str) -> None:
    print(f"uvw: {message}", file=sys.stderr, flush=True)


def _module_works() -> bool:
    """``python -m uv`` runs (checked in a fresh process: a new user site counts)."""
    try:
        result = subprocess.run(
            [PYTHON, "-m", "uv", "--version"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _in_virtualenv() -> bool:
    return sys.prefix != getattr(sys, "base_prefix", sys.prefix)


def _pip(*args: str) -> tuple[int, str]:
    command = [PYTHON, "-m", "pip", "install", "--disable-pip-version-check", *args, "uv"]
    _log("installing uv: " + " ".join(command[1:]))
    try:
        result = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        return 1, str(exc)
    output = (result.stdout or "") + (result.stderr or "")
    return result.returncode, output


def _install() -> None:
    attempts: list[tuple[str, ...]] = [()] if _in_virtualenv() else [("--user",), ()]
    last = ""
    for args in attempts:
        code, last = _pip(*args)
        if code == 0 and _module_works():
            return
        if "externally-managed-environment" in last and "--user" in args:
            # a user-site install does not touch the system's packages
            code, last = _pip("--user", "--break-system-packages")
            if code == 0 and _module_works():
                return
    sys.stderr.write(last)
    _log(
        "could not install uv with pip. Install it yourself and retry: "
        "https://docs.astral.sh/uv/getting-started/installation/ "
        "(pipx install uv, or python3 -m pip install --user uv)"
    )
    sys.exit(1)


def uv_command() -> list[str]:
    """How to run uv here, installing it if needed."""
    found = shutil.which("uv")
    if found:
        return [found]
    if not _module_works():
        _install()
    return [PYTHON, "-m", "uv"]


def main() -> None:
    command = uv_command() + sys.argv[1:]
    sys.stdout.flush()
    if os.name == "posix":
        os.execv(command[0], command)  # signals (Ctrl-C) go straight to uv
    sys.exit(subprocess.call(command))


if __name__ == "__main__":
    main()
