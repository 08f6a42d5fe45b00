"""PositionLedger: exact money, Kalshi netting, settlement, against hand-computed values and a simple model."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_rl.core.events import Side
from kalshi_rl.execution.fees import DEFAULT_FEE_MODEL
from kalshi_rl.execution.position import PositionLedger

# Money is in micro-dollars: $1 = 1_000_000; a count of N contracts is N * 100 units.


def test_buy_yes_then_buy_no_nets_pairs_and_realizes_the_price_difference_minus_fees() -> None:
    ledger = PositionLedger()
    assert ledger.buy(Side.YES, 1_000, 5_000, fee_micro=175_000) == 0  # 10 YES @ $0.50, fee $0.175
    assert ledger.cash_micro == -5_175_000
    assert ledger.position_units == 1_000
    assert ledger.cost_micro == 5_000_000
    assert ledger.realized_micro == -175_000

    # 4 NO @ $0.40 (fee $0.0672) close 4 YES: each pair redeems $1, i.e. YES exits at $0.60.
    assert ledger.buy(Side.NO, 400, 4_000, fee_micro=67_200) == 400
    assert ledger.cash_micro == -5_175_000 - 1_600_000 - 67_200 + 4_000_000  # -$2.8422
    assert ledger.position_units == 600
    assert ledger.side is Side.YES
    assert ledger.held(Side.YES) == 600 and ledger.held(Side.NO) == 0
    assert ledger.cost_micro == 3_000_000
    assert ledger.average_cost_ticks() == 5_000
    assert ledger.realized_micro == 400_000 - 175_000 - 67_200  # +$0.40 on 4 contracts, minus both fees
    assert ledger.fees_micro == 242_200
    assert ledger.traded_micro == 6_600_000
    assert ledger.contracts_traded_units == 1_400

    assert ledger.settle(10_000) == 6_000_000  # 6 YES win
    assert ledger.cash_micro == 3_157_800
    assert ledger.realized_micro == 3_157_800
    assert ledger.position_units == 0 and ledger.cost_micro == 0 and ledger.side is None


def test_buy_yes_while_holding_no_closes_no_at_one_minus_the_price() -> None:
    ledger = PositionLedger()
    ledger.buy(Side.NO, 500, 3_000)  # 5 NO @ $0.30
    assert ledger.position_units == -500 and ledger.side is Side.NO
    assert ledger.buy(Side.YES, 200, 7_500) == 200  # 2 YES @ $0.75: NO exits at $0.25
    assert ledger.position_units == -300
    assert ledger.cost_micro == 900_000
    assert ledger.realized_micro == -100_000  # 2 x ($0.25 - $0.30)
    assert ledger.cash_micro == -1_500_000 - 1_500_000 + 2_000_000


def test_one_buy_flips_long_yes_into_long_no() -> None:
    ledger = PositionLedger()
    ledger.buy(Side.YES, 600, 5_000)  # 6 YES @ $0.50
    assert ledger.buy(Side.NO, 1_000, 4_500) == 600  # 10 NO @ $0.45: close 6, open 4
    assert ledger.position_units == -400
    assert ledger.side is Side.NO
    assert ledger.held(Side.NO) == 400 and ledger.held(Side.YES) == 0
    assert ledger.cost_micro == 1_800_000  # only the 4 opened NO carry cost
    assert ledger.average_cost_ticks() == 4_500
    assert ledger.realized_micro == 300_000  # 6 x ($0.55 - $0.50)
    assert ledger.cash_micro == -3_000_000 - 4_500_000 + 6_000_000


def test_sell_yes_is_buying_no_at_the_complement() -> None:
    ledger = PositionLedger()
    ledger.buy(Side.YES, 1_000, 5_000)
    assert ledger.sell(Side.YES, 300, 6_000, fee_micro=5_000) == 300
    assert ledger.position_units == 700
    assert ledger.realized_micro == 300_000 - 5_000  # 3 x $0.10, minus $0.005 fee
    assert ledger.cash_micro == -5_000_000 + 1_800_000 - 5_000
    assert ledger.traded_micro == 5_000_000 + 1_200_000  # recorded as 3 NO @ $0.40


def test_closing_everything_leaves_a_flat_position_with_no_cost() -> None:
    ledger = PositionLedger()
    ledger.buy(Side.YES, 300, 3_333)
    assert ledger.buy(Side.NO, 300, 6_000) == 300
    assert ledger.position_units == 0 and ledger.side is None and ledger.cost_micro == 0
    assert ledger.average_cost_ticks() == 0.0
    assert ledger.realized_micro == ledger.cash_micro == 300 * (4_000 - 3_333)


def test_partial_close_removes_cost_in_proportion() -> None:
    ledger = PositionLedger()
    ledger.buy(Side.YES, 300, 3_333)  # cost 999_900
    ledger.buy(Side.NO, 100, 5_000)
    assert ledger.cost_micro == 999_900 - 333_300
    assert ledger.realized_micro == 100 * 5_000 - 333_300


@pytest.mark.parametrize(
    ("side", "settlement_ticks", "payout_micro"),
    [
        pytest.param(Side.YES, 10_000, 5_000_000, id="YES holder wins at 1"),
        pytest.param(Side.YES, 0, 0, id="YES holder loses at 0"),
        pytest.param(Side.NO, 0, 5_000_000, id="NO holder wins at 0"),
        pytest.param(Side.NO, 10_000, 0, id="NO holder loses at 1"),
    ],
)
def test_settlement_pays_one_dollar_per_winning_contract(
    side: Side, settlement_ticks: int, payout_micro: int
) -> None:
    ledger = PositionLedger()
    ledger.buy(side, 500, 2_000, fee_micro=56_000)  # 5 @ $0.20, fee $0.056
    assert ledger.settle(settlement_ticks) == payout_micro
    assert ledger.cash_micro == -1_000_000 - 56_000 + payout_micro
    assert ledger.realized_micro == ledger.cash_micro
    assert ledger.position_units == 0 and ledger.cost_micro == 0


def test_a_sub_cent_scalar_payout_is_floored_to_the_member_precision_as_a_settlement_fee() -> None:
    # 3.33 YES settling at $0.4567: $1.520811 exact; a non-direct member is paid $1.52 (Kalshi
    # rounds payouts to whole cents), the $0.000811 is a fee; a direct member gets $1.5208.
    for precision, payout in ((10_000, 1_520_000), (100, 1_520_800)):
        ledger = PositionLedger()
        ledger.buy(Side.YES, 333, 4_000)
        assert ledger.settle(4_567, precision) == payout
        assert ledger.fees_micro == 1_520_811 - payout
        assert ledger.cash_micro == -1_332_000 + payout == ledger.realized_micro


def test_revenue_is_minus_the_cost_plus_a_dollar_per_netted_pair() -> None:
    ledger = PositionLedger()
    assert ledger.revenue_micro(Side.YES, 1_000, 5_200) == -5_200_000
    ledger.buy(Side.YES, 1_000, 5_200)
    # Selling 4 YES at $0.60 buys 4 NO at $0.40 and redeems 4 pairs: +$2.40, as Kalshi pays a seller.
    assert ledger.revenue_micro(Side.NO, 400, 4_000) == 2_400_000
    assert ledger.revenue_micro(Side.NO, 1_200, 4_000) == 10_000_000 - 4_800_000  # 10 closed, 2 opened
    before = ledger.cash_micro
    ledger.buy(Side.NO, 400, 4_000)
    assert ledger.cash_micro - before == 2_400_000


def test_settling_a_flat_ledger_pays_nothing() -> None:
    ledger = PositionLedger()
    assert ledger.settle(10_000) == 0
    assert ledger.cash_micro == 0 and ledger.realized_micro == 0


def test_equity_and_unrealized_of_a_yes_position_at_a_mark() -> None:
    ledger = PositionLedger()
    ledger.buy(Side.YES, 600, 5_000, fee_micro=105_000)
    assert ledger.value_micro(5_500) == 3_300_000
    assert ledger.unrealized_micro(5_500) == 300_000
    assert ledger.equity_micro(5_500) == -3_000_000 - 105_000 + 3_300_000


def test_equity_and_unrealized_of_a_no_position_at_a_half_tick_mark() -> None:
    ledger = PositionLedger()
    ledger.buy(Side.NO, 400, 4_500)
    assert ledger.value_micro(5_000.5) == pytest.approx(400 * 4_999.5)
    assert ledger.unrealized_micro(5_000.5) == pytest.approx(400 * 499.5)
    assert ledger.equity_micro(5_000.5) == pytest.approx(-1_800_000 + 400 * 4_999.5)


@pytest.mark.parametrize("count_units", [0, -100])
def test_buy_with_non_positive_count_is_refused(count_units: int) -> None:
    with pytest.raises(ValueError, match="positive count"):
        PositionLedger().buy(Side.YES, count_units, 5_000)


@pytest.mark.parametrize("price_ticks", [-1, 10_001])
def test_buy_outside_zero_to_one_dollar_is_refused(price_ticks: int) -> None:
    ledger = PositionLedger()
    with pytest.raises(ValueError, match="within"):
        ledger.buy(Side.YES, 100, price_ticks)
    assert ledger == PositionLedger()  # nothing was recorded


trades = st.lists(
    st.tuples(
        st.sampled_from([Side.YES, Side.NO]),
        st.integers(min_value=1, max_value=100_000),
        st.integers(min_value=0, max_value=10_000),
    ),
    max_size=30,
)


@settings(max_examples=200)
@given(trades=trades, yes_wins=st.booleans())
def test_final_cash_matches_sum_of_cash_flows_and_equals_realized(
    trades: list[tuple[Side, int, int]], yes_wins: bool
) -> None:
    ledger = PositionLedger()
    bought = {Side.YES: 0, Side.NO: 0}
    expected_cash = 0
    netted = 0
    for side, units, price in trades:
        fee = DEFAULT_FEE_MODEL.trade_fee_micro(units, price, True)
        netted += ledger.buy(side, units, price, fee_micro=fee)
        bought[side] += units
        expected_cash -= price * units + fee
        # Realized P&L plus the open cost is all the money that went in or out so far.
        assert ledger.realized_micro == ledger.cash_micro + ledger.cost_micro
        assert ledger.position_units == bought[Side.YES] - bought[Side.NO]

    pairs = min(bought[Side.YES], bought[Side.NO])  # every YES/NO pair is redeemed for $1
    assert netted == pairs
    expected_cash += 10_000 * pairs
    assert ledger.cash_micro == expected_cash

    winners = bought[Side.YES] - pairs if yes_wins else bought[Side.NO] - pairs
    assert ledger.settle(10_000 if yes_wins else 0) == 10_000 * winners
    expected_cash += 10_000 * winners

    assert ledger.cash_micro == expected_cash
    assert ledger.realized_micro == ledger.cash_micro
    assert ledger.position_units == 0 and ledger.cost_micro == 0
    assert ledger.fees_micro == sum(DEFAULT_FEE_MODEL.trade_fee_micro(u, p, True) for _, u, p in trades)
    assert ledger.contracts_traded_units == sum(u for _, u, _ in trades)


@settings(max_examples=200)
@given(trades=trades, mark=st.integers(min_value=0, max_value=10_000))
def test_equity_is_realized_plus_unrealized_at_any_mark(
    trades: list[tuple[Side, int, int]], mark: int
) -> None:
    ledger = PositionLedger()
    for side, units, price in trades:
        ledger.buy(side, units, price, fee_micro=DEFAULT_FEE_MODEL.trade_fee_micro(units, price, True))
    assert ledger.equity_micro(mark) == ledger.realized_micro + ledger.unrealized_micro(mark)
    # Marking at the settlement price is what settling would pay.
    settled = PositionLedger(**vars(ledger))
    settled.settle(mark)
    assert settled.cash_micro == ledger.equity_micro(mark)
