"""The emergency stop's last step: cancel resting orders, sell the position back to zero."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kalshi_rl.core.errors import KalshiRLError
from kalshi_rl.core.units import format_count

if TYPE_CHECKING:
    from kalshi_rl.trading.actor_config import TradingClient

logger = logging.getLogger(__name__)

_ATTEMPTS = 3
"""Taker orders tried: a thin book may fill only part of one (the rest is cancelled, IOC)."""


async def flatten_position(client: TradingClient, market_ticker: str) -> dict[str, Any]:
    """Cancel every resting order of ``client``, then sell ``market_ticker``'s position with
    reduce-only market orders (immediate or cancel) until it is flat or ``_ATTEMPTS`` were made.

    Returns the position before and after (contracts, as Kalshi writes counts) and each order's
    result or error; a position left open (an empty book) is logged, never raised.
    """
    await client.cancel_all_orders()
    ledger = client.ledger(market_ticker)
    before = ledger.position_units
    orders: list[dict[str, Any]] = []
    for _ in range(_ATTEMPTS):
        if ledger.position_units == 0:
            break
        side = "yes" if ledger.position_units > 0 else "no"
        try:
            result = await client.create_order(
                market_ticker,
                side,
                "market",
                format_count(ledger.held_units),
                None,
                action="sell",
                time_in_force="immediate_or_cancel",
                reduce_only=True,
            )
        except KalshiRLError as exc:
            orders.append({"error": str(exc)})
            break
        orders.append(result)
    after = ledger.position_units
    if after:
        logger.warning(
            "flatten left %s contracts of %s open: the book could not take them",
            format_count(after),
            market_ticker,
        )
    else:
        logger.warning("flattened %s: sold %s contracts back to zero", market_ticker, format_count(before))
    return {
        "market_ticker": market_ticker,
        "position_before": format_count(before),
        "position_after": format_count(after),
        "orders": orders,
    }
