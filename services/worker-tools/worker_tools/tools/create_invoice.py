"""create_invoice: bill the traveller for a flight (travel goal, side effect).

Charging twice is the failure that matters here: the invoice id comes from the
run's idempotency key and the invoice is stored through the ledger, so a
retried run returns the first run's invoice and creates none.
"""

from __future__ import annotations

from typing import Any

from agent_core.errors import ToolFailed
from agent_core.registry import ToolContext
from worker_tools.tools._effects import effect_id, record_once
from worker_tools.tools._flights import currency, sells

CARD_LIMIT = 10_000.0


async def create_invoice(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """The invoice for ``flight_id`` at ``amount``, with ``created`` false on a rerun."""
    flight_id = args["flight_id"].strip().upper()
    if not sells(flight_id):
        raise ToolFailed(f"{flight_id} is not a flight we sell")
    amount = round(float(args["amount"]), 2)
    if amount > CARD_LIMIT:
        raise ToolFailed(f"amount exceeds the card limit of {CARD_LIMIT:.2f} {currency()}")
    await ctx.report_progress(f"Creating an invoice for {flight_id} ({amount:.2f} {currency()})")
    invoice = await record_once(
        ctx,
        {
            "invoice_id": effect_id("INV", ctx),
            "email": args["email"],
            "flight_id": flight_id,
            "amount": amount,
            "currency": currency(),
            "description": args.get("description") or f"Return flight {flight_id}",
            "status": "sent",
        },
    )
    verb = "sent" if invoice["created"] else "was already sent"
    await ctx.report_progress(f"Invoice {invoice['invoice_id']} {verb} to {invoice['email']}")
    return invoice
