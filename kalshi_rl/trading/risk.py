"""Risk controls of the paper actor: limits fixed at start, circuit breakers that stop trading.

``RiskLimits`` is the configuration (every limit off by default); ``RiskGuard`` applies it tick by
tick. A tripped breaker makes the actor hold (no order) with the trip's reason until a command
resumes it (``POST /rl/actor/resume``; ``kalshi-rl paper`` never resumes). The order rate limit
is not a breaker: an order over the rate is skipped (held) and trading goes on.

Losses are the paper ledger's equity change (realized + marked-to-mid unrealized, fees paid
included): per episode since the actor started, per UTC day since its first tick plus the
paper episodes of that day the database holds as finished (a restart does not reset the day).
A resume does not raise a limit: a loss still beyond it trips the breaker again at the next tick.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from kalshi_rl.core.errors import ConfigError

logger = logging.getLogger(__name__)

_DAY_NS = 86_400 * 10**9


def utc_day_start(wall_ns: int) -> datetime:
    """Midnight (UTC) of the day ``wall_ns`` falls in: where the day-loss limit counts from."""
    return datetime.fromtimestamp(wall_ns // _DAY_NS * 86_400, UTC)


_MINUTE_NS = 60 * 10**9


@dataclass(frozen=True)
class RiskLimits:
    """Limits on one paper actor; None: that control is off.

    ``max_loss_episode``/``max_loss_day``: dollars (> 0). ``max_orders_per_minute``: orders sent
    in any 60 s (>= 1). ``stale_ticks``: trip after the book has been stale this many ticks in a
    row; ``refused_orders``: after this many refused orders in a row; ``latency_ms`` with
    ``latency_ticks``: after ``latency_ticks`` decisions in a row slower than ``latency_ms``.
    """

    max_loss_episode: float | None = None
    max_loss_day: float | None = None
    max_orders_per_minute: int | None = None
    stale_ticks: int | None = None
    refused_orders: int | None = None
    latency_ms: float | None = None
    latency_ticks: int = 3
    rollback_loss: float | None = None
    """Dollars a hot-loaded version may lose within ``rollback_window_s`` of taking over before
    the actor goes back to the version it replaced (and stays pinned to it)."""
    rollback_window_s: float = 300.0

    def __post_init__(self) -> None:
        positive = {
            "max_loss_episode": self.max_loss_episode,
            "max_loss_day": self.max_loss_day,
            "max_orders_per_minute": self.max_orders_per_minute,
            "stale_ticks": self.stale_ticks,
            "refused_orders": self.refused_orders,
            "latency_ms": self.latency_ms,
            "latency_ticks": self.latency_ticks,
            "rollback_loss": self.rollback_loss,
            "rollback_window_s": self.rollback_window_s,
        }
        for name, value in positive.items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(f"risk limit {name} must be a finite number, got {value!r}")
            if value <= 0:
                raise ConfigError(
                    f"risk limit {name} must be > 0 (leave it unset to turn it off), got {value}"
                )

    def as_dict(self) -> dict[str, Any]:
        """The limits that are set (for the episode's record and the API; the latency and
        rollback windows are always set)."""
        return {k: v for k, v in vars(self).items() if v is not None}


TripKind = Literal[
    "loss_episode", "loss_day", "stale_book", "refused_orders", "latency", "flatten", "stop", "rollback"
]
"""What stopped trading (a breaker, an emergency flatten, a Ctrl-C stop) or, for ``rollback``, a
control that acted without stopping it; the API lists these, so a new kind is added here."""


@dataclass
class Trip:
    """One trip of a breaker: its kind, why, and the tick (wall ns) it happened at."""

    kind: TripKind
    reason: str
    tick_ns: int

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason, "tick_ns": self.tick_ns}


@dataclass
class RiskGuard:
    """``limits`` applied to one actor: call the ``on_*`` hooks from its tick; ``tripped`` is
    the breaker that stops trading now (None while trading)."""

    limits: RiskLimits = field(default_factory=RiskLimits)
    tripped: Trip | None = None
    trips: list[Trip] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0  # orders skipped over the per-minute rate
    _stale: int = 0
    _refused: int = 0
    _slow: int = 0
    _episode_start: float | None = None  # the ledger's equity (micro-dollars) when the episode began
    _episode_pnl: float = 0.0  # the episode's P&L at its latest tick
    _carried: float = 0.0  # the P&L of the earlier episodes (a series' earlier markets)
    _day: tuple[int, float] | None = None  # (UTC day number, the P&L so far at its first tick)
    _sent: deque[int] = field(default_factory=deque)

    def trip(self, kind: TripKind, reason: str, tick_ns: int) -> Trip:
        """Stop trading: ``kind`` ("loss_episode", "stale_book", "flatten", ...) because ``reason``."""
        trip = Trip(kind, reason, tick_ns)
        self.tripped = trip
        self.trips.append(trip)
        self.counts[kind] += 1
        logger.warning("risk breaker %s tripped: %s; holding until resumed", kind, reason)
        return trip

    def note(self, kind: TripKind, reason: str, tick_ns: int) -> Trip:
        """Record and count a control that acted without stopping trading (a rollback)."""
        trip = Trip(kind, reason, tick_ns)
        self.trips.append(trip)
        self.counts[kind] += 1
        logger.warning("risk control %s: %s", kind, reason)
        return trip

    def new_episode(self) -> None:
        """An actor starts (a series' next market): its episode's loss counts from its first tick,
        the day's goes on from the earlier episodes' P&L (as last marked by their actor)."""
        self._carried += self._episode_pnl
        self._episode_start, self._episode_pnl = None, 0.0

    def carry_day(self, tick_ns: int, earlier_pnl_micro: float) -> None:
        """Count the P&L of the day's earlier episodes (before this actor started: a restart
        does not reset the day's loss). Only before the first tick; a series' later markets
        carry their day on through ``new_episode``."""
        if self._day is None:
            self._day = (tick_ns // _DAY_NS, -earlier_pnl_micro)

    def resume(self) -> Trip | None:
        """Trade again (a command); the streaks start afresh. Returns the trip it clears."""
        cleared, self.tripped = self.tripped, None
        self._stale = self._refused = self._slow = 0
        if cleared is not None:
            logger.info("risk breaker %s resumed by command", cleared.kind)
        return cleared

    # -- hooks ----------------------------------------------------------------------------------

    def on_equity(self, equity_micro: float, tick_ns: int) -> Trip | None:
        """Check the loss limits at a tick with the ledger's equity (P&L so far, fees included)."""
        day = tick_ns // _DAY_NS
        if self._episode_start is None:
            self._episode_start = equity_micro
        self._episode_pnl = equity_micro - self._episode_start
        total = self._carried + self._episode_pnl
        if self._day is None or self._day[0] != day:
            self._day = (day, total)
        if self.tripped is not None:
            return None
        episode_loss = -self._episode_pnl / 1e6
        day_loss = (self._day[1] - total) / 1e6
        limits = self.limits
        if limits.max_loss_episode is not None and episode_loss > limits.max_loss_episode:
            reason = (
                f"episode loss ${episode_loss:.2f} exceeds max_loss_episode ${limits.max_loss_episode:.2f}"
            )
            return self.trip("loss_episode", reason, tick_ns)
        if limits.max_loss_day is not None and day_loss > limits.max_loss_day:
            reason = f"loss today ${day_loss:.2f} exceeds max_loss_day ${limits.max_loss_day:.2f}"
            return self.trip("loss_day", reason, tick_ns)
        return None

    def on_stale(self, tick_ns: int) -> Trip | None:
        """A tick found the book stale (no observation)."""
        self._stale += 1
        n = self.limits.stale_ticks
        if n is not None and self._stale >= n and self.tripped is None:
            return self.trip("stale_book", f"book stale for {self._stale} ticks in a row", tick_ns)
        return None

    def on_fresh(self) -> None:
        self._stale = 0

    def may_send(self, now_ns: int) -> bool:
        """Whether one more order fits the per-minute rate (``sent`` records it)."""
        limit = self.limits.max_orders_per_minute
        if limit is None:
            return True
        while self._sent and self._sent[0] <= now_ns - _MINUTE_NS:
            self._sent.popleft()
        if len(self._sent) >= limit:
            self.rate_limited += 1
            return False
        return True

    def sent(self, now_ns: int, refused: bool, tick_ns: int) -> Trip | None:
        """An order was sent at ``now_ns`` (monotonic) and acknowledged or refused."""
        if self.limits.max_orders_per_minute is not None:
            self._sent.append(now_ns)
        self._refused = self._refused + 1 if refused else 0
        k = self.limits.refused_orders
        if k is not None and self._refused >= k and self.tripped is None:
            return self.trip("refused_orders", f"{self._refused} orders refused in a row", tick_ns)
        return None

    def on_latency(self, elapsed_ms: float, tick_ns: int) -> Trip | None:
        """A decision took ``elapsed_ms`` from its tick."""
        limit = self.limits.latency_ms
        if limit is None:
            return None
        self._slow = self._slow + 1 if elapsed_ms > limit else 0
        if self._slow >= self.limits.latency_ticks and self.tripped is None:
            reason = f"decision latency above {limit:g} ms for {self._slow} ticks in a row"
            return self.trip("latency", reason, tick_ns)
        return None

    def record(self) -> dict[str, Any]:
        """What the episode keeps: the limits, every trip, the one in force at the end."""
        return {
            "limits": self.limits.as_dict(),
            "trips": [t.as_dict() for t in self.trips],
            "tripped_at_end": self.tripped.as_dict() if self.tripped else None,
            "rate_limited": self.rate_limited,
        }
