"""The fault campaign: many live conversations through each fault, everything counted.

    python -m bench.faults [--conversations 50] [--short] [--only gateway,redis]

starts the stack on free ports (``stack``: the supervisor's workers and
gateway, the campaign's own Temporal dev server, Redis behind a cuttable TCP
proxy, and fake LLM), then for each fault of ``catalog`` in turn drives N
concurrent travel conversations through the public HTTP API (``client``:
Idempotency-Key on every request, SSE resumed with Last-Event-ID), injects
the fault a few times while they are live, and counts (``audit``, ``batch``)
what a durable agent keeps at 0. Then it searches everything produced for
canary secrets (``canaries``, ``exposure``), writes
``bench/results/faults.json``, prints the table (``report``) and exits 1 if
any must-be-0 count is not 0.
"""
