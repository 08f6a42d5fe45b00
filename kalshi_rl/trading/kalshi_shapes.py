"""Kalshi's JSON shapes (and our ``rl_orders``/``rl_fills`` rows) for paper orders and fills.

The one place that formats the paper client's exact state: prices as 4-decimal dollar strings,
counts as 2-decimal fixed-point strings, order costs and fees as 6-decimal dollars (as Kalshi's
``fee_cost`` and ``user_order`` do), other money as 4-decimal dollars, or 6 when a fractional
count makes it finer than $0.0001. Averages (``average_fill_price``, ``average_fee_paid``) are
not exact in general and are rounded half-even to $0.0001. V2 acks price the YES leg.

``OrderEvents`` is where an order change goes: its rows to the ``OrderWriteQueue`` (never
awaited) and its private WS messages (``fill``, ``user_order``, ``market_position``) to the
in-process ``UserStreams``.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from kalshi_rl.core.units import PRICE_SCALE, count_decimal, format_count, format_price, price_decimal
from kalshi_rl.data.sql_queue import OrderWriteQueue
from kalshi_rl.trading.orders import PaperFill, PaperOrder

_TICK = Decimal(1).scaleb(-4)
_ROW_AVERAGE = Decimal(1).scaleb(-8)
FEE_TICK_MICRO = 100


def micro_decimal(micro: int) -> Decimal:
    """Return micro-dollars as an exact ``Decimal`` number of dollars."""
    return Decimal(micro).scaleb(-6)


def dollars(micro: int) -> str:
    """Format money: 4 decimals, or 6 when the amount is finer than $0.0001."""
    places = 4 if micro % FEE_TICK_MICRO == 0 else 6
    return f"{micro_decimal(micro):.{places}f}"


def dollars6(micro: int) -> str:
    return f"{micro_decimal(micro):.6f}"


def rfc3339(ns: int) -> str:
    """Return an RFC 3339 UTC timestamp with microseconds, like Kalshi's ``created_time``."""
    seconds, rest = divmod(ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1_000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_datetime(ns: int) -> datetime:
    seconds, rest = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1_000)


def _average(total: Decimal, count_units: int, quantum: Decimal = _TICK) -> Decimal:
    return (total / count_decimal(count_units)).quantize(quantum, rounding=ROUND_HALF_EVEN)


def average_yes_price(order: PaperOrder, quantum: Decimal = _TICK) -> Decimal:
    """VWAP of the order's fills in the YES frame."""
    outcome_avg = micro_decimal(order.fill_cost_micro) / count_decimal(order.filled_units)
    yes_avg = outcome_avg if order.outcome.value == "yes" else 1 - outcome_avg
    return yes_avg.quantize(quantum, rounding=ROUND_HALF_EVEN)


def ack_json(order: PaperOrder, now_ns: int) -> dict[str, Any]:
    """The flat V2 create ack: ``{order_id, client_order_id, fill_count, remaining_count, ...}``."""
    ack: dict[str, Any] = {
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "fill_count": format_count(order.filled_units),
        "remaining_count": format_count(order.remaining_units),
    }
    if order.filled_units:
        ack["average_fill_price"] = f"{average_yes_price(order)}"
        fees = price_decimal(order.fee_ticks)
        ack["average_fee_paid"] = f"{_average(fees, order.filled_units)}"
    ack["ts_ms"] = now_ns // 1_000_000
    return ack


def cancel_json(order: PaperOrder, reduced_units: int, now_ns: int) -> dict[str, Any]:
    """The V2 cancel response."""
    return {
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "reduced_by": format_count(reduced_units),
        "ts_ms": now_ns // 1_000_000,
    }


def decrease_json(order: PaperOrder, now_ns: int) -> dict[str, Any]:
    """The V2 decrease response."""
    return {
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "remaining_count": format_count(order.remaining_units),
        "ts_ms": now_ns // 1_000_000,
    }


def batch_error(item: dict[str, Any], error: dict[str, Any], now_ns: int) -> dict[str, Any]:
    """One failed entry of a batch answer (``item`` holds the ids the request gave)."""
    return {**item, "ts_ms": now_ns // 1_000_000, "error": error}


def order_json(order: PaperOrder, user_id: str) -> dict[str, Any]:
    """Kalshi's Order (``GET /portfolio/orders``)."""
    request = order.request
    yes = order.yes_price_ticks
    return {
        "order_id": order.order_id,
        "user_id": user_id,
        "client_order_id": order.client_order_id,
        "ticker": order.ticker,
        "side": request.side.value,
        "action": request.action,
        "outcome_side": order.outcome.value,
        "book_side": request.book_side,
        "type": request.order_type,
        "status": order.status,
        "yes_price_dollars": format_price(yes),
        "no_price_dollars": format_price(PRICE_SCALE - yes),
        "fill_count_fp": format_count(order.filled_units),
        "remaining_count_fp": format_count(order.remaining_units),
        "initial_count_fp": format_count(order.initial_units),
        "taker_fill_cost_dollars": dollars6(order.taker_cost_micro),
        "maker_fill_cost_dollars": dollars6(order.maker_cost_micro),
        "taker_fees_dollars": dollars6(order.taker_fee_ticks * FEE_TICK_MICRO),
        "maker_fees_dollars": dollars6(order.maker_fee_ticks * FEE_TICK_MICRO),
        "time_in_force": request.time_in_force,
        "post_only": request.post_only,
        "reduce_only": request.reduce_only,
        "expiration_time": None,
        "created_time": rfc3339(order.created_ns),
        "last_update_time": rfc3339(order.updated_ns),
        "self_trade_prevention_type": None,
        "order_group_id": None,
        "subaccount_number": 0,
        "exchange_index": 0,
    }


def user_order_message(order: PaperOrder, user_id: str) -> dict[str, Any]:
    """The ``user_order`` user-stream payload (note: ``ticker``, not ``market_ticker``)."""
    body = order_json(order, user_id)
    body["is_yes"] = order.outcome.value == "yes"
    body["created_ts_ms"] = order.created_ns // 1_000_000
    body["last_updated_ts_ms"] = order.updated_ns // 1_000_000
    return body


def fill_json(fill: PaperFill, order: PaperOrder) -> dict[str, Any]:
    """Kalshi's Fill (``GET /portfolio/fills``)."""
    yes = fill.yes_price_ticks
    return {
        "fill_id": fill.fill_id,
        "trade_id": fill.fill_id,
        "order_id": fill.order_id,
        "client_order_id": order.client_order_id,
        "ticker": fill.ticker,
        "market_ticker": fill.ticker,
        "side": order.request.side.value,
        "action": order.request.action,
        "outcome_side": fill.outcome.value,
        "book_side": order.request.book_side,
        "count_fp": format_count(fill.units),
        "yes_price_dollars": format_price(yes),
        "no_price_dollars": format_price(PRICE_SCALE - yes),
        "is_taker": fill.is_taker,
        "fee_cost": dollars6(fill.fee_ticks * FEE_TICK_MICRO),
        "created_time": rfc3339(fill.ts_ns),
        "ts": fill.ts_ns // 1_000_000_000,
        "subaccount_number": 0,
    }


def fill_message(fill: PaperFill, order: PaperOrder) -> dict[str, Any]:
    """The ``fill`` user-stream payload."""
    body = fill_json(fill, order)
    for key in ("fill_id", "ticker", "created_time", "no_price_dollars", "subaccount_number"):
        del body[key]
    body.update(
        exchange_index=0,
        ts_ms=fill.ts_ns // 1_000_000,
        post_position_fp=format_count(fill.post_position_units),
        purchased_side=fill.outcome.value,
    )
    return body


def order_row(order: PaperOrder) -> dict[str, Any]:
    """The order's ``rl_orders`` row (exact Decimals; prices in the order side's frame)."""
    request = order.request
    priced = request.order_type == "limit"
    return {
        "id": uuid.UUID(order.order_id),
        "market_ticker": order.ticker,
        "side": request.side.value,
        "direction": request.action,
        "order_type": request.order_type,
        "status": order.status,
        "quantity": count_decimal(order.initial_units),
        "remaining_quantity": count_decimal(order.remaining_units),
        "filled_quantity": count_decimal(order.filled_units),
        "price": price_decimal(order.side_frame(order.limit_ticks)) if priced else None,
        "average_fill_price": _side_average(order) if order.filled_units else None,
        "client_order_id": order.client_order_id,
        "book_side": request.book_side,
        "yes_price": price_decimal(order.yes_price_ticks) if priced else None,
        "time_in_force": request.time_in_force,
        "fees": micro_decimal(order.fee_ticks * 100 + order.rounding_fee_micro),  # trade fees + rounding fee
        "fill_cost": micro_decimal(order.fill_cost_micro),
        "created_at": utc_datetime(order.created_ns),
        "updated_at": utc_datetime(order.updated_ns),
    }


def _side_average(order: PaperOrder) -> Decimal:
    yes = average_yes_price(order, _ROW_AVERAGE)
    return yes if order.request.side.value == "yes" else 1 - yes


def fill_row(fill: PaperFill, order: PaperOrder) -> dict[str, Any]:
    """The fill's ``rl_fills`` row (price in the order side's frame)."""
    return {
        "id": uuid.UUID(fill.fill_id),
        "order_id": uuid.UUID(fill.order_id),
        "market_ticker": fill.ticker,
        "side": order.request.side.value,
        "quantity": count_decimal(fill.units),
        "price": price_decimal(order.side_frame(fill.price_ticks)),
        "timestamp": utc_datetime(fill.ts_ns),
        "execution_type": order.request.order_type,
        "action": order.request.action,
        "yes_price": price_decimal(fill.yes_price_ticks),
        "fee": price_decimal(fill.fee_ticks),
        "is_taker": fill.is_taker,
        "trade_id": fill.fill_id,
    }


class UserStreams:
    """Queues of user-stream messages; a full queue drops its oldest (the client never waits)."""

    def __init__(self) -> None:
        self._queues: dict[asyncio.Queue[dict[str, Any]], int] = {}
        self._next_sid = 1
        self.dropped = 0

    def subscribe(self, maxsize: int = 1_000) -> asyncio.Queue[dict[str, Any]]:
        if maxsize < 1:
            raise ValueError(f"a user stream needs room for at least one message, got maxsize={maxsize}")
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize)
        self._queues[queue] = self._next_sid
        self._next_sid += 1
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._queues.pop(queue, None)

    def __bool__(self) -> bool:
        return bool(self._queues)

    def publish(self, kind: str, msg: dict[str, Any]) -> None:
        """Send ``{"type": kind, "sid": ..., "msg": msg}`` to every subscriber."""
        for queue, sid in self._queues.items():
            if queue.full():
                queue.get_nowait()
                self.dropped += 1
            queue.put_nowait({"type": kind, "sid": sid, "msg": msg})


class OrderEvents:
    """Where an order change goes: rows to the write queue, messages to the user streams."""

    def __init__(self, order_queue: OrderWriteQueue | None, user_id: str) -> None:
        self.order_queue = order_queue
        self.user_id = user_id
        self.streams = UserStreams()

    def order_changed(
        self, order: PaperOrder, fills: list[PaperFill], position: dict[str, Any] | None
    ) -> None:
        """Persist an order change and its fills; publish them (and ``position`` if it moved)."""
        if self.order_queue is not None:
            self.order_queue.enqueue_order(order_row(order))
            for fill in fills:
                self.order_queue.enqueue_fill(fill_row(fill, order))
        if not self.streams:
            return  # nobody listens: do not build the messages on the order path
        for fill in fills:
            self.streams.publish("fill", fill_message(fill, order))
        self.streams.publish("user_order", user_order_message(order, self.user_id))
        if position is not None:
            self.streams.publish("market_position", position)
