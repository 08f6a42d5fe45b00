"""No look-ahead: cutting the data after time t changes no observation at or before t."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_rl.data.replay.lake import MarketMeta, Segment
from kalshi_rl.environments.tape import record_tape
from tests.environments.conftest import SECOND, T0, make_segment

FULL = make_segment(seconds=90, seed=7)
META = MarketMeta("KX-A")


def truncated(segment: Segment, cut_ns: int) -> Segment:
    keep = segment.ts_ns <= cut_ns
    return Segment(
        segment.market_ticker,
        segment.segment,
        segment.snapshot_ns,
        segment.yes_bids,
        segment.no_bids,
        segment.ts_ns[keep],
        segment.is_yes[keep],
        segment.price_ticks[keep],
        segment.delta_units[keep],
        cut_ns,
        "window_end",
    )


@settings(max_examples=40, deadline=None)
@given(cut_s=st.floats(min_value=2.0, max_value=89.0))
def test_observations_up_to_t_ignore_everything_after_t(cut_s: float) -> None:
    cut_ns = T0 + int(cut_s * SECOND)
    full = record_tape(FULL, META, SECOND, 50_000_000, T0)
    cut = record_tape(truncated(FULL, cut_ns), META, SECOND, 0, T0)
    assert full is not None and cut is not None
    seen = full.tick_ns <= cut_ns
    count = int(seen.sum())
    assert count >= 1
    assert np.array_equal(full.tick_ns[:count], cut.tick_ns[:count])
    assert np.array_equal(full.features[:count], cut.features[:count])
    assert np.array_equal(full.marks[:count], cut.marks[:count], equal_nan=True)


def test_orders_execute_on_the_book_after_the_decision() -> None:
    tape = record_tape(FULL, META, SECOND, 400_000_000, T0)
    instant = record_tape(FULL, META, SECOND, 0, T0)
    assert tape is not None and instant is not None
    later = [
        k
        for k in range(len(tape) - 1)
        if not np.array_equal(tape.asks[next(iter(tape.asks))][k], instant.asks[next(iter(instant.asks))][k])
    ]
    assert later, "with 400 ms of latency some orders must meet a book that moved after the decision"
