"""``FillEngine``: fill an order against a book, as one taker among others.

Used by the training env (on replayed books) and by the paper client (on the live book), so
both fill the same way:

- it walks the displayed levels best first (partial fills, VWAP, slippage against the best
  displayed price), up to a limit price and at most ``max_levels`` displayed levels deep;
- it remembers the liquidity it took: each consumed (ladder, price) level is shown smaller by
  the amount taken, and that memory fades linearly over ``restore_ms`` of **event time** (never
  wall-clock), so repeated orders walk deeper instead of taking the same level forever;
- each level taken is one match, charged its own trade fee (``FeeModel.trade_fee_micro``, the
  model of the market the caller trades: Kalshi rounds each match's fee up to $0.000001);
- latency is applied in event time by the caller with ``latency_ns()``, drawn from a seeded RNG.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from kalshi_rl.core.events import Level, Side
from kalshi_rl.core.units import PRICE_SCALE
from kalshi_rl.execution.fees import FeeModel, FeePolicy


@dataclass(frozen=True)
class FillConfig:
    """How fills are simulated and charged (``fees``: which schedule, flat fee, member precision);
    part of the train/serve contract."""

    latency_min_ms: float = 50.0
    latency_max_ms: float = 50.0
    restore_ms: float = 5_000.0
    max_levels: int = 10
    fees: FeePolicy = field(default_factory=FeePolicy)

    def __post_init__(self) -> None:
        if not 0 <= self.latency_min_ms <= self.latency_max_ms:
            raise ValueError("latency must satisfy 0 <= min <= max")
        if self.restore_ms < 0 or self.max_levels < 1:
            raise ValueError("restore_ms must be >= 0 and max_levels >= 1")

    def to_dict(self) -> dict[str, object]:
        return {
            "latency_min_ms": self.latency_min_ms,
            "latency_max_ms": self.latency_max_ms,
            "restore_ms": self.restore_ms,
            "max_levels": self.max_levels,
            "fees": self.fees.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FillConfig:
        fees = data.get("fees")
        return cls(
            latency_min_ms=float(data["latency_min_ms"]),  # type: ignore[arg-type]
            latency_max_ms=float(data["latency_max_ms"]),  # type: ignore[arg-type]
            restore_ms=float(data["restore_ms"]),  # type: ignore[arg-type]
            max_levels=int(data["max_levels"]),  # type: ignore[call-overload]
            fees=FeePolicy.from_dict(fees) if isinstance(fees, dict) else FeePolicy(),
        )


@dataclass(frozen=True)
class Fill:
    """The outcome of one order: what filled, where, and what it cost."""

    side: Side
    requested_units: int
    filled_units: int
    cost_micro: int  # sum of price x units over the levels taken
    fee_micro: int  # sum of the matches' trade fees
    # per match: (price in the bought side's frame, units, trade fee in micro-dollars)
    levels: tuple[tuple[int, int, int], ...]
    best_ticks: int | None  # the best price when the order arrived

    @property
    def vwap_ticks(self) -> float:
        return self.cost_micro / self.filled_units if self.filled_units else 0.0

    @property
    def slippage_ticks(self) -> float:
        """VWAP minus the best price (what walking the book cost per contract)."""
        return self.vwap_ticks - self.best_ticks if self.filled_units and self.best_ticks else 0.0


class _TakenLevel:
    """What was taken at one level, fading back linearly over ``restore_ns`` of event time.

    Hidden now = sum of units x (1 - age / restore) over takes younger than ``restore_ns``,
    kept as two running integer sums so each look costs O(1) (amortised: a take leaves the
    window once); the result is rounded up, so liquidity is never overstated.
    """

    __slots__ = ("entries", "restore_ns", "sum_units", "sum_units_at")

    def __init__(self, restore_ns: int) -> None:
        self.restore_ns = restore_ns
        self.entries: deque[tuple[int, int]] = deque()
        self.sum_units = 0
        self.sum_units_at = 0

    def take(self, units: int, at_ns: int) -> None:
        self.entries.append((units, at_ns))
        self.sum_units += units
        self.sum_units_at += units * at_ns

    def copy(self) -> _TakenLevel:
        other = _TakenLevel(self.restore_ns)
        other.entries = deque(self.entries)
        other.sum_units, other.sum_units_at = self.sum_units, self.sum_units_at
        return other

    def hidden(self, now_ns: int) -> int:
        entries = self.entries
        while entries and now_ns - entries[0][1] >= self.restore_ns and now_ns > entries[0][1]:  # restored
            units, at_ns = entries.popleft()
            self.sum_units -= units
            self.sum_units_at -= units * at_ns
        if not entries:
            return 0
        if self.restore_ns == 0:  # instant restore: only what was taken this very instant
            return sum(units for units, at_ns in entries if at_ns >= now_ns)
        scaled = self.sum_units * (self.restore_ns - now_ns) + self.sum_units_at  # hidden x restore_ns
        return min(self.sum_units, -(-scaled // self.restore_ns))


class FillEngine:
    """Fills taker orders against ask ladders, remembering consumed liquidity."""

    def __init__(self, config: FillConfig | None = None, seed: int | None = 0) -> None:
        self.config = config or FillConfig()
        self._rng = random.Random(seed)
        # (ladder side, bid price in that ladder) -> what this engine took there, and when
        self._taken: dict[tuple[Side, int], _TakenLevel] = {}

    def reset(self, seed: int | None = None) -> None:
        self._taken.clear()
        if seed is not None:
            self._rng.seed(seed)

    def fork(self) -> FillEngine:
        """An independent copy: what this engine took and its latency draws to come. The oracle's
        DP forks one per path it keeps, many per tick; ``copy.deepcopy`` would also copy the
        (frozen) config and the generator's state element by element, hundreds of times slower."""
        other = FillEngine(self.config, seed=None)
        other._rng.setstate(self._rng.getstate())
        other._taken = {key: level.copy() for key, level in self._taken.items()}
        return other

    def latency_ns(self) -> int:
        """Draw this order's latency (event time), deterministic for the engine's seed."""
        low, high = self.config.latency_min_ms, self.config.latency_max_ms
        ms = low if low == high else self._rng.uniform(low, high)
        return int(ms * 1_000_000)

    def _taken_now(self, key: tuple[Side, int], now_ns: int) -> int:
        level = self._taken.get(key)
        if level is None:
            return 0
        hidden = level.hidden(now_ns)
        if not level.entries:
            del self._taken[key]
        return hidden

    def available(self, side: Side, asks: Sequence[Level], now_ns: int) -> list[Level]:
        """The asks of ``side`` as this engine sees them: displayed minus what it took."""
        ladder = side.opposite  # a YES ask at p is a NO bid at 1 - p
        out = []
        for price, size in asks:
            left = size - self._taken_now((ladder, PRICE_SCALE - price), now_ns)
            if left > 0:
                out.append((price, left))
        return out

    def buy(
        self,
        side: Side,
        count_units: int,
        asks: Sequence[Level],
        now_ns: int,
        limit_ticks: int | None = None,
        *,
        fees: FeeModel,
    ) -> Fill:
        """Buy up to ``count_units`` of ``side`` from ``asks`` (best first) at ``now_ns``.

        ``asks`` are that side's asks in its own price frame (for YES: 1 - the NO bids).
        ``limit_ticks`` caps the price paid (None = a market order, bounded by ``max_levels``).
        ``fees`` is the fee model of the market at ``now_ns``; every match is a taker match.
        """
        if count_units <= 0:
            raise ValueError(f"order count must be positive, got {count_units}")
        ladder = side.opposite
        need = count_units
        cost = fee = 0
        taken: list[tuple[int, int, int]] = []
        best = asks[0][0] if asks else None
        for depth, (price, size) in enumerate(asks):
            if need == 0 or depth >= self.config.max_levels:
                break
            if limit_ticks is not None and price > limit_ticks:
                break
            key = (ladder, PRICE_SCALE - price)
            available = size - self._taken_now(key, now_ns)
            if available <= 0:
                continue
            units = min(need, available)
            need -= units
            level_fee = fees.trade_fee_micro(units, price, True)
            cost += price * units
            fee += level_fee
            taken.append((price, units, level_fee))
            level = self._taken.get(key)
            if level is None:
                level = self._taken[key] = _TakenLevel(int(self.config.restore_ms * 1_000_000))
            level.take(units, now_ns)
        return Fill(side, count_units, count_units - need, cost, fee, tuple(taken), best)
