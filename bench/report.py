"""The comparison table: figures, the floor beside them, ratios and targets.

One list of rows feeds both outputs (the console and ``compare.md``), so
they cannot disagree. The tutorial app's figures were measured elsewhere
(the issue quotes them) and are printed as reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Row", "markdown", "rows", "text_table"]

TUTORIAL = {"turn_p50": 59, "turn_p99": 79, "delay_p50": 671, "tp_20": 30.5, "tp_100": 25.6}
CPU_PARTS = ("api", "worker-llm", "worker-tools", "temporal", "redis", "fake-llm")


@dataclass(frozen=True)
class Row:
    figure: str
    project: str
    floor: str = ""
    ratio: str = ""
    target: str = ""
    met: str = ""
    tutorial: str = ""

    def cells(self) -> list[str]:
        return [
            self.figure,
            self.project,
            self.floor,
            self.ratio,
            self.target,
            self.met,
            self.tutorial,
        ]


HEADER = ["figure", "project", "floor", "ratio", "target", "met", "tutorial (reported)"]


def _n(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def _ratio(project: float | None, floor: float | None) -> float | None:
    return None if not project or not floor else round(project / floor, 2)


def _met(ok: bool | None) -> str:
    return "" if ok is None else ("yes" if ok else "NO")


def _within(project: float | None, floor: float | None, at_most: float) -> tuple[str, str]:
    ratio = _ratio(project, floor)
    return ("-" if ratio is None else f"{ratio:.2f}x"), _met(
        None if ratio is None else ratio <= at_most
    )


def _latency_rows(r: dict[str, Any]) -> list[Row]:
    lat = r["latency"]
    turn, floor, first = lat["turn_ms"], lat["floor_ms"], lat["first_token_ms"]
    n = f" ({lat['turns']} turns)"
    rows = []
    for q, at_most in (("p50", 1.3), ("p99", 3.0)):
        ratio, met = _within(turn[q], floor[q], at_most)
        target = f"<= {at_most:g}x floor"
        tutorial = _n(TUTORIAL[f"turn_{q}"])
        rows.append(
            Row(f"one turn {q}, ms{n}", _n(turn[q]), _n(floor[q]), ratio, target, met, tutorial)
        )
    marks = lat.get("p50_marks_ms")
    if marks:
        rows.append(
            Row(
                "  p50 ms from the POST to: 202 / first token / text end / agent_message / run end",
                " / ".join(_n(v) for v in marks.values()),
            )
        )
    pub = lat.get("publishing")
    if pub:
        rows.append(
            Row(
                "  event publishing per turn: batches (local activities) / events / ms",
                f"{_n(pub['batches'])} / {_n(pub['events'])} / {_n(pub['ms'])}",
            )
        )
    if first["p50"] is not None and floor["p50"] is not None:
        extra = first["p50"] - floor["p50"]
        rows.append(
            Row(
                "first token p50, ms",
                _n(first["p50"]),
                _n(floor["p50"]),
                f"{extra:+.1f} ms",
                "<= floor + 15 ms",
                _met(extra <= 15),
            )
        )
    slow = r.get("model_delay")
    if slow:
        ratio, _ = _within(slow["turn_ms"]["p50"], slow["floor_ms"]["p50"], 1.0)
        tutorial = _n(TUTORIAL["delay_p50"]) if slow["model_delay_ms"] == 300 else ""
        rows.append(
            Row(
                f"turn p50 with a {slow['model_delay_ms']} ms model, ms ({slow['turns']} turns)",
                _n(slow["turn_ms"]["p50"]),
                _n(slow["floor_ms"]["p50"]),
                ratio,
                "",
                "",
                tutorial,
            )
        )
    return rows


def _throughput_rows(r: dict[str, Any]) -> list[Row]:
    rows = []
    for tp in r["throughput"]:
        key = f"tp_{tp['conversations']}" if tp["turns_each"] == 10 else ""
        ratio = _ratio(tp["turns_per_s"], tp["floor_per_s"])
        rows.append(
            Row(
                f"throughput {tp['conversations']} x {tp['turns_each']}, turns/s",
                _n(tp["turns_per_s"]),
                _n(tp["floor_per_s"]),
                "-" if ratio is None else f"{ratio:.2f}x",
                "",
                "",
                _n(TUTORIAL[key]) if key in TUTORIAL else "",
            )
        )
        rows.append(
            Row(
                "  turn p50 / p99 under that load, ms",
                f"{_n(tp['turn_ms']['p50'])} / {_n(tp['turn_ms']['p99'])}",
                f"{_n(tp['floor_ms']['p50'])} / {_n(tp['floor_ms']['p99'])}",
            )
        )
    return rows


def _fault_rows(r: dict[str, Any]) -> list[Row]:
    checked = [tp["faults"] for tp in r["throughput"]] + (
        [r["faults"]["faults"]] if r.get("faults") else []
    )
    messages = sum(f["messages"] for f in checked)
    lost, doubled = (
        sum(f["lost"] for f in checked),
        sum(f["doubled"] + f["redelivered_events"] for f in checked),
    )
    where = (
        f"{r['faults']['conversations']} x {r['faults']['turns_each']} and throughput runs"
        if r.get("faults")
        else "throughput runs"
    )
    return [
        Row(
            f"lost / doubled answers ({messages:,} messages, {where})",
            f"{lost} / {doubled}",
            target="0 / 0",
            met=_met(lost == 0 and doubled == 0),
        )
    ]


def _stream_rows(r: dict[str, Any]) -> list[Row]:
    s = r.get("streams")
    if not s:
        return []
    d = s["delivery_ms"]
    return [
        Row(
            f"SSE delivery p50 / p99, ms ({s['streams']:,} streams; burst: every conversation "
            f"answering at once, {s['frames']:,} frames)",
            f"{_n(d['p50'])} / {_n(d['p99'])}",
            target="p99 <= 100 ms",
            met=_met(d["p99"] is not None and d["p99"] <= 100 and s["complete"]),
        ),
        Row(
            f"  steady, one conversation answering at a time: p50 / p99, ms "
            f"({s['steady_frames']:,} frames)",
            f"{_n(s['steady_delivery_ms']['p50'])} / {_n(s['steady_delivery_ms']['p99'])}",
            target="p99 <= 100 ms",
            met=_met(
                s["steady_delivery_ms"]["p99"] is not None
                and s["steady_delivery_ms"]["p99"] <= 100
                and s["complete"]
            ),
        ),
        Row(
            "  CPU ms per 1,000 frames (burst): gateway / Redis / bench client",
            " / ".join(_n(s["cpu_ms_per_1000_frames"].get(k)) for k in ("api", "redis", "bench")),
        ),
        Row(
            "  Redis pool errors in the gateway log",
            _n(s["redis_errors"]),
            target="0",
            met=_met(s["redis_errors"] == 0),
        ),
    ]


def _cpu_rows(r: dict[str, Any]) -> list[Row]:
    tp = max(r["throughput"], key=lambda t: t["conversations"])
    cpu, floor = tp["cpu_ms_per_turn"], tp["floor_cpu_ms_per_turn"]
    label = f"({tp['conversations']} x {tp['turns_each']})"
    rows = [
        Row(
            f"CPU ms per turn {label}: {part}",
            _n(cpu.get(part)),
            _n(floor.get(part)) if part == "temporal" else "",
        )
        for part in CPU_PARTS
    ]
    ours = sum(v for k, v in cpu.items() if k != "fake-llm")
    theirs = sum(floor.values())
    ratio = _ratio(ours, theirs)
    rows.append(
        Row(
            "  CPU ms per turn, all but the model",
            _n(round(ours, 2)),
            f"{_n(round(theirs, 2))} (incl. floor worker {_n(floor.get('floor-worker'))})",
            "-" if ratio is None else f"{ratio:.2f}x",
        )
    )
    return rows


def _history_rows(r: dict[str, Any]) -> list[Row]:
    h = r["history"]
    ratio = _ratio(h["bytes_per_turn"], h["floor_bytes_per_turn"])
    return [
        Row(
            f"history bytes per turn (turns 2-{h['turns'] + 1})",
            _n(h["bytes_per_turn"]),
            _n(h["floor_bytes_per_turn"]),
            "-" if ratio is None else f"{ratio:.2f}x",
        )
    ]


SECTIONS: tuple[Callable[[dict[str, Any]], list[Row]], ...] = (
    _latency_rows,
    _throughput_rows,
    _fault_rows,
    _stream_rows,
    _cpu_rows,
    _history_rows,
)


def rows(results: dict[str, Any]) -> list[Row]:
    """Rows of every section whose phases ran (``--only`` may skip some)."""
    table: list[Row] = []
    for section in SECTIONS:
        try:
            table += section(results)
        except KeyError:
            continue
    return table


def markdown(table: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in row.cells()) + " |" for row in table]
    return "\n".join(lines) + "\n"


def text_table(table: list[Row]) -> str:
    grid = [HEADER, *(row.cells() for row in table)]
    widths = [max(len(r[i]) for r in grid) for i in range(len(HEADER))]
    out = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in grid
    ]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out) + "\n"
