"""Positions, P&L, balance and settlements, hand-computed, through the paper client's public API."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_rl.core.units import parse_count_fp, parse_price_dollars
from kalshi_rl.trading.orders import KalshiApiError
from kalshi_rl.trading.paper_client import KalshiPaperTradingClient
from tests.trading.conftest import (
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
    await client.create_order(TICKER, "yes", "market", 10)  # 10 @ 0.52, fee 0.07*10*0.52*0.48 = 0.1748
    position = await _position(client)
    assert position["position_fp"] == "10.00"
    assert position["market_exposure_dollars"] == "5.2000"
    assert position["realized_pnl_dollars"] == "-0.1748"
    clock.advance_ms(5)
    await client.create_order(
        TICKER, "yes", "market", 10, action="sell", reduce_only=True
    )  # 10 @ 0.60, fee 0.1680
    assert await client.get_positions() == {
        "market_positions": [
            {
                "ticker": TICKER,
                "total_traded_dollars": "9.2000",  # 5.20 of YES + 4.00 of NO (the sale bought NO at 0.40)
                "position_fp": "0.00",
                "market_exposure_dollars": "0.0000",
                "realized_pnl_dollars": "0.4572",  # 10 x (0.60 - 0.52) - 0.1748 - 0.1680
                "fees_paid_dollars": "0.3428",
                "last_updated_ts": "2027-01-15T08:00:00.005000Z",
                "resting_orders_count": 0,
            }
        ],
        "event_positions": [],
        "cursor": "",
    }
    balance = await client.get_balance()
    assert balance == {
        "balance": 100045,
        "balance_dollars": "1000.4572",
        "portfolio_value": 0,
        "updated_ts": 1_800_000_000,
    }


async def test_buying_no_while_holding_yes_nets_the_pairs() -> None:
    client = paper(make_book(**BOOK))
    await client.create_order(TICKER, "yes", "market", 10)  # 10 YES @ 0.52, fee 0.1748
    await client.create_order(
        TICKER, "no", "limit", 4, "0.4000", time_in_force="immediate_or_cancel"
    )  # fee 0.0672
    position = await _position(client)
    assert position["position_fp"] == "6.00"
    assert position["market_exposure_dollars"] == "3.1200"  # 6 x 0.52: closing removes cost pro rata
    assert position["realized_pnl_dollars"] == "0.0780"  # 4 x (1 - 0.40 - 0.52) - 0.1748 - 0.0672
    assert client.ledger(TICKER).average_cost_ticks() == 5_200
    # Cash: -5.2 - 0.1748 - 1.6 - 0.0672 + 4 pairs redeemed at $1.
    assert (await client.get_balance())["balance_dollars"] == "996.9580"


async def test_balance_moves_by_exactly_the_fills_and_their_fees() -> None:
    client = paper(make_book(yes_asks=[("0.5200", "3.00"), ("0.5300", "2.50"), ("0.5700", "100.00")]))
    await client.create_order(TICKER, "yes", "market", 7)
    await client.create_order(TICKER, "yes", "limit", "1.25", "0.5700", time_in_force="immediate_or_cancel")
    fills = (await client.get_fills())["fills"]
    spent = sum(
        Decimal(f["count_fp"]) * Decimal(f["yes_price_dollars"]) + Decimal(f["fee_cost"]) for f in fills
    )
    balance = await client.get_balance()
    assert Decimal(balance["balance_dollars"]) == Decimal(1000) - spent  # all whole $0.0001 here
    assert balance["balance"] == int((Decimal(1000) - spent) * 100)


async def test_fee_rounding_is_floored_per_order_and_refunded_by_its_accumulator(clock: Clock) -> None:
    book = make_book(yes_asks=[("0.6000", "10.00")])
    client = paper(book, clock=clock)
    await client.start()
    try:
        await client.create_order(TICKER, "yes", "limit", "0.02", "0.5001")
        add_yes_ask(book, "0.5000", "0.01")  # 0.01 @ 0.5001 = $0.005001 -> floored to $0.0051
        await eventually(lambda: client.stats.maker_fills == 1)
        assert (await _position(client))["fees_paid_dollars"] == "0.000099"
        # Cash 999.9949; the 0.01 still resting reserves 0.005001 + fee 0.0002 + slack 0.0012.
        assert (await client.get_balance())["balance_dollars"] == "999.9884"
        add_yes_ask(book, "0.4990", "0.01")  # total $0.010002 -> $0.0101: 0.000098 rounding, not 0.000198
        await eventually(lambda: client.stats.maker_fills == 2)
        assert (await client.get_balance())["balance_dollars"] == "999.9899"
        assert (await _position(client))["fees_paid_dollars"] == "0.000098"
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("result", "revenue", "balance", "realized"),
    [("yes", 1000, "1004.6252", "4.6252"), ("no", 0, "994.6252", "-5.3748")],
)
async def test_settlement_pays_the_winning_side(
    result: str, revenue: int, balance: str, realized: str
) -> None:
    book = make_book(**BOOK, info=market_info())
    client = paper(book)
    await client.create_order(TICKER, "yes", "market", 10)  # 10 YES @ 0.52 + 0.1748 fee
    assert await client.settle_market(TICKER) is None  # not determined yet: nothing to settle
    determine(book, result)
    record = await client.settle_market(TICKER)
    assert record == {
        "ticker": TICKER,
        "event_ticker": "KXTEST-26JAN01",
        "market_result": result,
        "yes_count_fp": "10.00",
        "yes_total_cost_dollars": "5.2000",
        "no_count_fp": "0.00",
        "no_total_cost_dollars": "0.0000",
        "revenue": revenue,
        "settled_time": "2027-01-15T08:00:00.000000Z",
        "fee_cost": "0.1748",
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
    await client.create_order(TICKER, "no", "market", 5)  # NO @ 0.40 (from the 0.60 YES bid), fee 0.0840
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
    assert (await client.get_balance())["balance_dollars"] == "1002.9160"  # -2.00 - 0.0840 + 5


async def test_selling_what_you_hold_needs_no_collateral() -> None:
    client = paper(make_book(**BOOK), starting_balance_dollars="6.00")
    await client.create_order(TICKER, "yes", "market", 10, "0.5300")  # reserve 10 x 0.53 + fee: fits in $6
    assert (await client.get_balance())["balance_dollars"] == "0.6252"
    # Selling the 10 YES closes them (buying NO pairs them off): allowed with $0.6252 left.
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
    """Whatever the netting did, after settlement cash = start - Σ(price x count + fee) + $1 per
    winning contract ever bought, less under $0.0001 of rounding per order."""

    async def run() -> tuple[int, int, int]:
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
            expected -= units * price + parse_price_dollars(fill["fee_cost"][:-2]) * 100
            if fill["outcome_side"] == winner:
                expected += units * 10_000
        assert client.ledger(TICKER).position_units == 0
        return client.portfolio.cash_micro, expected, len(orders) + 1

    cash, expected, postings = asyncio.run(run())
    assert 0 <= expected - cash < 100 * postings
    assert cash % 100 == 0
