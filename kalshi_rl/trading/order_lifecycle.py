"""What time and a market's lifecycle do to the paper client's orders.

Run by the watcher on every change of a market (book or status) and before every request:

- **Expiry.** A good-till-canceled order with an ``expiration_time`` is canceled at that time
  (status ``canceled``, ``last_update_reason`` ``ExpiryCancel``), before anything else can
  fill it.
- **Pause** (``deactivated``). Nothing fills while a market is paused; orders created with
  ``cancel_order_on_pause`` ("canceled if the order is open and trading on the exchange is
  paused for any reason", OpenAPI 3.31.0) are canceled at the pause (``HaltCancel``); the
  others rest until re-activation.
- **Close.** From the market's (latest) close time, or once it is closed, its resting orders
  are canceled (``CloseCancel``).
- **Settlement.** Once its result is known, positions settle at 0/1 (or the scalar value)
  through the portfolio, once, and Kalshi's ``Settlement`` record is kept.
"""

from __future__ import annotations

from typing import Any

from kalshi_rl.trading import kalshi_shapes as shapes
from kalshi_rl.trading.market_rules import (
    check_tradable,
    event_ticker_of,
    exchange_index_of,
    is_paused,
    settlement_of,
)
from kalshi_rl.trading.order_manager import OrderManager
from kalshi_rl.trading.orders import KalshiApiError


def expire(orders: OrderManager, now_ns: int, ticker: str | None = None) -> None:
    """Cancel the orders (of ``ticker``) whose expiration time has come."""
    for order in orders.open(ticker):
        expiry = order.expiration_ns
        if expiry is not None and now_ns >= expiry:
            orders.cancel(order, now_ns, "ExpiryCancel")


def next_expiry_ns(orders: OrderManager, ticker: str) -> int | None:
    """When the next resting order of ``ticker`` expires, if one has an expiry."""
    expiries = [o.expiration_ns for o in orders.open(ticker) if o.expiration_ns is not None]
    return min(expiries) if expiries else None


def check_market(orders: OrderManager, ticker: str, now_ns: int) -> None:
    """React to the current book and status of ``ticker`` (see the module docstring)."""
    shared = orders.book(ticker)
    expire(orders, now_ns, ticker)
    if settlement_of(shared.status) is not None:
        settle(orders, ticker, now_ns)
        return
    if is_paused(shared.status):
        for order in orders.open(ticker):
            if order.request.cancel_order_on_pause:
                orders.cancel(order, now_ns, "HaltCancel")
        return
    try:
        check_tradable(shared, now_ns)
    except KalshiApiError:
        orders.cancel_all(ticker, now_ns, "CloseCancel")
        return
    orders.match_resting(ticker, now_ns)


def settle(orders: OrderManager, ticker: str, now_ns: int) -> dict[str, Any] | None:
    """Cancel ``ticker``'s resting orders and, once its result is known, settle it (once);
    return Kalshi's ``Settlement`` record, or None if there is nothing (more) to settle."""
    shared = orders.book(ticker)
    orders.cancel_all(ticker, now_ns, "CloseCancel")
    settlement = settlement_of(shared.status)
    if settlement is None or ticker in orders.settled:
        return None
    orders.settled.add(ticker)
    record = orders.portfolio.settle(ticker, *settlement, event_ticker_of(shared), now_ns)
    shaped = shapes.settlement_json(record, exchange_index_of(shared))
    orders.settlements.append(shaped)
    orders.stats.settlements += 1
    orders.events.streams.publish(
        "market_position", orders.portfolio.position_message(ticker, orders.events.user_id)
    )
    return shaped
