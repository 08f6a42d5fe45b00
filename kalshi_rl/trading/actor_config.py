"""What the ``TradingActor`` is configured with, what it needs from a client, what it counts."""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import numpy as np

from kalshi_rl.core.errors import LiveModeRefusedError
from kalshi_rl.execution.position import PositionLedger
from kalshi_rl.trading.risk import RiskLimits


class TradingClient(Protocol):
    """What the actor needs from a trading client (the paper client; a live one is refused)."""

    async def create_order(
        self,
        market_ticker: str,
        side: str,
        order_type: str,
        quantity: int | Decimal | str,
        price: str | int | Decimal | None = None,
        *,
        action: str = "buy",
        time_in_force: str | None = None,
        client_order_id: str | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
    ) -> dict[str, Any]: ...

    def ledger(self, market_ticker: str) -> PositionLedger: ...

    async def cancel_all_orders(self) -> None: ...


class Clock(Protocol):
    """The actor's two clocks: wall time stamps its ticks, monotonic time schedules them.

    ``monotonic_ns`` must advance with the event loop's clock: the actor sleeps on the loop.
    """

    def time_ns(self) -> int: ...

    def monotonic_ns(self) -> int: ...


class SystemClock:
    """The real clocks (``time.time_ns`` and ``time.monotonic_ns``)."""

    def time_ns(self) -> int:
        return time.time_ns()

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()


@dataclass(frozen=True)
class ActorConfig:
    market_ticker: str
    model_ref: str
    reload_poll_s: float = 0.25
    broadcast_queue: int = 1_000
    mode: str = "paper"
    deterministic: bool = True  # False: sample actions from the policy (seeded), as in training
    seed: int = 0
    spin_us: int = 0
    """0: sleep until each tick. Else stop sleeping this early and warm the decision path up,
    yielding to the loop between passes, so the decision starts on the tick with warm caches:
    decision p50 ~0.5 ms instead of ~1.4 ms, but the feed frames that arrive meanwhile reach
    the book later (p50 +50-250 us; ``bench/feed_latency.py``). Off wherever the actor shares
    its loop with a feed, as in ``paper`` and ``serve``."""
    clock: Clock = field(default_factory=SystemClock)
    risk: RiskLimits = field(default_factory=RiskLimits)

    def __post_init__(self) -> None:
        if self.mode == "live":
            raise LiveModeRefusedError("TradingActor")
        if self.mode != "paper":
            raise ValueError(f"unknown mode {self.mode!r}: the actor trades on paper only")
        if self.spin_us < 0:
            raise ValueError(f"spin_us must be >= 0, got {self.spin_us}")


LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Upper bounds of the decision-latency histogram (``/metrics``), in seconds."""


@dataclass
class LatencyHistogram:
    """Every decision latency since the start, counted per bucket (``latencies_us`` keeps only the
    latest, for percentiles): a Prometheus histogram needs cumulative counts that never shrink."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_S) + 1))
    sum_s: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(LATENCY_BUCKETS_S, seconds)] += 1
        self.sum_s += seconds

    @property
    def count(self) -> int:
        return sum(self.counts)


@dataclass
class ActorMetrics:
    ticks: int = 0
    decisions: int = 0
    orders: int = 0
    rejected: int = 0
    skipped_stale: int = 0  # ticks held without a decision: no observation (book stale, or resyncing)
    hold_reason: str = ""  # why the actor is holding now ("" while it decides)
    missed_ticks: int = 0  # grid ticks that passed while the actor was busy or late
    clock_steps: int = 0  # wall-clock steps seen (ticks follow the wall clock's grid)
    reloads: int = 0
    reload_refusals: int = 0
    last_reload_error: str = ""
    total_reward: float = 0.0
    latencies_us: deque[float] | None = None  # tick -> decision made (and order acknowledged, if any)
    order_latencies_us: deque[float] | None = None  # tick -> order acknowledged, orders only
    processing_us: deque[float] | None = None  # on_tick's own time (no scheduling delay), orders only
    switches: list[tuple[str, int]] | None = None  # (model, first tick it acted on)
    latency_histogram: LatencyHistogram = field(default_factory=LatencyHistogram)
    risk_trips: dict[str, int] = field(default_factory=dict)  # breaker trips by kind (``risk``)
    risk_held: int = 0  # ticks held because a breaker was tripped
    risk_breaker: str = ""  # the breaker tripped now ("" while trading)
    rate_limited: int = 0  # orders skipped over max_orders_per_minute

    def counts(self) -> dict[str, int]:
        """The counts an episode keeps in its metadata."""
        names = (
            *("decisions", "orders", "rejected", "skipped_stale", "missed_ticks", "clock_steps", "reloads"),
            *("risk_held", "rate_limited"),
        )
        return {name: getattr(self, name) for name in names}

    def latency_percentiles(self, orders_only: bool = False) -> dict[str, float]:
        values = np.asarray(
            (self.order_latencies_us if orders_only else self.latencies_us) or (), dtype=np.float64
        )
        return _percentiles(values)

    def processing_percentiles(self) -> dict[str, float]:
        return _percentiles(np.asarray(self.processing_us or (), dtype=np.float64))


def _percentiles(values: np.ndarray) -> dict[str, float]:
    if not len(values):
        return {"p50_us": 0.0, "p99_us": 0.0, "n": 0}
    return {
        "p50_us": float(np.percentile(values, 50)),
        "p99_us": float(np.percentile(values, 99)),
        "n": len(values),
    }
