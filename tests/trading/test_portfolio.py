"""Positions, P&L, balance and settlements, hand-computed, through the paper client's public API.

Fees follow Kalshi's current fee-rounding document (docs.kalshi.com/getting_started/fee_rounding,
version retrieved 2026-10-08): each match's trade fee (0.07 x C x P x (1 - P) on Kalshi's general
schedule) is rounded up to $0.000001; the match's balance change, revenue - trade fee, is aligned
down to the member's precision ($0.01 here unless a test says otherwise: a non-direct member);
the difference is a rounding fee that goes into the order's accumulator and is rebated a whole
increment at a time, capped so the match's net fee (its ``fee_cost``) is never negative."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_rl.core.events import EventFeeUpdate
from kalshi_rl.core.fee_schedule import FeeSchedule, FeeSource, FeeType
from kalshi_rl.core.units import parse_count_fp, parse_price_dollars
from kalshi_rl.execution.fees import DIRECT_PRECISION_MICRO, FeePolicy
from kalshi_rl.execution.fill_engine import FillConfig
from kalshi_rl.trading.orders import KalshiApiError
from kalshi_rl.trading.paper_client import KalshiPaperTradingClient
from tests.trading.conftest import (
    T0_NS,
    TICKER,
    Clock,
    add_yes_ask,
    determine,
    eventually,
    make_book,
    market_info,
    paper,
)

# YES 0.60 bid / 0.52 ask would be crossed on a real exchange; it is a convenient fixed book here.
BOOK = {"yes_bids": [("0.6000", "100.00")], "yes_asks": [("0.5200", "100.00")]}


async def _position(client: KalshiPaperTradingClient) -> dict[str, object]:
    (position,) = (await client.get_positions())["market_positions"]
    return position


async def test_round_trip_buy_then_sell_yes_realizes_the_spread_minus_both_fees(clock: Clock) -> None:
    client = paper(make_book(**BOOK), clock=clock)
    # 10 @ 0.52: trade fee 0.07 x 10 x 0.52 x 0.48 = 0.17472; -5.20 - 0.17472 = -5.37472 -> -5.38,
    # a 0.00528 rounding fee: net fee 0.18.
    await client.create_order(TICKER, "yes", "market", 10)
    position = await _position(client)
    assert position["position_fp"] == "10.00"
    assert position["market_exposure_dollars"] == "5.2000"
    assert position["realized_pnl_dollars"] == "-0.1800"
    clock.advance_ms(5)
    # Selling 10 @ 0.60 buys 10 NO @ 0.40 and redeems 10 pairs: revenue +6.00; trade fee
    # 0.07 x 10 x 0.40 x 0.60 = 0.168; 6.00 - 0.168 = 5.832 -> 5.83: net fee 0.17.
    await client.create_order(TICKER, "yes", "market", 10, action="sell", reduce_only=True)
    (position,) = (await client.get_positions())["market_positions"]
    assert {k: position[k] for k in ("total_traded_dollars", "position_fp", "market_exposure_dollars")} == {
        "total_traded_dollars": "9.2000",  # 5.20 of YES + 4.00 of NO (the sale bought NO at 0.40)
        "position_fp": "0.00",
        "market_exposure_dollars": "0.0000",
    }
    assert position["realized_pnl_dollars"] == "0.4500"  # 10 x (0.60 - 0.52) - 0.18 - 0.17
    assert position["fees_paid_dollars"] == "0.3500"
    assert position["last_updated_ts"] == "2027-01-15T08:00:00.005000Z"
    balance = await client.get_balance()
    assert (balance["balance"], balance["balance_dollars"], balance["portfolio_value"]) == (
        100045,
        "1000.4500",
        0,
    )


async def test_buying_no_while_holding_yes_nets_the_pairs() -> None:
    client = paper(make_book(**BOOK))
    await client.create_order(TICKER, "yes", "market", 10)  # 10 YES @ 0.52: balance -5.38 (net fee 0.18)
    # 4 NO @ 0.40 close 4 YES: revenue 4 x $1 - 1.60 = 2.40; trade fee 0.07 x 4 x 0.4 x 0.6 = 0.0672;
    # 2.40 - 0.0672 = 2.3328 -> 2.33: net fee 0.07.
    await client.create_order(TICKER, "no", "limit", 4, "0.4000", time_in_force="immediate_or_cancel")
    position = await _position(client)
    assert position["position_fp"] == "6.00"
    assert position["market_exposure_dollars"] == "3.1200"  # 6 x 0.52: closing removes cost pro rata
    assert position["realized_pnl_dollars"] == "0.0700"  # 4 x (1 - 0.40 - 0.52) - 0.18 - 0.07
    assert client.ledger(TICKER).average_cost_ticks() == 5_200
    assert (await client.get_balance())["balance_dollars"] == "996.9500"  # 1000 - 5.38 + 2.33


async def test_balance_moves_by_exactly_the_fills_and_their_fees() -> None:
    client = paper(make_book(yes_asks=[("0.5200", "3.00"), ("0.5300", "2.50"), ("0.5700", "100.00")]))
    await client.create_order(TICKER, "yes", "market", 7)
    await client.create_order(TICKER, "yes", "limit", "1.25", "0.5700", time_in_force="immediate_or_cancel")
    fills = (await client.get_fills())["fills"]
    assert len(fills) == 4  # 3 @ 0.52, 2.5 @ 0.53, 1.5 @ 0.57, then 1.25 @ 0.57: one match each
    # fee_cost is each match's net fee: price x count + fee_cost is exactly what the balance lost.
    spent = sum(
        Decimal(f["count_fp"]) * Decimal(f["yes_price_dollars"]) + Decimal(f["fee_cost"]) for f in fills
    )
    balance = await client.get_balance()
    assert Decimal(balance["balance_dollars"]) == Decimal(1000) - spent
    assert spent % Decimal("0.01") == 0 and balance["balance"] == int((Decimal(1000) - spent) * 100)


async def test_kalshis_fcm_cleared_fill_example_through_the_paper_client() -> None:
    # F3 "FCM-cleared fill": revenue -$0.055, model fee $0.00363825 -> trade fee $0.003639; the
    # balance changes by -$0.06; "the trade fee plus rounding fee is exactly $0.005".
    client = paper(make_book(yes_asks=[("0.0550", "1.00")]))
    await client.create_order(TICKER, "yes", "market", 1)
    (fill,) = (await client.get_fills())["fills"]
    assert fill["fee_cost"] == "0.005000"
    assert (await client.get_balance())["balance_dollars"] == "999.9400"


async def test_a_direct_member_is_aligned_to_the_centicent() -> None:
    policy = FeePolicy(member_precision_micro=DIRECT_PRECISION_MICRO)
    client = paper(make_book(**BOOK), fill=FillConfig(fees=policy))
    await client.create_order(TICKER, "yes", "market", 10)  # -5.37472 -> -5.3748
    (fill,) = (await client.get_fills())["fills"]
    assert fill["fee_cost"] == "0.174800"
    assert (await client.get_balance())["balance_dollars"] == "994.6252"


async def test_an_order_carries_its_rounding_from_its_taker_match_to_its_maker_match(clock: Clock) -> None:
    """F3: "The fee accumulator is maintained per order across all fills regardless of whether the
    fills are taker or maker"; here the maker match's rounding takes it past a cent, rebated."""
    book = make_book(yes_asks=[("0.3000", "1.00")], info=market_info(grid=()))
    book.set_fees(FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(1)), None)
    client = paper(book, clock=clock)
    await client.start()
    try:
        # Taker 1 @ 0.30: trade fee 0.07 x 0.3 x 0.7 = 0.0147; -0.3147 -> -0.32: rounding 0.0053.
        await client.create_order(TICKER, "yes", "limit", 2, "0.3500")  # the other 1 rests at 0.35
        # Maker 1 @ 0.35: trade fee 0.0175 x 0.35 x 0.65 = 0.00398125 -> 0.003982; -0.353982 -> -0.36:
        # rounding 0.006018, accumulator 0.011318: a $0.01 rebate (the match paid exactly $0.01), so
        # its net fee is 0 and the balance moves by -0.35; $0.001318 stays in the accumulator.
        add_yes_ask(book, "0.3400", "1.00")
        await eventually(lambda: client.stats.maker_fills == 1)
    finally:
        await client.close()
    fills = (await client.get_fills())["fills"]
    assert sorted((f["is_taker"], f["fee_cost"]) for f in fills) == [(False, "0.000000"), (True, "0.020000")]
    assert (await _position(client))["fees_paid_dollars"] == "0.0200"
    assert (await client.get_balance())["balance_dollars"] == "999.3300"  # 1000 - 0.32 - 0.35


async def test_an_event_fee_update_prices_the_next_fill() -> None:
    book = make_book(**BOOK)
    book.set_info(market_info())  # as the collector does: the status learns the market's event
    book.set_fees(FeeSchedule(FeeType.QUADRATIC, Fraction(1)), None)
    client = paper(book)
    await client.create_order(TICKER, "yes", "market", 1)  # 0.07 x 0.52 x 0.48 = 0.017472 -> net 0.02
    override = FeeSchedule(FeeType.QUADRATIC, Fraction(3), FeeSource.EVENT_OVERRIDE)
    assert book.apply_event_fee(EventFeeUpdate("KXTEST-26JAN01", override, T0_NS))
    await client.create_order(TICKER, "yes", "market", 1)  # 3 x 0.017472 = 0.052416 -> net 0.06
    fills = (await client.get_fills())["fills"]
    assert sorted(f["fee_cost"] for f in fills) == ["0.020000", "0.060000"]


async def test_a_flat_fee_market_refuses_orders_unless_its_fee_is_configured() -> None:
    book = make_book(**BOOK, info=market_info())
    book.set_fees(FeeSchedule(FeeType.FLAT, Fraction(1)), None)
    with pytest.raises(KalshiApiError) as error:
        await paper(book).create_order(TICKER, "yes", "market", 10)
    assert error.value.code == "invalid_order"
    assert TICKER in str(error.value) and "--flat-fee" in str(error.value)
    priced = paper(book, fill=FillConfig(fees=FeePolicy(flat_fee_per_contract=Fraction("0.02"))))
    await priced.create_order(TICKER, "yes", "market", 10)
    (fill,) = (await priced.get_fills())["fills"]
    assert fill["fee_cost"] == "0.200000"  # 10 x $0.02, whatever the price


async def test_a_market_that_turns_flat_keeps_its_balance_readable_and_refuses_new_orders() -> None:
    book = make_book(**BOOK, info=market_info())
    client = paper(book)
    await client.create_order(TICKER, "yes", "limit", 1, "0.4000")  # rests: the ask is 0.52
    # Its worst case: 0.40 + 0.07 x 0.4 x 0.6 = 0.0168 + 12 cents of rounding slack.
    assert (await client.get_balance())["balance_dollars"] == "999.4632"
    book.set_fees(None, FeeSchedule(FeeType.FLAT, Fraction(1), FeeSource.EVENT_OVERRIDE))
    assert (await client.get_balance())["balance_dollars"] == "999.4800"  # the price and slack only
    with pytest.raises(KalshiApiError) as error:
        await client.create_order(TICKER, "yes", "limit", 1, "0.4000")
    assert error.value.code == "invalid_order" and "flat" in str(error.value)


@pytest.mark.parametrize(
    ("result", "revenue", "balance", "realized"),
    [("yes", 1000, "1004.6200", "4.6200"), ("no", 0, "994.6200", "-5.3800")],
)
async def test_settlement_pays_the_winning_side(
    result: str, revenue: int, balance: str, realized: str
) -> None:
    book = make_book(**BOOK, info=market_info())
    client = paper(book)
    await client.create_order(TICKER, "yes", "market", 10)  # 10 YES @ 0.52, net fee 0.18: -5.38
    assert await client.settle_market(TICKER) is None  # not determined yet: nothing to settle
    determine(book, result)
    record = await client.settle_market(TICKER)
    assert record is not None
    assert {k: v for k, v in record.items() if k != "exchange_index"} == {
        "ticker": TICKER,
        "event_ticker": "KXTEST-26JAN01",
        "market_result": result,
        "yes_count_fp": "10.00",
        "yes_total_cost_dollars": "5.2000",
        "no_count_fp": "0.00",
        "no_total_cost_dollars": "0.0000",
        "revenue": revenue,
        "settled_time": "2027-01-15T08:00:00.000000Z",
        "fee_cost": "0.1800",
        "value": 100 if result == "yes" else 0,
    }
    assert await client.settle_market(TICKER) is None  # once
    assert (await client.get_settlements()) == {"settlements": [record], "cursor": ""}
    assert (await client.get_balance())["balance_dollars"] == balance
    position = await _position(client)
    assert position["position_fp"] == "0.00" and position["realized_pnl_dollars"] == realized


async def test_a_no_position_settles_through_the_watcher() -> None:
    book = make_book(**BOOK, info=market_info())
    client = paper(book)
    # 5 NO @ 0.40 (from the 0.60 YES bid): trade fee 0.084; -2.084 -> -2.09.
    await client.create_order(TICKER, "no", "market", 5)
    await client.start()
    try:
        determine(book, "no")
        await eventually(lambda: client.stats.settlements == 1)
    finally:
        await client.close()
    (record,) = (await client.get_settlements())["settlements"]
    assert (record["no_count_fp"], record["no_total_cost_dollars"], record["revenue"]) == (
        "5.00",
        "2.0000",
        500,
    )
    assert (await client.get_balance())["balance_dollars"] == "1002.9100"  # -2.09 + 5


async def test_selling_what_you_hold_needs_no_collateral() -> None:
    client = paper(make_book(**BOOK), starting_balance_dollars="6.00")
    # The worst case, 10 x 0.53 + fee at 0.53 (0.17437) + a cent of rounding per possible match
    # (12), $5.59437, fits in $6; it fills 10 @ 0.52 for $5.38.
    await client.create_order(TICKER, "yes", "market", 10, "0.5300")
    assert (await client.get_balance())["balance_dollars"] == "0.6200"
    # Selling the 10 YES closes them (buying NO pairs them off): allowed with $0.62 left.
    ack = await client.create_order(TICKER, "yes", "limit", 10, "0.9000", action="sell")
    assert ack["remaining_count"] == "10.00"  # rests: nobody bids 0.90
    # Opening 10 NO instead would cost 10 x 0.10 + fee: more than the balance.
    with pytest.raises(KalshiApiError) as error:
        await client.create_order(TICKER, "no", "limit", 20, "0.1000")
    assert error.value.code == "insufficient_balance"


# --- property: netting and settlement agree with plain accounting ----------------------------


@settings(max_examples=40, deadline=None)
@given(
    orders=st.lists(
        st.tuples(st.sampled_from(["yes", "no"]), st.sampled_from(["buy", "sell"]), st.integers(1, 2_000)),
        min_size=1,
        max_size=8,
    ),
    winner=st.sampled_from(["yes", "no"]),
)
def test_settled_cash_equals_winning_contracts_minus_all_costs(
    orders: list[tuple[str, str, int]], winner: str
) -> None:
    """Whatever the netting did, after settlement cash = start - Σ(price x count + fee_cost) + $1
    per winning contract ever bought, exactly (fee_cost is each match's net fee, rounding and
    rebates included), every match's net fee >= 0, and cash in whole cents throughout."""

    async def run() -> tuple[int, int]:
        book = make_book(
            yes_bids=[("0.4500", "15.37"), ("0.4400", "30.00")],
            yes_asks=[("0.4730", "12.50"), ("0.4800", "40.00")],
            info=market_info(grid=()),
        )
        client = paper(book)
        for side, action, units in orders:
            count = f"{units // 100}.{units % 100:02d}"
            await client.create_order(TICKER, side, "market", count, action=action)
        determine(book, winner)
        await client.settle_market(TICKER)
        expected = client.portfolio.starting_balance_micro
        for fill in (await client.get_fills())["fills"]:
            units = parse_count_fp(fill["count_fp"])
            price = parse_price_dollars(fill[f"{fill['outcome_side']}_price_dollars"])
            fee_micro = int(Decimal(fill["fee_cost"]).scaleb(6))
            assert fee_micro >= 0
            expected -= units * price + fee_micro
            if fill["outcome_side"] == winner:
                expected += units * 10_000
        assert client.ledger(TICKER).position_units == 0
        return client.portfolio.cash_micro, expected

    cash, expected = asyncio.run(run())
    assert cash == expected
    assert cash % 10_000 == 0
