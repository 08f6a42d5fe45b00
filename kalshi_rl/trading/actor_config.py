"""What the ``TradingActor`` is configured with, what it needs from a client, what it counts."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import numpy as np

from kalshi_rl.core.errors import LiveModeRefusedError
from kalshi_rl.execution.position import PositionLedger


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


@dataclass(frozen=True)
class ActorConfig:
    market_ticker: str
    model_ref: str
    reload_poll_s: float = 0.25
    broadcast_queue: int = 1_000
    mode: str = "paper"
    deterministic: bool = True  # False: sample actions from the policy (seeded), as in training
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode == "live":
            raise LiveModeRefusedError("TradingActor")
        if self.mode != "paper":
            raise ValueError(f"unknown mode {self.mode!r}: the actor trades on paper only")


@dataclass
class ActorMetrics:
    ticks: int = 0
    decisions: int = 0
    orders: int = 0
    rejected: int = 0
    skipped_stale: int = 0
    missed_ticks: int = 0
    reloads: int = 0
    reload_refusals: int = 0
    last_reload_error: str = ""
    total_reward: float = 0.0
    latencies_us: deque[float] | None = None  # tick -> decision made (and order acknowledged, if any)
    order_latencies_us: deque[float] | None = None  # tick -> order acknowledged, orders only
    processing_us: deque[float] | None = None  # on_tick's own time (no scheduling delay), orders only
    switches: list[tuple[str, int]] | None = None  # (model, first tick it acted on)

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
