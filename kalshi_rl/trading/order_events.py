"""Where an order change goes: its rows to the ``OrderWriteQueue`` (never awaited) and its
private WS messages (``fill``, ``user_order``, ``market_position``) to the in-process
``UserStreams``, in Kalshi's shapes (``kalshi_shapes``)."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

from kalshi_rl.core.units import count_decimal, price_decimal
from kalshi_rl.data.sql_queue import OrderWriteQueue
from kalshi_rl.trading.kalshi_shapes import (
    average_yes_price,
    fill_message,
    micro_decimal,
    user_order_message,
    utc_datetime,
)
from kalshi_rl.trading.orders import PaperFill, PaperOrder

_ROW_AVERAGE = Decimal(1).scaleb(-8)


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
        "fees": micro_decimal(order.fee_micro),  # net: trade fees + rounding fees - rebates
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
        "fee": micro_decimal(fill.fee_micro),
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
