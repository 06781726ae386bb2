"""``python -m bench.faults [--conversations 50] [--short]``: the fault campaign.

Writes ``bench/results/faults.json`` (``--short``: ``faults-short.json``),
prints the table, and exits 1 when any count that must be 0 is not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from bench.faults.campaign import ROOT, run_campaign
from bench.faults.catalog import CATALOG, SHORT
from bench.faults.report import text_table

RESULTS = ROOT / "bench" / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.faults", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--conversations", type=int, default=None, help="per fault (default 50; --short 3)"
    )
    parser.add_argument(
        "--short", action="store_true", help="the CI version: one kill of each process"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated substrings of fault names to run"
    )
    parser.add_argument(
        "--within", type=float, default=240.0, help="seconds a conversation has to end"
    )
    parser.add_argument("--gap", type=float, default=None, help="seconds between injections")
    parser.add_argument("--out", type=Path, default=None, help="where to write the JSON")
    parser.add_argument(
        "--chunk-delay", type=float, default=0.01, help="the fake LLM's streaming pace"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM (a CI timeout) unwinds like Ctrl-C, so the stack's servers are stopped too
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    faults = SHORT if args.short else CATALOG
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        faults = tuple(f for f in faults if any(w in f.name for w in wanted))
    count = args.conversations or (3 if args.short else 50)
    gap = args.gap if args.gap is not None else (1.5 if args.short else 4.0)
    path = args.out or RESULTS / ("faults-short.json" if args.short else "faults.json")
    partial = path.with_suffix(".partial.json")
    outcome = asyncio.run(run_campaign(faults, count, args.within, gap, args.chunk_delay, partial))
    outcome["command"] = " ".join(
        ["python -m bench.faults", *(argv if argv is not None else sys.argv[1:])]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outcome, indent=1) + "\n")
    print()
    print(text_table(outcome))
    print(f"wrote {path}")
    return 1 if outcome["failed"] else 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # sdk-python #300: the SDK can crash at interpreter exit
