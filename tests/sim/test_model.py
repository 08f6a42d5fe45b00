"""The market model: exact values on the grid, an uncrossed book, determinism per seed."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_rl.core.errors import BookError
from kalshi_rl.core.events import Side
from kalshi_rl.core.units import PRICE_SCALE
from kalshi_rl.sim.book import SimBook
from kalshi_rl.sim.grid import GRID, is_on_grid, ladder_down, price_ranges_json, snap_down
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
    lag=st.sampled_from([0.0, 5.0, 40.0, 400.0]),
    taker_rate=st.sampled_from([0.0, 0.12, 0.6]),
    low=st.sampled_from([0.01, 0.3, 0.9]),
)
def test_model_keeps_the_book_exact_and_uncrossed(seed, lag, taker_rate, low):
    config = MarketModelConfig(
        quote_lag_halflife_events=lag, taker_rate=taker_rate, initial_probability_range=(low, low + 0.05)
    )
    model = MarketModel(config, seed)
    mirror = {Side.YES: dict(model.book.levels(Side.YES)), Side.NO: dict(model.book.levels(Side.NO))}
    for i in range(3_000):
        for event in model.step(i / 3_000):
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
    def run(seed: int) -> list:
        model = MarketModel(MarketModelConfig(), seed)
        return [event for _ in range(2_000) for event in model.step(0.0)]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_quote_center_lags_the_latent_value():
    config = MarketModelConfig(quote_lag_halflife_events=200.0, volatility=0.05)
    model = MarketModel(config, seed=1)
    lagging = MarketModel(dataclasses.replace(config, quote_lag_halflife_events=0.0), seed=1)
    gaps, none = [], []
    for _ in range(2_000):
        model.step()
        lagging.step()
        gaps.append(abs(model.probability - model.quote_center))
        none.append(abs(lagging.probability - lagging.quote_center))
    assert max(none) == 0.0
    assert sum(gaps) / len(gaps) > 0.005
