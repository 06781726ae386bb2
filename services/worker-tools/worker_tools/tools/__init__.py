"""The agent's tools, one module per tool, and the resolver that finds them.

Each ``ToolSpec.handler`` in the registry is a ``"module:function"`` path. The
tool worker calls ``load_handlers`` once at start-up, so a declared tool whose
code is missing stops the worker before it takes any task, rather than
failing a user's conversation later.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable

from agent_core.registry import ToolHandler, ToolSpec

__all__ = ["load_handlers"]


def load_handlers(specs: Iterable[ToolSpec]) -> dict[str, ToolHandler]:
    """Map each tool name to its handler; ``ImportError`` names a path that does
    not resolve, ``TypeError`` one that is not an async function."""
    return {spec.name: _resolve(spec) for spec in specs}


def _resolve(spec: ToolSpec) -> ToolHandler:
    module_path, _, attr = spec.handler.partition(":")
    where = f"tool {spec.name!r}: handler {spec.handler!r}"
    if not module_path or not attr:
        raise ImportError(f"{where} is not of the form 'package.module:function'")
    try:
        handler: ToolHandler = getattr(importlib.import_module(module_path), attr)
    except ImportError as exc:
        raise ImportError(f"{where}: cannot import {module_path!r} ({exc})") from exc
    except AttributeError:
        raise ImportError(f"{where}: {module_path!r} has no attribute {attr!r}") from None
    if not inspect.iscoroutinefunction(handler):
        raise TypeError(f"{where} is not an async function")
    return handler
