"""``Tape``: one segment replayed once, sampled at every tick, ready for fast env steps.

For each tick ``t`` of a segment the tape holds what an agent may see at ``t`` (the book
features from ``compute_book_features``, built from an ``OrderbookState`` that has applied every
delta received at or before ``t``, exactly as the live path does) and what its order would meet
``latency`` later (the best asks of both sides at ``t + latency``). Recording walks the deltas
once in time order, so the observation at ``t`` cannot contain anything received after ``t``.
A tape also carries its market's fee schedule changes, so a fill is charged the schedule in
force when it executes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kalshi_rl.core.events import Side
from kalshi_rl.core.fee_schedule import DEFAULT_FEE_SCHEDULE, FeeSchedule
from kalshi_rl.core.units import PRICE_SCALE
from kalshi_rl.data.book.orderbook_state import OrderbookState
from kalshi_rl.data.replay.lake import MarketMeta, Segment
from kalshi_rl.environments.observation_space import (
    OBSERVATION_SPEC,
    MidHistory,
    ObservationSpec,
    compute_book_features,
    mid_ticks,
)

EXEC_DEPTH = 10


@dataclass
class Tape:
    """Per-tick arrays for one segment (K ticks)."""

    market_ticker: str
    segment: int
    tick_ns: np.ndarray  # (K,) int64
    features: np.ndarray  # (K, book features) float32
    marks: np.ndarray  # (K,) float64 YES mid in ticks (nan when unknown)
    asks: dict[Side, np.ndarray]  # side -> (K, EXEC_DEPTH, 2) int64 [price in that side's frame, size]
    settlement_ticks: int | None  # set when the tape runs to a close whose result is known
    close_time_ms: int | None
    fees: tuple[tuple[int, FeeSchedule], ...] = ((0, DEFAULT_FEE_SCHEDULE),)
    """(effective from, ns; schedule) in time order; the first one applies from the tape's start."""

    def __len__(self) -> int:
        return len(self.tick_ns)

    def ask_levels(self, side: Side, k: int) -> list[tuple[int, int]]:
        rows = self.asks[side][k]
        return [(int(p), int(s)) for p, s in rows if s > 0]


def _record_asks(book: OrderbookState, out: dict[Side, np.ndarray], k: int) -> None:
    for side, ladder in ((Side.YES, book.no_bids), (Side.NO, book.yes_bids)):
        for j, (bid, size) in enumerate(ladder.top(EXEC_DEPTH)):
            out[side][k, j, 0] = PRICE_SCALE - bid
            out[side][k, j, 1] = size


def record_tape(
    segment: Segment,
    meta: MarketMeta,
    tick_ns: int,
    latency_ns: int,
    start_ns: int,
    spec: ObservationSpec = OBSERVATION_SPEC,
) -> Tape | None:
    """Sample ``segment`` every ``tick_ns`` from ``start_ns``; None if no tick fits."""
    if not 0 <= latency_ns < tick_ns:
        raise ValueError("the latency must be shorter than a tick")
    close_ns = meta.close_time_ms * 1_000_000 if meta.close_time_ms is not None else None
    last_ns = segment.end_ns if close_ns is None else min(segment.end_ns, close_ns)
    first = max(segment.snapshot_ns, start_ns)
    first += (-first) % tick_ns  # on the tick grid
    if first + latency_ns > last_ns:
        return None
    ticks = np.arange(first, last_ns - latency_ns + 1, tick_ns, dtype=np.int64)
    n_ticks = len(ticks)
    features = np.zeros((n_ticks, len(spec.book_features)), dtype=np.float32)
    marks = np.full(n_ticks, np.nan)
    asks = {side: np.zeros((n_ticks, EXEC_DEPTH, 2), dtype=np.int64) for side in Side}
    book = segment.book_at_start()
    history = MidHistory(spec)
    ts = segment.ts_ns
    sides = segment.is_yes.tolist()
    prices = segment.price_ticks.tolist()
    deltas = segment.delta_units.tolist()
    apply = book.apply_delta
    cursor, total = 0, len(ts)

    def advance_to(when: int) -> None:
        nonlocal cursor
        stop = int(np.searchsorted(ts, when, side="right"))
        for i in range(cursor, stop):
            apply(Side.YES if sides[i] else Side.NO, prices[i], deltas[i])
        if stop > cursor:
            book.last_update_ns = int(ts[stop - 1])
        cursor = stop

    close_ms = meta.close_time_ms
    for k, t in enumerate(ticks.tolist()):
        advance_to(t)
        history.record(mid_ticks(book))
        built = compute_book_features(book, history, t // 1_000_000, close_ms, spec)
        features[k] = built.values
        if built.mark_ticks is not None:
            marks[k] = built.mark_ticks
        if cursor < total or latency_ns:
            advance_to(t + latency_ns)
        _record_asks(book, asks, k)
    reaches_close = close_ns is not None and segment.end_ns >= close_ns - tick_ns
    settlement = meta.settlement_ticks if reaches_close else None
    fees = fee_changes(meta, first, last_ns)
    return Tape(
        segment.market_ticker, segment.segment, ticks, features, marks, asks, settlement, close_ms, fees
    )


def fee_changes(meta: MarketMeta, first_ns: int, last_ns: int) -> tuple[tuple[int, FeeSchedule], ...]:
    """The market's schedule at ``first_ns`` and its changes up to ``last_ns``."""
    if not meta.fees:
        return ((first_ns, DEFAULT_FEE_SCHEDULE),)
    current = meta.fees[0][1]  # the first known one if the data starts after first_ns
    inside = []
    for at_ns, schedule in meta.fees:
        if at_ns <= first_ns:
            current = schedule
        elif at_ns <= last_ns:
            inside.append((at_ns, schedule))
    return ((first_ns, current), *inside)
