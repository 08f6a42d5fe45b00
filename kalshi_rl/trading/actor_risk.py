"""``RiskControls``: what the ``TradingActor`` does when a risk control acts (``trading.risk``).

Kept apart from the tick loop: counting a trip, holding while one is in force, the commands
(resume, flatten) and the rollback of a hot-loaded version that loses too much.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.execution.position import MICRO_PER_DOLLAR
from kalshi_rl.trading.actor_config import ActorConfig, ActorMetrics, TradingClient
from kalshi_rl.trading.actor_stream import ActionStream, hold_message
from kalshi_rl.trading.flatten import flatten_position
from kalshi_rl.trading.model_source import LoadedModel, ModelSource
from kalshi_rl.trading.risk import RiskGuard, Trip, TripKind


class RiskControls:
    """The risk side of ``TradingActor`` (a mixin: the actor holds the state it uses)."""

    config: ActorConfig
    registry: ModelRegistry
    client: TradingClient
    metrics: ActorMetrics
    stream: ActionStream
    guard: RiskGuard
    model: LoadedModel | None
    source: ModelSource
    _pending: LoadedModel | None
    _trial: tuple[LoadedModel, int, float | None] | None
    _trading: asyncio.Lock
    _held: int

    def _tripped(self, trip: Trip | None) -> None:
        """Count a breaker that just tripped (the guard logged it); it is held from the next tick."""
        if trip is None:
            return
        self.metrics.risk_trips[trip.kind] = self.metrics.risk_trips.get(trip.kind, 0) + 1
        self.metrics.risk_breaker = trip.kind

    def _hold_tripped(self, tick_ns: int, trip: Trip, held: int = 1) -> None:
        """A breaker is tripped: hold (no order) and say which and why (metrics, stream);
        ``held``: 0 for the message a command sends between two ticks."""
        reason = f"risk breaker {trip.kind}: {trip.reason}"
        self.metrics.risk_breaker = trip.kind  # a series' next market's actor inherits the trip
        self.metrics.risk_held += held
        self.metrics.hold_reason = reason
        self._held += held
        label = self.model.label if self.model else None
        message = hold_message(
            self.config.market_ticker, tick_ns, reason, self.metrics.skipped_stale, label, trip.kind
        )
        self.stream.publish(message)

    def _rolled_back(self, equity_micro: float, tick_ns: int) -> bool:
        """Whether the hot-loaded version on trial lost more than ``rollback_loss`` within the
        window: then the version it replaced trades from the next tick (this one is held), and
        the source is pinned to it so that the reloader does not bring the loser back."""
        assert self._trial is not None and self.model is not None
        previous, since_ns, start = self._trial
        limits = self.config.risk
        if start is None:
            self._trial = (previous, since_ns, equity_micro)
            return False
        if tick_ns - since_ns > limits.rollback_window_s * 1e9:
            self._trial = None  # it passed
            return False
        loss = (start - equity_micro) / MICRO_PER_DOLLAR
        if limits.rollback_loss is None or loss <= limits.rollback_loss:
            return False
        self._trial = None
        reason = (
            f"{self.model.label} lost ${loss:.2f} within {(tick_ns - since_ns) / 1e9:.1f} s of taking over"
            f" (rollback_loss ${limits.rollback_loss:.2f}): back to {previous.label}"
        )
        trip = self.guard.note("rollback", reason, tick_ns)
        self.metrics.risk_trips[trip.kind] = self.metrics.risk_trips.get(trip.kind, 0) + 1
        self.source = ModelSource(self.registry, str(previous.record.id))
        self._pending = previous
        label = self.model.label
        self.stream.publish(
            hold_message(
                self.config.market_ticker, tick_ns, reason, self.metrics.skipped_stale, label, "rollback"
            )
        )
        return True

    def resume(self) -> TripKind | None:
        """Trade again after a breaker tripped (a command); the kind it cleared, if any."""
        cleared = self.guard.resume()
        self.metrics.risk_breaker = ""
        return cleared.kind if cleared is not None else None

    async def flatten(self, reason: str = "emergency stop") -> dict[str, Any]:
        """Stop trading (breaker ``flatten``), cancel resting orders and sell the position back
        to zero with taker orders; what was done (see ``flatten_position``)."""
        async with self._trading:
            tick_ns = self.config.clock.time_ns()
            self._tripped(self.guard.trip("flatten", reason, tick_ns))
            done = await flatten_position(self.client, self.config.market_ticker)
            self.guard.trips[
                -1
            ].reason += f" (position {done['position_before']} -> {done['position_after']})"
            if self.model is not None:
                self._hold_tripped(tick_ns, self.guard.trips[-1], held=0)
            return done
