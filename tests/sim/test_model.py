"""The market model: exact values on the grid, an uncrossed book, determinism per seed,
a realistic delta mix and the documented momentum edge (on by default, off with half-life 0)."""

from __future__ import annotations

import dataclasses
import itertools
import statistics
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_rl.core.errors import BookError
from kalshi_rl.core.events import Side
from kalshi_rl.core.units import PRICE_SCALE
from kalshi_rl.sim.book import SimBook
from kalshi_rl.sim.grid import GRID, is_on_grid, ladder_down, price_ranges_json, snap_down, snap_nearest
from kalshi_rl.sim.model import MarketModel, MarketModelConfig, ModelDelta, ModelTrade


def test_grid_is_tapered_deci_cent():
    assert price_ranges_json() == [
        {"start": "0.0000", "end": "0.1000", "step": "0.0010"},
        {"start": "0.1000", "end": "0.9000", "step": "0.0100"},
        {"start": "0.9000", "end": "1.0000", "step": "0.0010"},
    ]
    assert GRID[:3] == (10, 20, 30)
    assert 520 in GRID
    assert 1_050 not in GRID
    assert 9_990 in GRID
    assert PRICE_SCALE not in GRID
    assert snap_down(1_099) == 1_000
    assert snap_down(9_005) == 9_000
    assert snap_down(5) is None
    assert ladder_down(1_000, 3) == [1_000, 990, 980]
    assert snap_nearest(5_049) == 5_000
    assert snap_nearest(5_051) == 5_100
    assert snap_nearest(1_040) == 1_000
    assert snap_nearest(996) == 1_000
    assert snap_nearest(5) == 10
    assert snap_nearest(9_999) == 9_990


def test_book_refuses_negative_levels_and_crossing():
    book = SimBook()
    book.apply(Side.YES, 4_000, 150)
    book.apply(Side.NO, 5_900, 10)
    with pytest.raises(BookError):
        book.apply(Side.YES, 4_000, -151)
    with pytest.raises(BookError):
        book.apply(Side.NO, 6_000, 1)  # 0.40 + 0.60 = $1: crossed
    with pytest.raises(BookError):
        book.apply(Side.YES, 4_050, 1)  # off the grid
    book.apply(Side.YES, 4_000, -150)
    assert book.levels(Side.YES) == []
    assert book.best(Side.YES) is None


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    lag=st.sampled_from([0.0, 0.5, 20.0, 200.0]),
    jump_rate=st.sampled_from([0.0, 1 / 45, 2.0]),
    taker_rate=st.sampled_from([0.0, 0.12, 0.6]),
    low=st.sampled_from([0.01, 0.3, 0.9]),
    clock=st.sampled_from([None, 10, 250]),
)
def test_model_keeps_the_book_exact_and_uncrossed(seed, lag, jump_rate, taker_rate, low, clock):
    config = MarketModelConfig(
        quote_lag_halflife_s=lag,
        jump_rate_per_s=jump_rate,
        taker_rate=taker_rate,
        initial_probability_range=(low, low + 0.05),
    )
    model = MarketModel(config, seed)
    mirror = {Side.YES: dict(model.book.levels(Side.YES)), Side.NO: dict(model.book.levels(Side.NO))}
    for i in range(3_000):
        for event in model.step(i / 3_000, None if clock is None else i * clock):
            if isinstance(event, ModelDelta):
                assert is_on_grid(event.price_ticks)
                assert event.delta_units != 0
                size = mirror[event.side].get(event.price_ticks, 0) + event.delta_units
                assert size >= 0
                if size:
                    mirror[event.side][event.price_ticks] = size
                else:
                    del mirror[event.side][event.price_ticks]
            else:
                assert isinstance(event, ModelTrade)
                assert event.count_units > 0
                assert 0 < event.yes_price_ticks < PRICE_SCALE
        best_yes, best_no = model.book.best(Side.YES), model.book.best(Side.NO)
        assert best_yes is None or best_no is None or best_yes + best_no < PRICE_SCALE
    assert sorted(mirror[Side.YES].items()) == model.book.levels(Side.YES)
    assert sorted(mirror[Side.NO].items()) == model.book.levels(Side.NO)


def test_a_trade_follows_the_delta_that_took_the_resting_size():
    model = MarketModel(MarketModelConfig(taker_rate=1.0, informed_taker_share=0.0), seed=3)
    events = []
    while not events:
        events = model.step()
    delta, trade = events
    assert isinstance(delta, ModelDelta)
    assert isinstance(trade, ModelTrade)
    assert delta.side is trade.taker_side.opposite
    assert delta.delta_units == -trade.count_units
    expected_yes = delta.price_ticks if delta.side is Side.YES else PRICE_SCALE - delta.price_ticks
    assert trade.yes_price_ticks == expected_yes


def test_same_seed_same_events_and_other_seed_other_events():
    def run(seed: int, clocked: bool) -> list:
        model = MarketModel(MarketModelConfig(), seed)
        return [event for i in range(4_000) for event in model.step(i / 4_000, i * 7 if clocked else None)]

    for clocked in (False, True):
        assert run(5, clocked) == run(5, clocked)
        assert run(5, clocked) != run(6, clocked)


def test_event_time_drives_the_latent_value():
    config = MarketModelConfig(events_per_second=50.0, max_step_s=1.0)
    model = MarketModel(config, seed=2)
    start = model.probability
    for _ in range(500):  # the first clocked step sets the clock; the same instant again adds nothing
        model.step(0.0, 1_000_000)
    assert model.clock_s == 0.0
    assert model.probability == start
    model.step(0.0, 1_000_250)
    assert model.clock_s == pytest.approx(0.25)
    model.step(0.0, 1_060_250)  # a minute's gap (a pause) counts as max_step_s
    assert model.clock_s == pytest.approx(1.25)
    unclocked = MarketModel(config, seed=2)
    for _ in range(100):
        unclocked.step()
    assert unclocked.clock_s == pytest.approx(2.0)  # 100 steps at 50 events/s


def test_the_latent_path_depends_on_event_time_only():
    """However the events fall in time (or whether the edge is on), a seed's latent value is the same."""
    dense = MarketModel(MarketModelConfig(), seed=9)
    sparse = MarketModel(MarketModelConfig(taker_rate=0.5, quote_lag_halflife_s=0.0), seed=9)
    for i in range(6_001):  # one minute at 100 events/s ...
        dense.step(0.0, i * 10)
    for i in range(1_201):  # ... and at 20 events/s
        sparse.step(0.0, i * 50)
    assert dense.clock_s == pytest.approx(60.0)
    assert dense.probability == sparse.probability != MarketModel(MarketModelConfig(), seed=9).probability


def test_quote_center_lags_the_latent_value():
    config = MarketModelConfig(quote_lag_halflife_s=20.0)
    model = MarketModel(config, seed=1)
    at_once = MarketModel(dataclasses.replace(config, quote_lag_halflife_s=0.0), seed=1)
    gaps, none = [], []
    for i in range(30_000):  # 10 minutes at 50 events/s
        model.step(0.0, i * 20)
        at_once.step(0.0, i * 20)
        gaps.append(abs(model.probability - model.quote_center))
        none.append(abs(at_once.probability - at_once.quote_center))
    assert max(none) == 0.0
    assert sum(gaps) / len(gaps) > 0.02


def _delta_mix(config: MarketModelConfig, seed: int, steps: int) -> Counter[str]:
    model = MarketModel(config, seed)
    kinds: Counter[str] = Counter()
    for i in range(steps):
        for event in model.step(0.2, i * 10):
            if isinstance(event, ModelDelta):
                new = model.book.size(event.side, event.price_ticks)
                old = new - event.delta_units
                kinds["add" if old == 0 else "remove" if new == 0 else "update"] += 1
    return kinds


@pytest.mark.parametrize("lag", [20.0, 0.0])
def test_delta_mix_is_like_kalshi(lag):
    """Kalshi (a production capture): 62 % updates, 19 % adds, 19 % removes."""
    kinds = _delta_mix(MarketModelConfig(quote_lag_halflife_s=lag), seed=4, steps=60_000)
    total = sum(kinds.values())
    assert 0.12 <= kinds["add"] / total <= 0.28
    assert 0.12 <= kinds["remove"] / total <= 0.28
    assert 0.50 <= kinds["update"] / total <= 0.75


def _mid_change_autocorrelation(config: MarketModelConfig, seed: int, seconds: int, rate: int) -> float:
    """Lag-1 autocorrelation of non-overlapping 5-second changes of the mid, sampled from the book."""
    model = MarketModel(config, seed)
    book = model.book
    mids: list[float] = []
    n = 0
    for second in range(seconds):
        for _ in range(rate):
            model.step(0.0, n * 1000 // rate)
            n += 1
        if second % 5 == 0:
            best_yes, best_no = book.best(Side.YES), book.best(Side.NO)
            mids.append((best_yes + PRICE_SCALE - best_no) / 2 if best_yes and best_no else mids[-1])
    changes = [after - before for before, after in itertools.pairwise(mids)]
    mean = statistics.fmean(changes)
    var = statistics.fmean([(c - mean) ** 2 for c in changes])
    cov = statistics.fmean([(a - mean) * (b - mean) for a, b in itertools.pairwise(changes)])
    return cov / var


@pytest.mark.parametrize(("lag", "low", "high"), [(20.0, 0.4, 1.0), (0.0, -1.0, 0.15)])
def test_the_mid_has_momentum_with_the_edge_and_none_without(lag, low, high):
    """The documented edge: lagging makers turn news jumps into a mid that keeps drifting.

    With the default 20 s half-life 5-second mid changes are strongly positively
    autocorrelated; with half-life 0 the mid is a martingale (about 0, at most slightly
    positive from sampling noise).
    """
    config = MarketModelConfig(quote_lag_halflife_s=lag)
    assert low < _mid_change_autocorrelation(config, seed=3, seconds=3_000, rate=30) < high
