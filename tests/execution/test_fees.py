"""FeeModel: Kalshi's quadratic fee, rounded up to $0.0001, against an independent Decimal model."""

from __future__ import annotations

import json
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_rl.execution.fees import KALSHI_FEES, NO_FEES, FeeModel

_TICK = Decimal("0.0001")

# 0.01 .. 100 000 contracts, in units of 0.01 contract; $0.0001 .. $0.9999, in ticks.
counts = st.integers(min_value=1, max_value=10_000_000)
prices = st.integers(min_value=1, max_value=9_999)
multipliers = st.decimals(min_value=0, max_value=5, places=4, allow_nan=False, allow_infinity=False)


def reference_fee_ticks(
    count_units: int, price_ticks: int, rate: str = "0.07", multiplier: Decimal = Decimal(1)
) -> int:
    """The fee from the schedule's formula, written in dollars and contracts with Decimal."""
    contracts = Decimal(count_units) / 100
    price = Decimal(price_ticks) / 10_000
    dollars = Decimal(rate) * multiplier * contracts * price * (1 - price)
    return int((dollars / _TICK).to_integral_value(rounding=ROUND_CEILING))


@pytest.mark.parametrize(
    ("count_units", "price_ticks", "expected_ticks"),
    [
        pytest.param(1_000, 5_000, 1_750, id="10 contracts at $0.50 cost $0.1750"),
        pytest.param(100, 5_200, 175, id="1 contract at $0.52 costs $0.0175"),
        pytest.param(100, 9_900, 7, id="1 contract at $0.99 costs $0.0007"),
    ],
)
def test_taker_fee_matches_kalshi_published_values(
    count_units: int, price_ticks: int, expected_ticks: int
) -> None:
    assert KALSHI_FEES.fee_ticks(count_units, price_ticks) == expected_ticks
    assert KALSHI_FEES.fee_ticks(count_units, price_ticks, taker=True) == expected_ticks


def test_sub_cent_price_and_fractional_count_round_up_to_the_next_tick() -> None:
    # 0.07 x 678.99 x 0.052 x 0.948 = $2.3430043728 -> $2.3431
    assert KALSHI_FEES.fee_ticks(67_899, 520) == 23_431


def test_fee_that_is_an_exact_tick_is_not_rounded_up() -> None:
    # 0.07 x 4 x 0.40 x 0.60 = $0.0672 exactly
    assert KALSHI_FEES.fee_ticks(400, 4_000) == 672


@pytest.mark.parametrize("count_units", [0, -1, -10_000])
def test_non_positive_count_costs_nothing(count_units: int) -> None:
    assert KALSHI_FEES.fee_ticks(count_units, 5_000) == 0


@pytest.mark.parametrize("price_ticks", [0, 10_000])
def test_price_at_zero_or_one_dollar_costs_nothing(price_ticks: int) -> None:
    assert KALSHI_FEES.fee_ticks(1_000, price_ticks) == 0


def test_maker_fill_is_free_when_the_series_has_no_maker_fees() -> None:
    assert KALSHI_FEES.fee_ticks(1_000, 5_000, taker=False) == 0


def test_maker_fill_pays_the_maker_rate_when_maker_fees_are_enabled() -> None:
    # 0.0175 x 10 x 0.25 = $0.04375 -> $0.0438
    assert FeeModel(maker_fees=True).fee_ticks(1_000, 5_000, taker=False) == 438
    assert FeeModel(maker_fees=True).fee_ticks(1_000, 5_000, taker=True) == 1_750


def test_no_fees_model_charges_nothing_either_way() -> None:
    assert NO_FEES.fee_ticks(1_000, 5_000) == 0
    assert NO_FEES.fee_ticks(1_000, 5_000, taker=False) == 0


@settings(max_examples=200)
@given(count_units=counts, price_ticks=prices)
def test_taker_fee_equals_decimal_formula(count_units: int, price_ticks: int) -> None:
    fee = KALSHI_FEES.fee_ticks(count_units, price_ticks)
    assert fee == reference_fee_ticks(count_units, price_ticks)
    assert fee >= 1  # any fill strictly inside (0, 1) costs at least one tick


@settings(max_examples=200)
@given(count_units=counts, price_ticks=prices)
def test_maker_fee_equals_decimal_formula_only_when_enabled(count_units: int, price_ticks: int) -> None:
    assert FeeModel(maker_fees=False).fee_ticks(count_units, price_ticks, taker=False) == 0
    assert FeeModel(maker_fees=True).fee_ticks(count_units, price_ticks, taker=False) == reference_fee_ticks(
        count_units, price_ticks, rate="0.0175"
    )


@settings(max_examples=200)
@given(count_units=st.integers(min_value=-1_000, max_value=10_000_000), price_ticks=st.integers(0, 10_000))
def test_fee_is_never_negative(count_units: int, price_ticks: int) -> None:
    assert KALSHI_FEES.fee_ticks(count_units, price_ticks) >= 0
    assert FeeModel(maker_fees=True).fee_ticks(count_units, price_ticks, taker=False) >= 0


@settings(max_examples=200)
@given(count_units=counts, price_ticks=st.integers(0, 10_000))
def test_fee_is_symmetric_between_a_price_and_its_complement(count_units: int, price_ticks: int) -> None:
    assert KALSHI_FEES.fee_ticks(count_units, price_ticks) == KALSHI_FEES.fee_ticks(
        count_units, 10_000 - price_ticks
    )


@settings(max_examples=200)
@given(a=counts, b=counts, price_ticks=prices)
def test_fee_is_monotone_in_count(a: int, b: int, price_ticks: int) -> None:
    small, large = sorted((a, b))
    assert KALSHI_FEES.fee_ticks(small, price_ticks) <= KALSHI_FEES.fee_ticks(large, price_ticks)


@settings(max_examples=200)
@given(count_units=counts, price_ticks=prices, multiplier=multipliers)
def test_multiplier_scales_the_rate_before_rounding(
    count_units: int, price_ticks: int, multiplier: Decimal
) -> None:
    model = FeeModel(multiplier=Fraction(multiplier))
    assert model.fee_ticks(count_units, price_ticks) == reference_fee_ticks(
        count_units, price_ticks, multiplier=multiplier
    )


@settings(max_examples=200)
@given(count_units=counts, price_ticks=prices, k=st.integers(min_value=1, max_value=10))
def test_whole_multiplier_costs_between_one_and_k_times_the_base_fee(
    count_units: int, price_ticks: int, k: int
) -> None:
    base = KALSHI_FEES.fee_ticks(count_units, price_ticks)
    scaled = FeeModel(multiplier=Fraction(k)).fee_ticks(count_units, price_ticks)
    assert base <= scaled <= k * base


def test_zero_multiplier_makes_trading_free() -> None:
    assert FeeModel(multiplier=Fraction(0)).fee_ticks(1_000, 5_000) == 0


def test_kalshi_fees_dict_is_readable_and_round_trips_through_json() -> None:
    data = KALSHI_FEES.to_dict()
    assert data["taker_rate"] == "7/100"
    assert data["maker_rate"] == "7/400"
    assert data["maker_fees"] is False
    assert data["multiplier"] == "1"
    assert FeeModel.from_dict(json.loads(json.dumps(data))) == KALSHI_FEES


rates = st.fractions(min_value=0, max_value=1, max_denominator=100_000)


@settings(max_examples=200)
@given(taker=rates, maker=rates, maker_fees=st.booleans(), multiplier=st.fractions(min_value=0, max_value=10))
def test_any_fee_model_round_trips_through_its_dict(
    taker: Fraction, maker: Fraction, maker_fees: bool, multiplier: Fraction
) -> None:
    model = FeeModel(taker_rate=taker, maker_rate=maker, maker_fees=maker_fees, multiplier=multiplier)
    restored = FeeModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert restored == model
    assert restored.fee_ticks(12_345, 4_321) == model.fee_ticks(12_345, 4_321)
