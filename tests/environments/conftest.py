"""Synthetic replay data: small, exact books whose every step is known."""

from __future__ import annotations

import numpy as np
import pytest

from kalshi_rl.data.replay.lake import MarketMeta, ReplayData, Segment

SECOND = 1_000_000_000
T0 = 1_800_000_000 * SECOND  # on the tick grid


def make_segment(
    market: str = "KX-A",
    segment: int = 1,
    seconds: int = 120,
    start_ns: int = T0,
    seed: int = 0,
    yes_top: int = 4_800,
    no_top: int = 5_000,
    end_reason: str = "data_end",
) -> Segment:
    """A book whose YES and NO best bids wander; a few deltas per second, all consistent."""
    rng = np.random.default_rng(seed)
    yes = {yes_top - 100 * i: 10_000 + 100 * i for i in range(5)}
    no = {no_top - 100 * i: 12_000 + 100 * i for i in range(5)}
    snapshot = (tuple(sorted(yes.items())), tuple(sorted(no.items())))
    ts, is_yes, price, delta = [], [], [], []
    for second in range(seconds):
        for j in range(3):
            t = start_ns + second * SECOND + (j + 1) * 250_000_000 + int(rng.integers(1000))
            side_yes = bool(rng.integers(2))
            book = yes if side_yes else no
            other = no if side_yes else yes
            top = max(book)
            if rng.random() < 0.5 and top + 100 + max(other) < 10_000:
                p, d = top + 100, int(rng.integers(1, 50)) * 100 + 37  # a new, better level (fractional)
            else:
                p = int(rng.choice(sorted(book)))
                d = -book[p] if rng.random() < 0.3 and len(book) > 2 else int(rng.integers(1, 20)) * 100
            book[p] = book.get(p, 0) + d
            if book[p] == 0:
                del book[p]
            ts.append(t)
            is_yes.append(side_yes)
            price.append(p)
            delta.append(d)
    end = start_ns + seconds * SECOND
    return Segment(
        market,
        segment,
        start_ns,
        *snapshot,
        np.asarray(ts, np.int64),
        np.asarray(is_yes, bool),
        np.asarray(price, np.int32),
        np.asarray(delta, np.int64),
        end,
        end_reason,
    )


def make_data(segments: list[Segment], meta: dict[str, MarketMeta] | None = None) -> ReplayData:
    markets = tuple(sorted({s.market_ticker for s in segments}))
    start = min(s.snapshot_ns for s in segments)
    end = max(s.end_ns for s in segments)
    return ReplayData(
        markets, start, end, segments, meta or {m: MarketMeta(m) for m in markets}, "test", "fp"
    )


@pytest.fixture
def two_markets() -> ReplayData:
    return make_data(
        [make_segment("KX-A", 1, seed=1), make_segment("KX-B", 2, seed=2, yes_top=3_000, no_top=6_500)]
    )
