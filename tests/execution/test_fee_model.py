"""FeeModel and FeePolicy: the fee of one match per fee type, and what a simulation charges.

Expectations from Kalshi OpenAPI 3.31.0 ``Series.fee_type`` / ``fee_multiplier`` (maker fees for
``quadratic_with_maker_fees``; ``quadratic_with_combo_maker_fees`` "is the same maker-fee
structure with a 0.5 maker multiplier instead of 0.25"; ``flat`` "is described by the Specific
Trading Fees Table", which no stored Kalshi document gives), ``EventData.fee_type_override``
("takes precedence over the series-level fee"), AsyncAPI 2.0.0 ``event_fee_update`` (one more
fee type, ``margin_market_maker_program_fees``), the 0.07 taker rate of Kalshi's fee schedule
(10 contracts at $0.50 -> $0.175), and the fee-rounding document (version retrieved 2026-10-08:
"rounded up to the nearest $0.000001").
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_rl.core.errors import FeeScheduleError, InvalidValueError
from kalshi_rl.core.fee_schedule import (
    DEFAULT_FEE_SCHEDULE,
    FeeSchedule,
    FeeSource,
    FeeType,
    effective_schedule,
)
from kalshi_rl.execution.fees import DIRECT_PRECISION_MICRO, FeeModel, FeePolicy

QUADRATIC = FeeSchedule(FeeType.QUADRATIC, Fraction(1))
MAKER = FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(1))
COMBO = FeeSchedule(FeeType.QUADRATIC_WITH_COMBO_MAKER_FEES, Fraction(1))
FLAT = FeeSchedule(FeeType.FLAT, Fraction(1))
MMM = FeeSchedule(FeeType.MARGIN_MARKET_MAKER_PROGRAM_FEES, Fraction(1), FeeSource.EVENT_OVERRIDE)

counts = st.integers(min_value=1, max_value=10_000_000)  # 0.01 .. 100 000 contracts
prices = st.integers(min_value=0, max_value=10_000)  # $0 .. $1 in $0.0001


def model(schedule: FeeSchedule) -> FeeModel:
    return FeeModel.from_schedule(schedule)


def reference_micro(rate: Fraction, count_units: int, price_ticks: int) -> int:
    """rate x C x P x (1 - P) in dollars and contracts, rounded up to $0.000001."""
    contracts, price = Fraction(count_units, 100), Fraction(price_ticks, 10_000)
    exact = rate * contracts * price * (1 - price) * 1_000_000
    return -((-exact.numerator) // exact.denominator)


def test_ten_contracts_taken_at_fifty_cents_cost_seventeen_and_a_half_cents() -> None:
    assert model(QUADRATIC).trade_fee_micro(1_000, 5_000, True) == 175_000  # 0.07 x 10 x 0.25, exact


@pytest.mark.parametrize(
    ("schedule", "maker_micro"),
    [
        pytest.param(QUADRATIC, 0, id="quadratic: makers pay nothing"),
        pytest.param(MAKER, 43_750, id="maker fees: 0.07 x 0.25 x 10 x 0.25 = $0.04375"),
        pytest.param(COMBO, 87_500, id="combo: 0.07 x 0.5 x 10 x 0.25 = $0.0875"),
    ],
)
def test_maker_fee_by_fee_type(schedule: FeeSchedule, maker_micro: int) -> None:
    assert model(schedule).trade_fee_micro(1_000, 5_000, False) == maker_micro
    assert model(schedule).trade_fee_micro(1_000, 5_000, True) == 175_000  # takers: the same for all


def test_the_multiplier_scales_the_fee_before_it_is_rounded() -> None:
    # 0.07 x 1.5 x 1 x 0.055 x 0.945 = $0.005457375 -> $0.005458 (not 1.5 x $0.003639 = $0.0054585)
    scaled = FeeSchedule(FeeType.QUADRATIC, Fraction(3, 2))
    assert model(scaled).trade_fee_micro(100, 550, True) == 5_458
    assert model(FeeSchedule(FeeType.QUADRATIC, Fraction(0))).trade_fee_micro(1_000, 5_000, True) == 0


def test_an_event_override_wins_over_the_series_schedule() -> None:
    override = FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(2), FeeSource.EVENT_OVERRIDE)
    schedule = effective_schedule(QUADRATIC, override)
    assert FeePolicy().model_for(schedule).trade_fee_micro(1_000, 5_000, False) == 87_500
    assert (
        FeePolicy().model_for(effective_schedule(QUADRATIC, None)).trade_fee_micro(1_000, 5_000, False) == 0
    )
    assert effective_schedule(None, None) == DEFAULT_FEE_SCHEDULE


@pytest.mark.parametrize("count_units", [0, -1])
def test_a_non_positive_count_costs_nothing(count_units: int) -> None:
    assert model(QUADRATIC).trade_fee_micro(count_units, 5_000, True) == 0


@pytest.mark.parametrize("price_ticks", [-1, 10_001])
def test_a_price_outside_zero_to_one_dollar_is_refused(price_ticks: int) -> None:
    with pytest.raises(ValueError, match="price"):
        model(QUADRATIC).trade_fee_micro(100, price_ticks, True)


@pytest.mark.parametrize("schedule", [FLAT, MMM], ids=["flat", "margin_market_maker_program_fees"])
def test_a_fee_type_without_a_published_formula_is_refused_naming_the_market_and_the_setting(
    schedule: FeeSchedule,
) -> None:
    with pytest.raises(FeeScheduleError) as error:
        FeePolicy().model_for(schedule, "KXFLAT-26JAN01-T1")
    message = str(error.value)
    assert "KXFLAT-26JAN01-T1" in message and schedule.fee_type.value in message
    assert "--flat-fee" in message and "flat_fee_per_contract" in message


@pytest.mark.parametrize("schedule", [FLAT, MMM], ids=["flat", "margin_market_maker_program_fees"])
def test_a_configured_flat_fee_is_charged_per_contract_to_takers_and_makers(schedule: FeeSchedule) -> None:
    charged = FeePolicy(flat_fee_per_contract=Fraction("0.02")).model_for(schedule, "KXFLAT")
    assert charged.trade_fee_micro(1_000, 5_000, True) == 200_000  # 10 x $0.02, whatever the price
    assert charged.trade_fee_micro(1_000, 100, False) == 200_000
    assert charged.trade_fee_micro(1, 5_000, True) == 200  # 0.01 contract
    third = FeePolicy(flat_fee_per_contract=Fraction(1, 300_000)).model_for(schedule)
    assert third.trade_fee_micro(100, 5_000, True) == 4  # $0.00000333... rounded up to $0.000004


def test_a_quadratic_market_ignores_the_flat_fee() -> None:
    policy = FeePolicy(flat_fee_per_contract=Fraction("0.02"))
    assert policy.model_for(QUADRATIC) == model(QUADRATIC)


def test_a_fixed_policy_charges_its_schedule_to_every_market() -> None:
    free = FeePolicy(fixed=FeeSchedule(FeeType.QUADRATIC, Fraction(0)))
    assert free.model_for(MAKER).trade_fee_micro(1_000, 5_000, True) == 0
    assert free.model_for(FLAT, "KXFLAT").trade_fee_micro(1_000, 5_000, True) == 0  # no flat fee needed


@settings(max_examples=300)
@given(count_units=counts, price_ticks=prices, multiplier=st.fractions(0, 5, max_denominator=10_000))
def test_taker_and_maker_fees_equal_the_formula_rounded_up_to_a_micro_dollar(
    count_units: int, price_ticks: int, multiplier: Fraction
) -> None:
    for kind, share in ((FeeType.QUADRATIC, 0), (FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(1, 4))):
        fees = model(FeeSchedule(kind, multiplier))
        taker = fees.trade_fee_micro(count_units, price_ticks, True)
        maker = fees.trade_fee_micro(count_units, price_ticks, False)
        assert taker == reference_micro(Fraction(7, 100) * multiplier, count_units, price_ticks)
        assert maker == reference_micro(Fraction(7, 100) * multiplier * share, count_units, price_ticks)
        assert 0 <= maker <= taker
        assert taker == fees.trade_fee_micro(count_units, 10_000 - price_ticks, True)  # P(1 - P)


@settings(max_examples=200)
@given(a=counts, b=counts, price_ticks=prices)
def test_the_fee_grows_with_the_count(a: int, b: int, price_ticks: int) -> None:
    small, large = sorted((a, b))
    fees = model(QUADRATIC)
    assert fees.trade_fee_micro(small, price_ticks, True) <= fees.trade_fee_micro(large, price_ticks, True)


@settings(max_examples=200)
@given(count_units=counts, low=prices, high=prices)
def test_price_plus_taker_fee_grows_with_the_price(count_units: int, low: int, high: int) -> None:
    """What the paper client's collateral relies on: the limit's price + fee bounds any cheaper fill."""
    low, high = sorted((low, high))
    fees = model(FeeSchedule(FeeType.QUADRATIC, Fraction(5)))
    cheap = low * count_units + fees.trade_fee_micro(count_units, low, True)
    assert cheap <= high * count_units + fees.trade_fee_micro(count_units, high, True)


# --- FeePolicy: part of the train/serve contract ---------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [
        FeePolicy(),
        FeePolicy(member_precision_micro=DIRECT_PRECISION_MICRO),
        FeePolicy(fixed=FeeSchedule(FeeType.QUADRATIC, Fraction(0))),
        FeePolicy(fixed=COMBO, flat_fee_per_contract=Fraction("0.015")),
    ],
)
def test_a_policy_round_trips_through_json(policy: FeePolicy) -> None:
    data = json.loads(json.dumps(policy.to_dict()))
    assert FeePolicy.from_dict(data) == policy
    assert data["rounding"].startswith("kalshi fee_rounding 2026-10-08")


def test_the_default_policy_reads_plainly_in_a_contract() -> None:
    assert FeePolicy().to_dict() == {
        "schedule": "market",
        "flat_fee_per_contract": None,
        "member_precision": "1/100",
        "rounding": "kalshi fee_rounding 2026-10-08: per match ceil $0.000001, per-order accumulator",
    }


def test_a_policy_of_another_rounding_rule_is_refused() -> None:
    data = {**FeePolicy().to_dict(), "rounding": "per fill, up to $0.0001"}
    with pytest.raises(InvalidValueError, match="rounding"):
        FeePolicy.from_dict(data)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("market", None, "0.01"), FeePolicy()),
        (("quadratic:0", None, "0.0001"), FeePolicy(FeeSchedule(FeeType.QUADRATIC, Fraction(0)), None, 100)),
        (("quadratic_with_maker_fees", "0.02", "0.01"), FeePolicy(MAKER, Fraction("0.02"))),
    ],
)
def test_cli_text_becomes_a_policy(args: tuple[str, str | None, str], expected: FeePolicy) -> None:
    assert FeePolicy.parse(*args) == expected


@pytest.mark.parametrize(
    "args",
    [("cubic", None, "0.01"), ("quadratic:-1", None, "0.01"), ("market", "-0.01", "0.01"), ("market", None, "0.001"),
     ("market", "abc", "0.01"), ("market", None, "0.0000001")],
)  # fmt: skip
def test_bad_cli_text_is_refused(args: tuple[str, str | None, str]) -> None:
    with pytest.raises(InvalidValueError):
        FeePolicy.parse(*args)
