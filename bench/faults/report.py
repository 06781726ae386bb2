"""The campaign's table: one line per fault, the must-be-zero counts marked."""

from __future__ import annotations

from typing import Any

__all__ = ["COLUMNS", "text_table"]

#: (column title, row key)
COLUMNS = (
    ("fault", "fault"), ("inj", "injections"), ("conv", "conversations"), ("ended", "ended"),
    ("stuck", "stuck"), ("lost", "lost"), ("dup", "duplicated"), ("order", "out_of_order"),
    ("msg0", "accepted_zero"), ("msg2", "accepted_twice"), ("orphan", "orphans"),
    ("fx2", "side_effects_twice"), ("inv", "invoices"), ("sse-wait", "sse_waited_forever"),
    ("recon", "reconnects"), ("rec p50", "recover_p50_s"), ("rec max", "recover_max_s"),
    ("restart", "restart_max_s"),
    ("s", "seconds"),
)  # fmt: skip


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def text_table(outcome: dict[str, Any]) -> str:
    """A fixed-width table; a ``!`` marks every must-be-zero count that is not 0."""
    must = set(outcome["must_be_zero"])
    rows = [[title for title, _ in COLUMNS]]
    for row in outcome["faults"]:
        rows.append(
            [_cell(row[key]) + ("!" if key in must and row[key] else "") for _, key in COLUMNS]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    secrets = outcome["secrets"]
    lines.append("")
    lines.append(
        f"secret leaks: {len(secrets['leaks'])} of {len(secrets['secrets'])} canary values "
        f"(searched {secrets['searched']})"
    )
    for leak in secrets["leaks"][:20]:
        lines.append(f"  {leak['secret']} in {leak['where']}")
    lines.append("")
    lines.append(
        "FAILED: " + str(outcome["failed"]) if outcome["failed"] else "every must-be-0 count is 0"
    )
    return "\n".join(lines)
