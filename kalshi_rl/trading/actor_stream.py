"""What the actor tells its subscribers (``/rl/ws/actions``, the live view), and why it holds.

Two messages: ``action`` (spec §5 ``Action Event``: a decision, with the order it sent and the
position after it) and ``hold`` (a tick without a decision, and the reason), built through the
models of ``stream_messages`` (which the API's OpenAPI document publishes). Subscribers get
them through bounded queues; a slow one loses its oldest message and never blocks the actor.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from kalshi_rl.core.units import PRICE_SCALE, format_count
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.execution.position import MICRO_PER_DOLLAR, PositionLedger
from kalshi_rl.trading.risk import TripKind
from kalshi_rl.trading.stream_messages import (
    ActionData,
    ActionDetails,
    ActionMessage,
    HoldData,
    HoldMessage,
    PositionState,
)
from kalshi_rl.trading.tick_grid import format_wall_ns


class ActionStream:
    """The actor's subscribers: one bounded queue each."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._queues: list[asyncio.Queue[dict[str, Any]]] = []

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=self.maxsize)
        self._queues.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with contextlib.suppress(ValueError):
            self._queues.remove(queue)

    def publish(self, message: dict[str, Any]) -> None:
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()  # a slow subscriber loses its oldest message, never blocks us
            queue.put_nowait(message)


def action_message(
    market_ticker: str,
    tick_ns: int,
    details: dict[str, Any],
    result: dict[str, Any] | None,
    ledger: PositionLedger,
    mark: float | None,
    confidence: float,
    model: str | None,
    executed: bool,
) -> dict[str, Any]:
    """The spec's ``action`` message for a decision at ``tick_ns``."""
    unrealized = ledger.unrealized_micro(mark) / MICRO_PER_DOLLAR if mark is not None else 0.0
    return ActionMessage(
        type="action",
        data=ActionData(
            timestamp=tick_ns // 1_000_000,
            market_ticker=market_ticker,
            action=details["name"],
            details=ActionDetails(
                side=details.get("side"),
                price=result.get("average_fill_price") if result else None,
                quantity=details.get("quantity"),
                order_type=details.get("order_type"),
            ),
            state=PositionState(
                position=format_count(ledger.position_units),
                avg_price=round(ledger.average_cost_ticks() / PRICE_SCALE, 6),
                unrealized_pnl=round(unrealized, 6),
            ),
            confidence=round(confidence, 6),
            model=model,
            executed=executed,
        ),
    ).wire()


def hold_message(
    market_ticker: str,
    tick_ns: int,
    reason: str,
    skipped_stale: int,
    model: str | None,
    breaker: TripKind | None = None,
) -> dict[str, Any]:
    """A ``hold`` message: no decision (and no order) at ``tick_ns``, and why; ``breaker``: the
    risk breaker that stops trading (``risk.RiskGuard``), None for a hold without observation."""
    return HoldMessage(
        type="hold",
        data=HoldData(
            timestamp=tick_ns // 1_000_000,
            market_ticker=market_ticker,
            reason=reason,
            skipped_stale=skipped_stale,
            model=model,
            breaker=breaker,
        ),
    ).wire()


def hold_reason(shared: SharedOrderbookState, stale_since_ns: int) -> str:
    """Why there is no observation of ``shared``'s book (stale since ``stale_since_ns`` if stale)."""
    book = shared.state
    if book.stale and book.last_update_ns == 0:
        return "no book snapshot yet"
    if book.stale:
        return (
            f"book stale since {format_wall_ns(stale_since_ns)}"
            f" (last update {format_wall_ns(book.last_update_ns)}); waiting for a fresh snapshot"
        )
    # The tape's rule: a new segment's history starts at its first tick.
    return f"book resynced at {format_wall_ns(shared.segment_start_ns)}, after this tick"
