"""FillEngine: walking the asks, consumed liquidity that fades in event time, a trade fee per match (level), seeded latency."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_rl.core.events import Level, Side
from kalshi_rl.core.fee_schedule import FeeSchedule, FeeType
from kalshi_rl.execution.fees import DIRECT_PRECISION_MICRO, FeeModel, FeePolicy
from kalshi_rl.execution.fill_engine import FillConfig, FillEngine

MS = 1_000_000  # ns per ms
FEES = FeeModel()  # Kalshi's general schedule: quadratic, multiplier 1

# YES asks with sub-cent ticks and a fractional size (678.99 contracts).
SUBCENT_ASKS: list[Level] = [(520, 67_899), (530, 10_000), (600, 50_000)]


def engine(**config: object) -> FillEngine:
    return FillEngine(FillConfig(**config), seed=0)  # type: ignore[arg-type]


# --- golden walks ----------------------------------------------------------------------------


def test_walk_across_sub_cent_levels_with_a_fractional_size() -> None:
    fill = engine().buy(Side.YES, 70_000, SUBCENT_ASKS, now_ns=0, fees=FEES)  # 700 contracts
    assert fill.side is Side.YES
    assert fill.requested_units == 70_000
    assert fill.filled_units == 70_000
    # Two matches: 678.99 @ $0.0520 (fee 0.07 x 678.99 x 0.052 x 0.948 = $2.3430043728 -> $2.343005),
    # then 21.01 @ $0.0530 (0.07 x 21.01 x 0.053 x 0.947 = $0.0738159037 -> $0.073816).
    assert fill.levels == ((520, 67_899, 2_343_005), (530, 2_101, 73_816))
    assert fill.cost_micro == 520 * 67_899 + 530 * 2_101 == 36_421_010
    assert fill.fee_micro == 2_343_005 + 73_816
    assert fill.best_ticks == 520
    assert fill.vwap_ticks == pytest.approx(36_421_010 / 70_000)
    assert fill.slippage_ticks == pytest.approx(36_421_010 / 70_000 - 520)


def test_order_inside_the_best_level_has_no_slippage() -> None:
    fill = engine().buy(Side.NO, 1_000, [(5_000, 5_000), (5_100, 5_000)], now_ns=0, fees=FEES)
    assert fill.levels == ((5_000, 1_000, 175_000),)
    assert fill.vwap_ticks == 5_000
    assert fill.slippage_ticks == 0.0


def test_order_larger_than_the_book_fills_partially() -> None:
    fill = engine().buy(Side.YES, 1_000_000, SUBCENT_ASKS, now_ns=0, fees=FEES)
    assert fill.requested_units == 1_000_000
    assert fill.filled_units == 67_899 + 10_000 + 50_000
    assert [units for _, units, _ in fill.levels] == [67_899, 10_000, 50_000]


def test_limit_price_stops_the_walk_before_a_worse_level() -> None:
    fill = engine().buy(Side.YES, 100_000, SUBCENT_ASKS, now_ns=0, limit_ticks=529, fees=FEES)
    assert fill.filled_units == 67_899
    assert [price for price, _, _ in fill.levels] == [520]


def test_limit_price_equal_to_a_level_includes_it() -> None:
    fill = engine().buy(Side.YES, 100_000, SUBCENT_ASKS, now_ns=0, limit_ticks=530, fees=FEES)
    assert fill.filled_units == 77_899


def test_limit_below_the_best_ask_fills_nothing_and_takes_nothing() -> None:
    eng = engine()
    fill = eng.buy(Side.YES, 1_000, SUBCENT_ASKS, now_ns=0, limit_ticks=519, fees=FEES)
    assert fill.filled_units == 0 and fill.levels == () and fill.fee_micro == 0 and fill.cost_micro == 0
    assert fill.vwap_ticks == 0.0 and fill.slippage_ticks == 0.0
    assert eng.available(Side.YES, SUBCENT_ASKS, 0) == SUBCENT_ASKS


def test_max_levels_bounds_a_market_order() -> None:
    fill = engine(max_levels=2).buy(Side.YES, 1_000_000, SUBCENT_ASKS, now_ns=0, fees=FEES)
    assert fill.filled_units == 77_899
    assert len(fill.levels) == 2


def test_max_levels_counts_displayed_levels_even_when_the_engine_emptied_them() -> None:
    eng = engine(max_levels=1)
    eng.buy(Side.YES, 67_899, SUBCENT_ASKS, now_ns=0, fees=FEES)
    assert eng.buy(Side.YES, 100, SUBCENT_ASKS, now_ns=0, fees=FEES).filled_units == 0


def test_empty_book_fills_nothing() -> None:
    fill = engine().buy(Side.YES, 100, [], now_ns=0, fees=FEES)
    assert fill.filled_units == 0 and fill.best_ticks is None and fill.levels == ()
    assert fill.vwap_ticks == 0.0 and fill.slippage_ticks == 0.0


@pytest.mark.parametrize("count_units", [0, -1])
def test_non_positive_order_is_refused(count_units: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        engine().buy(Side.YES, count_units, SUBCENT_ASKS, now_ns=0, fees=FEES)


def test_second_identical_order_walks_past_the_liquidity_the_first_took() -> None:
    eng = engine()
    first = eng.buy(Side.YES, 50_000, SUBCENT_ASKS, now_ns=0, fees=FEES)
    second = eng.buy(Side.YES, 50_000, SUBCENT_ASKS, now_ns=0, fees=FEES)
    assert first.levels == ((520, 50_000, FEES.trade_fee_micro(50_000, 520, True)),)
    assert [(p, u) for p, u, _ in second.levels] == [(520, 17_899), (530, 10_000), (600, 22_101)]
    assert second.best_ticks == 520  # slippage is measured against the displayed best
    assert eng.available(Side.YES, SUBCENT_ASKS, 0) == [(600, 27_899)]


def test_buying_yes_does_not_hide_no_asks() -> None:
    eng = engine()
    eng.buy(Side.YES, 10_000, [(520, 10_000)], now_ns=0, fees=FEES)  # takes the NO bid at $0.9480
    assert eng.available(Side.YES, [(520, 10_000)], 0) == []
    assert eng.available(Side.NO, [(520, 10_000)], 0) == [(520, 10_000)]


def test_selling_no_and_buying_yes_share_the_same_underlying_no_bids() -> None:
    # A YES ask at $0.30 is the NO bid at $0.70: both keys are (NO ladder, 7000).
    eng = engine()
    eng.buy(Side.YES, 4_000, [(3_000, 10_000)], now_ns=0, fees=FEES)
    assert eng.available(Side.YES, [(3_000, 8_000)], 0) == [(3_000, 4_000)]


def test_taken_liquidity_fades_linearly_over_restore_ms_of_event_time() -> None:
    eng = engine(restore_ms=1_000.0)
    asks = [(5_000, 10_000)]
    eng.buy(Side.YES, 10_000, asks, now_ns=1_000 * MS, fees=FEES)
    assert eng.available(Side.YES, asks, 1_000 * MS) == []
    assert eng.available(Side.YES, asks, 500 * MS) == []  # earlier event time: still taken
    assert eng.available(Side.YES, asks, 1_250 * MS) == [(5_000, 2_500)]
    assert eng.available(Side.YES, asks, 1_500 * MS) == [(5_000, 5_000)]
    assert eng.available(Side.YES, asks, 2_000 * MS) == [(5_000, 10_000)]
    assert eng.buy(Side.YES, 20_000, asks, now_ns=2_000 * MS, fees=FEES).filled_units == 10_000


def test_hidden_amount_rounds_up_so_liquidity_is_never_overstated() -> None:
    eng = engine(restore_ms=1_000.0)
    asks = [(5_000, 100)]
    eng.buy(Side.YES, 3, asks, now_ns=0, fees=FEES)
    assert eng.available(Side.YES, asks, 500 * MS) == [(5_000, 98)]  # 1.5 hidden -> 2


def test_zero_restore_frees_liquidity_as_soon_as_event_time_moves() -> None:
    eng = engine(restore_ms=0.0)
    asks = [(5_000, 100)]
    eng.buy(Side.YES, 100, asks, now_ns=0, fees=FEES)
    assert eng.available(Side.YES, asks, 0) == []
    assert eng.available(Side.YES, asks, 1) == asks


def test_reset_forgets_taken_liquidity() -> None:
    eng = engine()
    eng.buy(Side.YES, 67_899, SUBCENT_ASKS, now_ns=0, fees=FEES)
    eng.reset()
    assert eng.available(Side.YES, SUBCENT_ASKS, 0) == SUBCENT_ASKS


def test_engine_charges_the_fee_model_it_is_given_per_match() -> None:
    free = FeeModel(FeeSchedule(FeeType.QUADRATIC, Fraction(0)))
    assert engine().buy(Side.YES, 1_000, [(5_000, 1_000)], now_ns=0, fees=free).fee_micro == 0
    doubled = FeeModel(FeeSchedule(FeeType.QUADRATIC, Fraction(2)))
    assert engine().buy(Side.YES, 1_000, [(5_000, 1_000)], now_ns=0, fees=doubled).fee_micro == 350_000
    # 10 contracts over two levels are two matches, each rounded up on its own:
    # 5 @ $0.0012: 0.07 x 5 x 0.0012 x 0.9988 = $0.000419496 -> $0.000420;
    # 5 @ $0.0013: 0.07 x 5 x 0.0013 x 0.9987 = $0.0004544085 -> $0.000455 (one sum: $0.000874).
    split = engine().buy(Side.YES, 1_000, [(12, 500), (13, 500)], now_ns=0, fees=FEES)
    assert [fee for _, _, fee in split.levels] == [420, 455] and split.fee_micro == 875


def test_fixed_latency_needs_no_randomness() -> None:
    eng = engine(latency_min_ms=50.0, latency_max_ms=50.0)
    assert [eng.latency_ns() for _ in range(3)] == [50 * MS] * 3


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"latency_min_ms": 10.0, "latency_max_ms": 5.0}, id="min above max"),
        pytest.param({"latency_min_ms": -1.0, "latency_max_ms": 5.0}, id="negative latency"),
        pytest.param({"restore_ms": -1.0}, id="negative restore"),
        pytest.param({"max_levels": 0}, id="no levels"),
    ],
)
def test_invalid_fill_config_is_refused(config: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FillConfig(**config)  # type: ignore[arg-type]


def test_fill_config_round_trips_through_its_dict() -> None:
    config = FillConfig(
        latency_min_ms=10.0,
        latency_max_ms=80.0,
        restore_ms=2_500.0,
        max_levels=3,
        fees=FeePolicy(
            FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(3, 2)),
            Fraction("0.01"),
            DIRECT_PRECISION_MICRO,
        ),
    )
    assert FillConfig.from_dict(config.to_dict()) == config
    assert FillConfig.from_dict(FillConfig().to_dict()) == FillConfig()


# --- properties ------------------------------------------------------------------------------


@st.composite
def ask_ladders(draw: st.DrawFn, max_levels: int = 8) -> list[Level]:
    """Distinct prices best (lowest) first, sizes from 0.01 to 1000 contracts."""
    prices = draw(st.lists(st.integers(1, 9_999), min_size=0, max_size=max_levels, unique=True))
    sizes = draw(st.lists(st.integers(1, 100_000), min_size=len(prices), max_size=len(prices)))
    return list(zip(sorted(prices), sizes, strict=True))


orders = st.lists(
    st.tuples(
        st.sampled_from([Side.YES, Side.NO]),
        st.integers(min_value=1, max_value=200_000),  # count units
        st.one_of(st.none(), st.integers(1, 9_999)),  # limit
        st.integers(min_value=0, max_value=2_000 * MS),  # time step
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(
    yes_asks=ask_ladders(),
    no_asks=ask_ladders(),
    orders=orders,
    restore_ms=st.integers(0, 10_000),
    max_levels=st.integers(1, 10),
)
def test_fill_never_exceeds_displayed_minus_still_taken_liquidity(
    yes_asks: list[Level],
    no_asks: list[Level],
    orders: list[tuple[Side, int, int | None, int]],
    restore_ms: int,
    max_levels: int,
) -> None:
    eng = engine(restore_ms=float(restore_ms), max_levels=max_levels)
    books = {Side.YES: yes_asks, Side.NO: no_asks}
    now = 0
    for side, units, limit, step in orders:
        now += step
        asks = books[side]
        before = dict(eng.available(side, asks, now))
        fill = eng.buy(side, units, asks, now, limit_ticks=limit, fees=FEES)
        for price, taken, _ in fill.levels:
            assert taken <= before[price]
        reachable = sum(
            before.get(price, 0) for price, _ in asks[:max_levels] if limit is None or price <= limit
        )
        assert fill.filled_units == min(units, reachable)
        assert fill.filled_units == sum(u for _, u, _ in fill.levels)
        after = dict(eng.available(side, asks, now))
        for price, taken, _ in fill.levels:
            assert after.get(price, 0) == before[price] - taken


@settings(max_examples=200, deadline=None)
@given(
    asks=ask_ladders().filter(bool), units=st.integers(1, 200_000), side=st.sampled_from([Side.YES, Side.NO])
)
def test_repeated_identical_order_at_the_same_time_walks_deeper(
    asks: list[Level], units: int, side: Side
) -> None:
    eng = engine()
    first = eng.buy(side, units, asks, now_ns=0, fees=FEES)
    second = eng.buy(side, units, asks, now_ns=0, fees=FEES)
    assert first.levels  # the book is not empty
    if not second.levels:
        assert first.filled_units == sum(size for _, size in asks)  # the first took everything
        return
    assert second.levels[0][0] >= first.levels[-1][0]
    last_price, last_units, _ = first.levels[-1]
    if last_units == dict(asks)[last_price]:  # the first order emptied its deepest level
        assert second.levels[0][0] > last_price


@settings(max_examples=200, deadline=None)
@given(
    asks=ask_ladders(),
    order_units=st.lists(st.integers(1, 100_000), min_size=1, max_size=5),
    restore_ms=st.integers(1, 10_000),
    start_ms=st.integers(0, 10**6),
    fraction=st.fractions(min_value=0, max_value=1, max_denominator=1_000),
)
def test_taken_liquidity_is_back_after_restore_ms_and_half_back_halfway(
    asks: list[Level], order_units: list[int], restore_ms: int, start_ms: int, fraction: Fraction
) -> None:
    eng = engine(restore_ms=float(restore_ms))
    start = start_ms * MS
    taken: dict[int, int] = {}
    for units in order_units:
        for price, got, _ in eng.buy(Side.YES, units, asks, now_ns=start, fees=FEES).levels:
            taken[price] = taken.get(price, 0) + got
    restore_ns = restore_ms * MS

    def hidden_at(now_ns: int) -> dict[int, int]:
        shown = dict(eng.available(Side.YES, asks, now_ns))
        return {price: size - shown.get(price, 0) for price, size in asks}

    halfway = hidden_at(start + restore_ns // 2)
    for price, _ in asks:
        assert halfway[price] == math.ceil(Fraction(taken.get(price, 0), 2))

    at = start + math.floor(fraction * restore_ns)
    hidden = hidden_at(at)
    for price, _ in asks:
        exact = taken.get(price, 0) * (1 - Fraction(at - start, restore_ns))
        assert math.floor(exact) <= hidden[price] <= math.ceil(exact)

    assert eng.available(Side.YES, asks, start + restore_ns) == asks
    assert eng.available(Side.YES, asks, start + 10 * restore_ns) == asks


@settings(max_examples=200, deadline=None)
@given(
    asks=ask_ladders(),
    units=st.integers(1, 300_000),
    multiplier=st.fractions(min_value=0, max_value=3, max_denominator=100),
    limit=st.one_of(st.none(), st.integers(1, 9_999)),
)
def test_fill_fee_is_the_sum_of_per_level_fees(
    asks: list[Level], units: int, multiplier: Fraction, limit: int | None
) -> None:
    fees = FeeModel(FeeSchedule(FeeType.QUADRATIC, multiplier))
    fill = engine().buy(Side.NO, units, asks, now_ns=0, limit_ticks=limit, fees=fees)
    for price, got, level_fee in fill.levels:
        assert level_fee == fees.trade_fee_micro(got, price, True)
    assert fill.fee_micro == sum(fees.trade_fee_micro(got, price, True) for price, got, _ in fill.levels)
    assert fill.cost_micro == sum(price * got for price, got, _ in fill.levels)
    if fill.filled_units:
        prices = [price for price, _, _ in fill.levels]
        assert min(prices) <= fill.vwap_ticks <= max(prices)
        assert fill.slippage_ticks == pytest.approx(fill.vwap_ticks - asks[0][0])
        assert fill.slippage_ticks >= 0


latency_bounds = st.tuples(st.floats(0, 200, allow_nan=False), st.floats(1, 200, allow_nan=False)).map(
    lambda pair: (pair[0], pair[0] + pair[1])
)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    bounds=latency_bounds,
    yes_asks=ask_ladders(),
    no_asks=ask_ladders(),
    orders=orders,
)
def test_same_seed_replays_the_same_latencies_and_fills(
    seed: int,
    bounds: tuple[float, float],
    yes_asks: list[Level],
    no_asks: list[Level],
    orders: list[tuple[Side, int, int | None, int]],
) -> None:
    config = FillConfig(latency_min_ms=bounds[0], latency_max_ms=bounds[1])
    books = {Side.YES: yes_asks, Side.NO: no_asks}

    def run(eng: FillEngine) -> list[object]:
        out: list[object] = []
        now = 0
        for side, units, limit, step in orders:
            latency = eng.latency_ns()
            assert bounds[0] * MS - 1 <= latency <= bounds[1] * MS + 1
            now += step + latency
            out.append((latency, eng.buy(side, units, books[side], now, limit_ticks=limit, fees=FEES)))
        return out

    first = run(FillEngine(config, seed=seed))
    assert run(FillEngine(config, seed=seed)) == first
    replayed = FillEngine(config, seed=seed + 1)
    replayed.buy(Side.YES, 1, [(5_000, 1)], now_ns=0, fees=FEES)
    replayed.reset(seed=seed)
    assert run(replayed) == first


@settings(max_examples=200, deadline=None)
@given(seeds=st.lists(st.integers(0, 2**32), min_size=2, max_size=2, unique=True), bounds=latency_bounds)
def test_different_seeds_draw_different_latencies(seeds: list[int], bounds: tuple[float, float]) -> None:
    config = FillConfig(latency_min_ms=bounds[0], latency_max_ms=bounds[1])
    a, b = (FillEngine(config, seed=s) for s in seeds)
    assert [a.latency_ns() for _ in range(5)] != [b.latency_ns() for _ in range(5)]
