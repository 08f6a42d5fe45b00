"""The one observation builder, shared by the training env and the paper-trading actor.

``build_observation_from_orderbook(orderbook_state, position_state, ...)`` turns a book (the
same ``OrderbookState`` class the live path keeps) and a position into a float32 vector whose
feature names, order, scaling and version are fixed by an ``ObservationSpec``. Scaling uses
fixed constants only (no fitted statistics), so a checkpoint needs nothing but the spec to
reproduce its inputs.

Features (version 1):

- top of book: YES bid, YES ask and mid (dollars), YES spread (x10; the NO spread is the same
  number, since both sides derive from the same two bid ladders), presence flags, log sizes
  at the best prices, the best-level size imbalance;
- depth: for each of the top ``depth`` YES bids and YES asks, the distance from the mid
  (dollars x10) and the log size (missing levels: distance 1, size 0);
- movement: the mid's change over the last ``move_windows`` ticks and the volatility of its
  one-tick changes over ``vol_window`` ticks (dollars x10), from a ``MidHistory`` sampled once
  per tick;
- time: log minutes to the market's close (when known) and log seconds since the last update;
- state: the book-stale flag; position (signed, as a share of the limit), average cost and
  unrealised P&L per contract at the mid.

Only events received at or before ``now`` are in the book, so nothing here can see the future.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import deque
from dataclasses import asdict, dataclass, field
from functools import cached_property

import numpy as np

from kalshi_rl.core.events import Side
from kalshi_rl.core.units import COUNT_SCALE, PRICE_SCALE
from kalshi_rl.data.book.orderbook_state import OrderbookState
from kalshi_rl.data.book.shared_state import SharedOrderbookState

_DOLLAR = float(PRICE_SCALE)
_LOG_SIZE = 10.0  # log1p(contracts) / 10: 22,000 contracts -> 1.0
_LOG_MINUTES = math.log1p(24 * 60)  # a day to close -> 1.0
_YES = Side.YES
OBSERVATION_BOUND = 10.0
"""Every feature is clipped to [-10, 10] (a $1 mid move over a window scales to 10)."""


@dataclass(frozen=True)
class ObservationSpec:
    """Names, order and scaling of the features; a checkpoint is bound to one spec."""

    name: str = "kalshi-book"
    version: int = 1
    depth: int = 5
    move_windows: tuple[int, ...] = (1, 5, 15, 60)
    vol_window: int = 15

    @cached_property
    def book_features(self) -> tuple[str, ...]:
        names = [
            "yes_bid",
            "yes_ask",
            "mid",
            "spread",
            "has_bid",
            "has_ask",
            "bid_size",
            "ask_size",
            "imbalance",
        ]
        for side in ("bid", "ask"):
            for i in range(self.depth):
                names += [f"{side}{i}_distance", f"{side}{i}_size"]
        names += [f"move_{n}" for n in self.move_windows]
        names += [f"volatility_{self.vol_window}", "time_to_close", "has_close_time", "since_update", "stale"]
        return tuple(names)

    @cached_property
    def position_features(self) -> tuple[str, ...]:
        return ("position", "average_cost", "unrealized")

    @cached_property
    def features(self) -> tuple[str, ...]:
        return self.book_features + self.position_features

    @cached_property
    def size(self) -> int:
        return len(self.features)

    @cached_property
    def history_ticks(self) -> int:
        return max(max(self.move_windows), self.vol_window) + 1

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["features"] = list(self.features)
        return data

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ObservationSpec:
        spec = cls(
            name=str(data["name"]),
            version=int(data["version"]),  # type: ignore[call-overload]
            depth=int(data["depth"]),  # type: ignore[call-overload]
            move_windows=tuple(data["move_windows"]),  # type: ignore[arg-type]
            vol_window=int(data["vol_window"]),  # type: ignore[call-overload]
        )
        if list(spec.features) != list(data.get("features", spec.features)):  # type: ignore[call-overload]
            raise ValueError("observation spec features do not match its parameters")
        return spec


OBSERVATION_SPEC = ObservationSpec()


class MidHistory:
    """The mid price sampled once per tick (ticks), for the movement features."""

    __slots__ = ("_mids",)

    def __init__(self, spec: ObservationSpec = OBSERVATION_SPEC) -> None:
        self._mids: deque[float] = deque(maxlen=spec.history_ticks)

    def record(self, mid_ticks: float | None) -> None:
        """Append this tick's mid (a missing mid repeats the last known one)."""
        if mid_ticks is None:
            if not self._mids:
                return
            mid_ticks = self._mids[-1]
        self._mids.append(mid_ticks)

    @property
    def last(self) -> float | None:
        return self._mids[-1] if self._mids else None

    def change(self, ticks_back: int) -> float:
        if len(self._mids) <= ticks_back:
            return 0.0
        return self._mids[-1] - self._mids[-1 - ticks_back]

    def volatility(self, window: int) -> float:
        """Population standard deviation of the last ``window`` one-tick changes."""
        count = min(window, len(self._mids) - 1)
        if count < 2:
            return 0.0
        mids = self._mids
        last = len(mids) - 1
        steps = [mids[last - i] - mids[last - i - 1] for i in range(count)]
        mean = sum(steps) / count
        return math.sqrt(sum((x - mean) ** 2 for x in steps) / count)

    def clear(self) -> None:
        self._mids.clear()


def mid_ticks(book: OrderbookState) -> float | None:
    """The YES mid; with one side empty, the other side's best price; None if both are."""
    bid, ask = book.best_yes_bid, book.best_yes_ask
    if bid is not None and ask is not None:
        return (bid + ask) / 2
    return bid if bid is not None else ask


@dataclass
class PositionState:
    """What the observation needs to know about the agent's position in this market."""

    position_units: int = 0  # signed: + YES, - NO
    average_cost_ticks: float = 0.0  # per contract, in the held side's frame
    limit_units: int = 1


@dataclass(frozen=True)
class BookFeatures:
    """The book part of an observation at one tick, and the mid used to mark positions."""

    values: np.ndarray
    mark_ticks: float | None = field(default=None)


_MISSING_LEVEL = (1.0, 0.0)  # an absent level: distance 1, size 0


def _log_size(units: int) -> float:
    return math.log1p(units / COUNT_SCALE) / _LOG_SIZE


def compute_book_features(
    book: OrderbookState,
    history: MidHistory,
    now_ms: int,
    close_time_ms: int | None,
    spec: ObservationSpec = OBSERVATION_SPEC,
) -> BookFeatures:
    """Book features at ``now_ms`` (call ``history.record`` for this tick first)."""
    # Built as a list of floats and converted once: this runs on the actor's decision path,
    # where one numpy item assignment per feature costs more than the feature itself.
    bid, ask = book.best_yes_bid, book.best_yes_ask
    mid = mid_ticks(book)
    mark = mid if not book.stale else None
    if mid is None:
        mid = history.last if history.last is not None else PRICE_SCALE / 2
    sizes = book.volume_at_best
    bid_size, ask_size = sizes["yes_bid"], sizes["yes_ask"]
    values = [
        bid / _DOLLAR if bid is not None else 0.0,
        ask / _DOLLAR if ask is not None else 1.0,
        mid / _DOLLAR,
        min(1.0, (ask - bid) / _DOLLAR * 10) if bid is not None and ask is not None else 1.0,
        1.0 if bid is not None else 0.0,
        1.0 if ask is not None else 0.0,
        _log_size(bid_size),
        _log_size(ask_size),
        (bid_size - ask_size) / (bid_size + ask_size) if bid_size + ask_size else 0.0,
    ]
    depth = spec.depth
    for levels, sign in ((book.top_bids(_YES, depth), 1.0), (book.top_asks(_YES, depth), -1.0)):
        for price, size in levels:
            values.append(sign * (mid - price) / _DOLLAR * 10)
            values.append(_log_size(size))
        values.extend(_MISSING_LEVEL * (depth - len(levels)))
    values.extend(history.change(n) / _DOLLAR * 10 for n in spec.move_windows)
    values.append(history.volatility(spec.vol_window) / _DOLLAR * 10)
    if close_time_ms is not None:
        minutes = max(0.0, (close_time_ms - now_ms) / 60_000)
        values += (min(1.0, math.log1p(minutes) / _LOG_MINUTES), 1.0)
    else:
        values += (0.0, 0.0)
    since_s = max(0.0, now_ms / 1000 - book.last_update_ns / 1e9) if book.last_update_ns else 0.0
    values.append(min(1.0, math.log1p(since_s) / 5))
    values.append(1.0 if book.stale else 0.0)
    return BookFeatures(np.array(values, dtype=np.float32), mark)


def position_features(position: PositionState, mark_ticks: float | None) -> np.ndarray:
    """Position features: signed share of the limit, average cost, unrealised P&L per contract."""
    out = np.zeros(3, dtype=np.float32)
    units = position.position_units
    if units == 0:
        return out
    out[0] = units / max(1, position.limit_units)
    out[1] = position.average_cost_ticks / _DOLLAR
    if mark_ticks is not None:
        value = mark_ticks if units > 0 else PRICE_SCALE - mark_ticks
        out[2] = (value - position.average_cost_ticks) / _DOLLAR * 10
    return out


def build_observation_from_orderbook(
    orderbook_state: OrderbookState | BookFeatures,
    position_state: PositionState,
    *,
    history: MidHistory | None = None,
    now_ms: int = 0,
    close_time_ms: int | None = None,
    spec: ObservationSpec = OBSERVATION_SPEC,
) -> np.ndarray:
    """Return the observation for a book and a position (the only observation builder).

    ``orderbook_state`` is the live ``OrderbookState`` (the actor; pass the ``history`` already
    updated for this tick) or the ``BookFeatures`` that ``compute_book_features`` made for this
    tick from a replayed ``OrderbookState`` (the env precomputes them once per episode).
    """
    if isinstance(orderbook_state, BookFeatures):
        book = orderbook_state
    else:
        if history is None:
            raise ValueError("a live book needs the tick's MidHistory")
        book = compute_book_features(orderbook_state, history, now_ms, close_time_ms, spec)
    observation = np.concatenate((book.values, position_features(position_state, book.mark_ticks)))
    return np.clip(observation, -OBSERVATION_BOUND, OBSERVATION_BOUND, out=observation)


class LiveObserver:
    """Observations of a live shared book on the env's tick grid, by the tape's rules.

    Like a training tape, it starts each gap-free segment with an empty ``MidHistory`` at the
    first tick at or after the segment's snapshot, records one mid per tick, and observes
    nothing while the book is stale -- so the actor sees what the env would have shown.
    """

    def __init__(self, tick_ns: int, spec: ObservationSpec = OBSERVATION_SPEC) -> None:
        self.tick_ns = tick_ns
        self.spec = spec
        self.history = MidHistory(spec)
        self._segment = 0
        self._first_tick_ns = 0

    @property
    def segment(self) -> int:
        """The gap-free segment observed last (0: none): a new one starts afresh, as a new
        training episode does (a recurrent policy's state is reset with it)."""
        return self._segment

    def observe(
        self, shared: SharedOrderbookState, position: PositionState, tick_ns: int
    ) -> np.ndarray | None:
        """The observation at ``tick_ns`` (a tick on the grid), or None if there is none."""
        book = shared.state
        if book.stale or shared.segment == 0:
            self._segment = 0
            return None
        if shared.segment != self._segment:
            self._segment = shared.segment
            self.history.clear()
            start = shared.segment_start_ns
            self._first_tick_ns = start + (-start) % self.tick_ns
        if tick_ns < self._first_tick_ns:
            return None
        self.history.record(mid_ticks(book))
        return self._build(shared, position, tick_ns)

    def peek(self, shared: SharedOrderbookState, position: PositionState, tick_ns: int) -> np.ndarray | None:
        """An observation of the book as it is, recording nothing: the actor runs it while it
        waits for a tick, so that the tick's own pass through this code finds warm caches."""
        if shared.state.stale or shared.segment == 0:
            return None
        return self._build(shared, position, tick_ns)

    def _build(self, shared: SharedOrderbookState, position: PositionState, tick_ns: int) -> np.ndarray:
        return build_observation_from_orderbook(
            shared.state,
            position,
            history=self.history,
            now_ms=tick_ns // 1_000_000,
            close_time_ms=shared.status.close_time_ms,
            spec=self.spec,
        )
