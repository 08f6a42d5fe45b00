"""Kalshi's fee rounding, checked against every worked example of Kalshi's fee-rounding document.

Document: "Fee Rounding", docs.kalshi.com/getting_started/fee_rounding.md, three versions:

- F3, the current one (text identical to a copy retrieved 2026-10-08): trade fee rounded up to
  $0.000001; balance aligned to $0.01 (non-direct member) or $0.0001 (direct member); rounding
  fee into a per-order accumulator; rebates in precision increments, capped so that a fill's net
  fee is never negative. Examples "FCM-cleared fill" and "Accumulator across fills".
- F1 (copy "Downloaded: 2026-03-04") and F2 (undated, between F1 and F3): trade fee rounded up
  to $0.0001; balances in whole cents; a whole-cent rebate once the accumulator exceeds $0.01.
  Examples "Subpenny prices", "Fractional contracts" and "Combined" (identical in F1 and F2).

``OrderFeeAccumulator`` implements F3. The F1/F2 examples still hold under it (each rebating
fill there pays at least $0.01 in fees, so F3's cap never binds): fed the trade fees the
documents state, it reproduces their rounding, accumulator, rebate, net fee and balance columns
exactly. Those stated trade fees are *not* what 0.07 x C x P x (1 - P) gives for examples 1 and
2 ($0.0085 and $0.0041 stated; the formula gives $0.00363825 and $0.00525): F1/F2 illustrate
the rounding with made-up fees, so the formula is tested separately on the examples whose fee
does follow it (F3's $0.00363825 -> $0.003639, F1/F2 example 3's $0.0005, and $0.175 for 10
contracts at $0.50).
"""

from __future__ import annotations

from fractions import Fraction
from math import ceil, floor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_rl.core.fee_schedule import FeeSchedule, FeeType
from kalshi_rl.execution.fees import (
    DIRECT_PRECISION_MICRO,
    NON_DIRECT_PRECISION_MICRO,
    FeeModel,
    FillFee,
    OrderFeeAccumulator,
)

CENT = NON_DIRECT_PRECISION_MICRO  # $0.01 in micro-dollars
CENTICENT = DIRECT_PRECISION_MICRO  # $0.0001


def micro(dollars: str) -> int:
    value = Fraction(dollars) * 1_000_000
    assert value.denominator == 1, dollars
    return int(value)


def run(precision: int, fills: list[tuple[str, str]]) -> list[tuple[FillFee, int]]:
    """Charge ``(revenue, trade fee)`` fills of one order; each fill's fees and the accumulator
    before its rebate (the documents' "Accumulator" / "Before Rebate" column)."""
    accumulator = OrderFeeAccumulator(precision)
    out = []
    for revenue, trade_fee in fills:
        fee = accumulator.charge(micro(revenue), micro(trade_fee))
        out.append((fee, accumulator.accumulated_micro + fee.rebate_micro))
    return out


def columns(fee: FillFee, before_rebate: int) -> tuple[int, int, int, int, int, int]:
    """Trade Fee | Rounding | Accumulator | Rebate | Net Fee | Balance Change (before the rebate)."""
    return (
        fee.trade_fee_micro,
        fee.rounding_fee_micro,
        before_rebate,
        fee.rebate_micro,
        fee.net_fee_micro,
        fee.aligned_change_micro,
    )


# --- F3 (current) ----------------------------------------------------------------------------


def test_f3_fcm_cleared_fill() -> None:
    # "revenue -$0.055000, model fee $0.00363825": trade fee ceil_6dp = $0.003639; aligned change
    # floor_cent(-$0.055 - $0.003639) = -$0.06; rounding fee $0.001361; "the trade fee plus
    # rounding fee is exactly $0.005".
    model = FeeModel.from_schedule(FeeSchedule(FeeType.QUADRATIC, Fraction(1)))
    assert model.model_fee_micro(100, 550, True) == Fraction("3638.25")  # $0.00363825: 1 @ $0.055
    trade_fee = model.trade_fee_micro(100, 550, True)
    assert trade_fee == micro("0.003639")
    fee = OrderFeeAccumulator(CENT).charge(micro("-0.055"), trade_fee)
    assert fee == FillFee(micro("0.003639"), micro("0.001361"), 0, micro("-0.06"))
    assert fee.trade_fee_micro + fee.rounding_fee_micro == micro("0.005")
    assert fee.balance_change_micro == micro("-0.06") and fee.net_fee_micro == micro("0.005")


def test_f3_accumulator_across_fills() -> None:
    # Three fills each adding $0.004 (here: revenue -$0.05, trade fee $0.006 -> -$0.056 aligned to
    # -$0.06); the third has $0.01 of fee to carry the rebate.
    #   Fill | Added  | Before Rebate | Rebate | Carried Forward
    #   1    | $0.004 | $0.004        | -      | $0.004
    #   2    | $0.004 | $0.008        | -      | $0.008
    #   3    | $0.004 | $0.012        | $0.010 | $0.002
    fills = run(CENT, [("-0.05", "0.006")] * 3)
    assert [
        (f.rounding_fee_micro, before, f.rebate_micro, before - f.rebate_micro) for f, before in fills
    ] == [
        (micro("0.004"), micro("0.004"), 0, micro("0.004")),
        (micro("0.004"), micro("0.008"), 0, micro("0.008")),
        (micro("0.004"), micro("0.012"), micro("0.010"), micro("0.002")),
    ]
    assert fills[2][0].balance_change_micro == micro("-0.05")  # -$0.06 aligned, +$0.01 rebated


def test_f3_a_fill_whose_fee_cannot_cover_the_rebate_carries_the_whole_accumulator() -> None:
    # "Assuming the third fill has enough total fee to cover a $0.01 rebate": here it has not
    # (a free fill: trade fee 0, rounding $0.004), so the rebate waits ("the rebate is capped so
    # that the fill's net fee cannot become negative").
    accumulator = OrderFeeAccumulator(CENT)
    accumulator.charge(micro("-0.05"), micro("0.006"))
    accumulator.charge(micro("-0.05"), micro("0.006"))
    third = accumulator.charge(micro("-0.056"), 0)
    assert (third.rounding_fee_micro, third.rebate_micro, third.net_fee_micro) == (
        micro("0.004"),
        0,
        micro("0.004"),
    )
    assert accumulator.accumulated_micro == micro("0.012")
    fourth = accumulator.charge(micro("-0.05"), micro("0.006"))  # the next fill that can pays it back
    assert fourth.rebate_micro == micro("0.01") and accumulator.accumulated_micro == micro("0.006")


def test_f3_direct_member_rebates_in_centicent_increments() -> None:
    # "Direct-member rebates follow the same mechanics in $0.0001 increments": the accumulator
    # example at a hundredth of the scale.
    fills = run(CENTICENT, [("-0.0005", "0.00006")] * 3)
    assert [(f.rounding_fee_micro, before, f.rebate_micro) for f, before in fills] == [
        (micro("0.00004"), micro("0.00004"), 0),
        (micro("0.00004"), micro("0.00008"), 0),
        (micro("0.00004"), micro("0.00012"), micro("0.0001")),
    ]
    # F3's fill for a direct member: -$0.058639 aligned to $0.0001.
    direct = OrderFeeAccumulator(CENTICENT).charge(micro("-0.055"), micro("0.003639"))
    assert direct.balance_change_micro == micro("-0.0587")


# --- F1 / F2 (older versions; their tables under F3's mechanics) ----------------------------


def test_f1_f2_example_1_subpenny_prices() -> None:
    # Buy 3 contracts at $0.055, three 1-lot matches; stated trade fee $0.0085 each.
    #   Fill | Trade Fee | Rounding | Accumulator | Rebate  | Net Fee | Balance Change
    #   1    | $0.0085   | $0.0065  | $0.0065     | -       | $0.0150 | -$0.07
    #   2    | $0.0085   | $0.0065  | $0.0130     | $0.0100 | $0.0050 | -$0.07
    #   3    | $0.0085   | $0.0065  | $0.0095     | -       | $0.0150 | -$0.07
    fills = run(CENT, [("-0.055", "0.0085")] * 3)
    m = micro
    assert [columns(*f) for f in fills] == [
        (m("0.0085"), m("0.0065"), m("0.0065"), 0, m("0.0150"), m("-0.07")),
        (m("0.0085"), m("0.0065"), m("0.0130"), m("0.0100"), m("0.0050"), m("-0.07")),
        (m("0.0085"), m("0.0065"), m("0.0095"), 0, m("0.0150"), m("-0.07")),
    ]


def test_f1_f2_example_2_fractional_contracts() -> None:
    # Buy 0.90 contracts at $0.50, three 0.30-lot matches; revenue -$0.1500, stated fee $0.0041.
    #   1    | $0.0041   | $0.0059  | $0.0059     | -       | $0.0100 | -$0.16
    #   2    | $0.0041   | $0.0059  | $0.0118     | $0.0100 | $0.0000 | -$0.16
    #   3    | $0.0041   | $0.0059  | $0.0077     | -       | $0.0100 | -$0.16
    fills = run(CENT, [("-0.15", "0.0041")] * 3)
    m = micro
    assert [columns(*f) for f in fills] == [
        (m("0.0041"), m("0.0059"), m("0.0059"), 0, m("0.0100"), m("-0.16")),
        (m("0.0041"), m("0.0059"), m("0.0118"), m("0.0100"), 0, m("-0.16")),
        (m("0.0041"), m("0.0059"), m("0.0077"), 0, m("0.0100"), m("-0.16")),
    ]


def test_f1_f2_example_3_fractional_contracts_and_subpenny_prices() -> None:
    # Buy 0.09 contracts at $0.3301, three 0.03-lot matches: revenue -$0.3301 x 0.03 = -$0.009903;
    # trade fee $0.0005 (0.07 x 0.03 x 0.3301 x 0.6699 = $0.000464..., ceiled to $0.0001).
    #   1    | $0.0005   | $0.009597 | $0.009597  | -       | $0.010097 | -$0.02
    #   2    | $0.0005   | $0.009597 | $0.019194  | $0.0100 | $0.000097 | -$0.02
    #   3    | $0.0005   | $0.009597 | $0.018791  | $0.0100 | $0.000097 | -$0.02
    model = FeeModel.from_schedule(FeeSchedule(FeeType.QUADRATIC, Fraction(1)))
    exact = model.model_fee_micro(3, 3_301, True)
    assert ceil(exact / 100) * 100 == micro("0.0005")  # the documents' $0.0001 ceiling
    assert model.trade_fee_micro(3, 3_301, True) == micro("0.000465")  # F3's $0.000001 ceiling
    fills = run(CENT, [("-0.009903", "0.0005")] * 3)
    m = micro
    assert [columns(*f) for f in fills] == [
        (m("0.0005"), m("0.009597"), m("0.009597"), 0, m("0.010097"), m("-0.02")),
        (m("0.0005"), m("0.009597"), m("0.019194"), m("0.0100"), m("0.000097"), m("-0.02")),
        (m("0.0005"), m("0.009597"), m("0.018791"), m("0.0100"), m("0.000097"), m("-0.02")),
    ]


def test_a_seller_is_aligned_down_too() -> None:
    # F3: revenue is signed ("negative for buyers"); a seller's +$0.055 - $0.003639 = $0.051361
    # is aligned down to $0.05, a $0.001361 rounding fee, as for the buyer.
    fee = OrderFeeAccumulator(CENT).charge(micro("0.055"), micro("0.003639"))
    assert (fee.balance_change_micro, fee.rounding_fee_micro) == (micro("0.05"), micro("0.001361"))


@pytest.mark.parametrize("precision", [0, -100])
def test_a_precision_must_be_positive(precision: int) -> None:
    with pytest.raises(ValueError, match="precision"):
        OrderFeeAccumulator(precision)


def test_a_negative_trade_fee_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        OrderFeeAccumulator().charge(-1_000, -1)


# --- properties --------------------------------------------------------------------------------

precisions = st.sampled_from([CENT, CENTICENT])
fills_of_one_order = st.lists(
    st.tuples(st.integers(-(10**9), 10**9), st.integers(0, 10**7)),  # (revenue, trade fee), micro
    min_size=1,
    max_size=30,
)


@settings(max_examples=300)
@given(precision=precisions, fills=fills_of_one_order)
def test_every_fill_is_aligned_and_its_net_fee_is_never_negative(
    precision: int, fills: list[tuple[int, int]]
) -> None:
    accumulator = OrderFeeAccumulator(precision)
    total = rebates = rounding = 0
    for revenue, trade_fee in fills:
        fee = accumulator.charge(revenue, trade_fee)
        assert fee.net_fee_micro >= 0
        assert fee.balance_change_micro % precision == 0 and fee.rebate_micro % precision == 0
        assert 0 <= fee.rounding_fee_micro < precision
        assert fee.aligned_change_micro == floor(Fraction(revenue - trade_fee, precision)) * precision
        assert fee.revenue_micro == revenue
        # The rebate stops only where the accumulator or the fill's own fee runs out.
        assert accumulator.accumulated_micro < precision or fee.net_fee_micro < precision
        total += fee.balance_change_micro
        rebates += fee.rebate_micro
        rounding += fee.rounding_fee_micro
    # The order's balance moved by its revenue minus trade fees, each fill floored, plus rebates...
    floored = sum(floor(Fraction(r - t, precision)) * precision for r, t in fills)
    assert total == floored + rebates
    # ...and nothing is lost: every rounding fee was rebated or is still in the accumulator.
    assert rounding == rebates + accumulator.accumulated_micro
    assert total == sum(r - t for r, t in fills) - accumulator.accumulated_micro


@settings(max_examples=300)
@given(precision=precisions, fills=fills_of_one_order)
def test_the_accumulator_stays_under_one_increment_plus_a_rounding_when_fills_pay_an_increment(
    precision: int, fills: list[tuple[int, int]]
) -> None:
    """With fills whose fee (trade + rounding) reaches one increment (any fill paying a trade fee
    of at least the precision), the accumulator is below ``precision + max rounding`` before each
    rebate and below ``precision`` after it."""
    accumulator = OrderFeeAccumulator(precision)
    max_rounding = precision - 1
    for revenue, trade_fee in fills:
        fee = accumulator.charge(revenue, trade_fee + precision)
        assert accumulator.accumulated_micro + fee.rebate_micro < precision + max_rounding
        assert accumulator.accumulated_micro < precision


def reference_order(
    schedule: FeeSchedule, precision_dollars: Fraction, fills: list[tuple[int, int, bool, bool]]
) -> list[tuple[Fraction, Fraction, Fraction, Fraction]]:
    """Kalshi's F3 mechanics written in dollars and contracts with Fractions, independently of
    the integer code: fills are (count in 0.01 contracts, price in $0.0001, buy?, taker?)."""
    share = {
        FeeType.QUADRATIC: Fraction(0),
        FeeType.QUADRATIC_WITH_MAKER_FEES: Fraction(1, 4),
        FeeType.QUADRATIC_WITH_COMBO_MAKER_FEES: Fraction(1, 2),
    }[schedule.fee_type]
    micro_dollar = Fraction(1, 1_000_000)
    accumulated = Fraction(0)
    out = []
    for count_units, price_ticks, buy, taker in fills:
        contracts, price = Fraction(count_units, 100), Fraction(price_ticks, 10_000)
        rate = Fraction(7, 100) * schedule.multiplier * (1 if taker else share)
        trade = ceil(rate * contracts * price * (1 - price) / micro_dollar) * micro_dollar
        revenue = -price * contracts if buy else price * contracts
        aligned = floor((revenue - trade) / precision_dollars) * precision_dollars
        rounding = revenue - trade - aligned
        accumulated += rounding
        increments = min(
            floor(accumulated / precision_dollars), floor((trade + rounding) / precision_dollars)
        )
        rebate = increments * precision_dollars
        accumulated -= rebate
        out.append((trade, rounding, rebate, aligned + rebate))
    return out


quadratic_schedules = st.builds(
    FeeSchedule,
    st.sampled_from(
        [FeeType.QUADRATIC, FeeType.QUADRATIC_WITH_MAKER_FEES, FeeType.QUADRATIC_WITH_COMBO_MAKER_FEES]
    ),
    st.fractions(min_value=0, max_value=5, max_denominator=1_000),
)
matches = st.lists(
    st.tuples(st.integers(1, 10_000_000), st.integers(0, 10_000), st.booleans(), st.booleans()),
    min_size=1,
    max_size=20,
)


@settings(max_examples=300)
@given(schedule=quadratic_schedules, precision=precisions, fills=matches)
def test_integer_fees_equal_a_fraction_reference(
    schedule: FeeSchedule, precision: int, fills: list[tuple[int, int, bool, bool]]
) -> None:
    model = FeeModel.from_schedule(schedule)
    accumulator = OrderFeeAccumulator(precision)
    got = []
    for count_units, price_ticks, buy, taker in fills:
        revenue = (-1 if buy else 1) * count_units * price_ticks
        fee = accumulator.charge(revenue, model.trade_fee_micro(count_units, price_ticks, taker))
        got.append(
            tuple(
                Fraction(v, 1_000_000)
                for v in (
                    fee.trade_fee_micro,
                    fee.rounding_fee_micro,
                    fee.rebate_micro,
                    fee.balance_change_micro,
                )
            )
        )
    assert got == reference_order(schedule, Fraction(precision, 1_000_000), fills)
