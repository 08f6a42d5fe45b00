"""Rolling series on a clock the test moves: roll-over order and timing in exchange time, names.

Every expectation is computed from the ``SeriesSpec`` and ``SimConfig`` alone
(``series_support.planned``), never read back from the exchange: market ``k`` is created at
``start + k * roll``, opens ``open_delay`` later, closes ``roll + overlap`` after its open, is
determined and settled after the configured delays. What the exchange did is its
``Ledger.actions()`` (stamped with exchange time) and the ``created`` frames' fields.
"""

from __future__ import annotations

import gc
import itertools
import math
import re
import tracemalloc

import pytest

from kalshi_rl.core.errors import ConfigError
from kalshi_rl.sim import SeriesSpec, SimConfig
from kalshi_rl.sim.catalog import rolling_event_ticker
from kalshi_rl.sim.market import FINALIZED, TRADING
from kalshi_rl.sim.model import MarketModel
from kalshi_rl.sim.rest_query import STATUS_FILTERS

from .series_support import T0, ManualClock, advance, planned, rolling_exchange

BTC = SeriesSpec("KXBTC15M", roll_seconds=2.0, overlap_seconds=0.5)
TIMING = {"open_delay_s": 1.0, "determination_delay_s": 0.2, "settlement_delay_s": 0.3}


def test_each_market_is_created_opened_closed_determined_and_settled_on_the_series_timetable() -> None:
    clock = ManualClock()
    exchange = rolling_exchange(clock, BTC, **TIMING)
    trading_counts: set[int] = set()
    while clock.now_ms < T0 + 21_000:
        advance(exchange, clock, clock.now_ms + 10)
        trading_counts.add(sum(m.status == TRADING for m in exchange.markets.values()))

    plan = list(itertools.islice(planned(BTC, exchange.config), 11))  # created at 0, 2, ..., 20 s
    steps: dict[str, list[tuple[str, int]]] = {}
    for action in exchange.ledger.actions():
        if action.target is not None and action.action != "event_created":
            steps.setdefault(action.target, []).append((action.action, action.at_ms))
    assert list(steps) == [p.ticker for p in plan]  # created in order, nothing else
    for p in plan:
        expected = [
            ("created", p.created_ms),
            ("opened", p.open_ms),
            ("closed", p.close_ms),
            ("determined", p.determined_ms),
            ("settled", p.settled_ms),
        ]
        done = [step for step in expected if step[1] <= clock.now_ms]
        assert steps[p.ticker] == done, p.ticker
    # two markets trade during each 0.5 s overlap, one otherwise (none before the first opens)
    assert trading_counts == {0, 1, 2}
    created = {a.target: a.fields for a in exchange.ledger.actions("created")}
    assert created[plan[3].ticker]["open_ts"] == plan[3].open_ms // 1000
    assert created[plan[3].ticker]["close_ts"] == plan[3].close_ms // 1000


def test_a_late_clock_delays_roll_overs_but_never_moves_the_timetable() -> None:
    clock = ManualClock()
    exchange = rolling_exchange(clock, BTC, **TIMING)
    advance(exchange, clock, T0 + 9_000, step_ms=9_000)  # one tick 9 s late
    plan = list(itertools.islice(planned(BTC, exchange.config), 5))  # due at 0, 2, 4, 6, 8 s
    assert [m.ticker for m in exchange.markets.values()] == [p.ticker for p in plan]
    for p in plan:
        market = exchange.markets[p.ticker]
        assert (market.timing.open_ms, market.timing.close_ms) == (p.open_ms, p.close_ms)
        assert market.status in STATUS_FILTERS[p.status_at(clock.now_ms) or ""], p.ticker
    # every step of the markets made late was still taken, in order, and frames went out for them
    late = [a.action for a in exchange.ledger.actions() if a.target == plan[0].ticker]
    assert late == ["created", "opened", "closed", "determined", "settled"]


def test_two_series_roll_at_their_own_pace_and_interleave_in_time_order() -> None:
    eth = SeriesSpec("KXETH1M", roll_seconds=0.5)
    clock = ManualClock()
    exchange = rolling_exchange(clock, BTC, eth, **TIMING)
    advance(exchange, clock, T0 + 6_000)
    created = [(a.at_ms, a.target) for a in exchange.ledger.actions("created")]
    expected = sorted(
        [(p.created_ms, 0, p.ticker) for p in itertools.islice(planned(BTC, exchange.config), 4)]
        + [(p.created_ms, 1, p.ticker) for p in itertools.islice(planned(eth, exchange.config), 13)]
    )  # on a tie the series given first goes first
    assert created == [(at, ticker) for at, _, ticker in expected]
    assert set(exchange.catalog.series) == {"KXBTC15M", "KXETH1M"}
    assert {exchange.catalog.series_of(exchange.markets[t]).ticker for _, t in created} == {
        "KXBTC15M",
        "KXETH1M",
    }


def test_tickers_read_like_kalshis_short_series_and_are_fixed_by_the_seed() -> None:
    def first_markets(seed: int, *specs: SeriesSpec) -> list[tuple[str, str]]:
        clock = ManualClock()
        exchange = rolling_exchange(clock, *specs, seed=seed, **TIMING)
        advance(exchange, clock, T0 + 4_000)
        return [(m.ticker, m.market_id) for m in exchange.markets.values()]

    btc = first_markets(7, BTC)
    assert [t for t, _ in btc] == [
        "KXBTC15M-26JAN080015-15",  # 15 minutes after midnight of the seed's day, minute suffix
        "KXBTC15M-26JAN080030-30",
        "KXBTC15M-26JAN080045-45",
    ]
    assert first_markets(7, BTC) == btc  # same seed, same tickers and market ids
    assert first_markets(8, BTC)[0][0] == "KXBTC15M-26JAN090015-15"
    pattern = re.compile(r"^KXETH1M-\d{2}[A-Z]{3}\d{6}-\d{2}$")
    eth = [t for t, _ in first_markets(7, SeriesSpec("KXETH1M", 0.5))]
    assert eth[:2] == ["KXETH1M-26JAN080001-01", "KXETH1M-26JAN080002-02"]
    assert all(pattern.match(t) for t in eth)
    assert rolling_event_ticker(7, "KXETH1M", 1, 1_439) == "KXETH1M-26JAN090000"  # the next day
    # a name without a period suffix steps by the roll period rounded up to a minute
    assert [t for t, _ in first_markets(7, SeriesSpec("KXRATE", 90.0))] == ["KXRATE-26JAN080002-02"]
    several = [t for t, _ in first_markets(7, SeriesSpec("KXRANGE1H", 2.0, markets_per_event=3))]
    assert several[:3] == [
        "KXRANGE1H-26JAN080100-M00",
        "KXRANGE1H-26JAN080100-M01",
        "KXRANGE1H-26JAN080100-M02",
    ]


@pytest.mark.parametrize(
    ("text", "roll", "expected"),
    [
        ("KXBTC15M:900", None, SeriesSpec("KXBTC15M", 900.0)),
        ("KXBTC15M:2:0.5", None, SeriesSpec("KXBTC15M", 2.0, 0.5)),
        ("KXETH1M", 60.0, SeriesSpec("KXETH1M", 60.0)),
    ],
)
def test_series_spec_parses_the_cli_syntax(text: str, roll: float | None, expected: SeriesSpec) -> None:
    assert SeriesSpec.parse(text, roll) == expected


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SeriesSpec.parse("KXBTC15M"), "needs a roll period"),
        (lambda: SeriesSpec.parse("KXBTC15M:1:2:3"), "TICKER"),
        (lambda: SeriesSpec.parse("KXBTC15M:soon"), "must be seconds"),
        (lambda: SeriesSpec("KXBTC15M", 0.0), "roll_seconds"),
        (lambda: SeriesSpec("KXBTC15M", 1.0, -1.0), "overlap_seconds"),
        (lambda: SeriesSpec("kxbtc", 1.0), "upper-case"),
        (lambda: SeriesSpec("KXBTC", 1.0, markets_per_event=0), "markets_per_event"),
        (lambda: SimConfig(rolling=(BTC, BTC)), "once"),
        (lambda: SimConfig(keep_settled=0), "keep_settled"),
    ],
)
def test_rolling_settings_are_checked(make: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()  # type: ignore[operator]


def test_a_settled_market_is_released_and_only_the_last_settled_ones_are_kept() -> None:
    clock = ManualClock()
    exchange = rolling_exchange(clock, BTC, keep_settled=3, **TIMING)
    advance(exchange, clock, T0 + 30_000)
    plan = list(itertools.islice(planned(BTC, exchange.config), 16))
    settled = [p.ticker for p in plan if p.settled_ms <= clock.now_ms]
    assert len(settled) > 5
    held = exchange.markets
    assert [t for t in settled if t in held] == settled[-3:]  # the last three settled are kept
    for ticker in settled[-3:]:
        market = held[ticker]
        assert market.status == FINALIZED and market.released and market.result in ("yes", "no")
        assert exchange.book(ticker) == ([], [])
    assert all(not held[p.ticker].released for p in plan if p.ticker in held and p.ticker not in settled)
    assert set(exchange.events) == {held[t].event_ticker for t in held}  # forgotten events went too


def test_memory_stays_flat_over_thousands_of_roll_overs() -> None:
    """Two series roll 3,800 times in 47 minutes of exchange time (seconds of real time): what
    the exchange holds stays within a bound fixed by the settings, every settled market's
    model is gone, and traced memory stops growing (a market kept by mistake costs kilobytes:
    its model, two random generators, its book)."""
    eth = SeriesSpec("KXETH1M", roll_seconds=1.0, overlap_seconds=0.5)
    btc = SeriesSpec("KXBTC15M", roll_seconds=3.0, overlap_seconds=0.5)
    keep = 5
    clock = ManualClock()
    exchange = rolling_exchange(
        clock, eth, btc, keep_settled=keep, max_actions=500, record_ledger=False, **TIMING
    )
    # a market lives open_delay + roll + overlap + determination + settlement seconds
    lives = [1.0 + spec.roll_seconds + spec.overlap_seconds + 0.5 for spec in (eth, btc)]
    live_bound = sum(
        math.ceil(life / spec.roll_seconds) + 1 for life, spec in zip(lives, (eth, btc), strict=True)
    )
    held_bound = live_bound + 2 * keep

    def check() -> None:
        catalog = exchange.catalog
        assert len(catalog.markets) == len(catalog.market_list) <= held_bound
        assert len(catalog.events) <= held_bound and len(exchange.market_ids) <= held_bound
        assert len(exchange.lifecycle.live) <= live_bound
        assert len(exchange.ledger.actions()) <= 500
        assert all(m.released == (m.status == FINALIZED) for m in catalog.market_list)

    for minute in range(1, 38):
        advance(exchange, clock, T0 + minute * 60_000, step_ms=250)
        check()
    gc.collect()
    tracemalloc.start()
    try:
        advance(exchange, clock, clock.now_ms + 150_000, step_ms=250)  # warm up under tracing
        gc.collect()
        traced, before = tracemalloc.get_traced_memory()[0], exchange.catalog.created
        advance(exchange, clock, clock.now_ms + 450_000, step_ms=250)
        gc.collect()
        grown, rolled = tracemalloc.get_traced_memory()[0] - traced, exchange.catalog.created - before
    finally:
        tracemalloc.stop()
    check()
    assert exchange.catalog.created > 3_500 and rolled == 600
    assert grown < 100 * rolled, f"{grown} bytes more after {rolled} more markets"
    models = sum(isinstance(o, MarketModel) for o in gc.get_objects())
    assert models == len(exchange.lifecycle.live)
