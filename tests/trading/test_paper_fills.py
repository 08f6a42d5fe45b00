"""Taker fills of the paper client against hand-computed books: VWAP, fees, acks, latency."""

from __future__ import annotations

import asyncio
import re
import uuid

from kalshi_rl.core.events import Side
from kalshi_rl.trading.paper_client import KalshiPaperTradingClient
from tests.trading.conftest import TICKER, Clock, make_book, paper

ACK_KEYS = [
    "order_id",
    "client_order_id",
    "fill_count",
    "remaining_count",
    "average_fill_price",
    "average_fee_paid",
    "ts_ms",
]
FP = re.compile(r"-?\d+\.\d{2}\Z")
DOLLARS = re.compile(r"\d+\.\d{4}\Z")


async def test_one_contract_at_52_cents_acks_exactly_like_kalshi(clock: Clock) -> None:
    client = paper(make_book(yes_asks=[("0.5200", "10.00")]), clock=clock)
    ack = await client.create_order(
        TICKER, "yes", "limit", 1, "0.5200", time_in_force="immediate_or_cancel", client_order_id="c-1"
    )
    assert list(ack) == ACK_KEYS
    assert uuid.UUID(ack["order_id"])
    assert ack["client_order_id"] == "c-1"
    assert ack["fill_count"] == "1.00" and ack["remaining_count"] == "0.00"
    assert ack["average_fill_price"] == "0.5200"
    # trade fee 0.07 x 0.52 x 0.48 = $0.017472; -0.52 - 0.017472 floored to the cent, -0.54: net fee $0.02
    assert ack["average_fee_paid"] == "0.0200"
    assert ack["ts_ms"] == clock.now_ns // 1_000_000
    (fill,) = (await client.get_fills())["fills"]
    assert fill["fee_cost"] == "0.020000"
    assert fill["yes_price_dollars"] == "0.5200" and fill["no_price_dollars"] == "0.4800"
    assert fill["is_taker"] is True and fill["count_fp"] == "1.00"
    assert (await client.get_balance())["balance_dollars"] == "999.4600"  # 1000 - 0.54


async def test_walk_across_sub_cent_levels_with_a_fractional_size() -> None:
    book = make_book(yes_asks=[("0.0520", "678.99"), ("0.0530", "100.00"), ("0.0600", "500.00")])
    client = paper(book)
    ack = await client.create_order(
        TICKER, "yes", "limit", "700.00", "0.0530", time_in_force="immediate_or_cancel"
    )
    # One order, two matches, one rounding accumulator ($0.01 member precision):
    # 678.99 @ 0.0520: trade fee 0.07*678.99*0.0520*0.9480 = 2.34300437 -> 2.343005; -35.30748 - 2.343005
    #   = -37.650485 floored to -37.66: rounding 0.009515 (accumulated), net fee 2.352520;
    # 21.01 @ 0.0530: trade fee 0.07381590 -> 0.073816; -1.11353 - 0.073816 = -1.187346 -> -1.19:
    #   rounding 0.002654, accumulator 0.012169 -> a $0.01 rebate: net fee 0.066470, change -1.18.
    fills = sorted((await client.get_fills())["fills"], key=lambda f: f["yes_price_dollars"])
    assert [(f["count_fp"], f["yes_price_dollars"], f["fee_cost"]) for f in fills] == [
        ("678.99", "0.0520", "2.352520"),
        ("21.01", "0.0530", "0.066470"),
    ]
    assert ack["fill_count"] == "700.00"
    assert ack["average_fill_price"] == "0.0520"  # VWAP 36.42101 / 700 = 0.05203001
    assert ack["average_fee_paid"] == "0.0035"  # 2.418990 / 700
    (order,) = (await client.get_orders())["orders"]
    assert order["taker_fill_cost_dollars"] == "36.421010"
    assert order["taker_fees_dollars"] == "2.418990"  # the net fees of its fills
    balance = await client.get_balance()  # -37.66 - 1.18
    assert {k: v for k, v in balance.items() if k != "balance_breakdown"} == {
        "balance": 96116,
        "balance_dollars": "961.1600",
        "portfolio_value": 3642,  # no YES bid to value the position at: carried at cost, $36.42101
        "updated_ts": client.clock_ns() // 1_000_000_000,
    }
    position = (await client.get_positions())["market_positions"][0]
    assert position["position_fp"] == "700.00"
    assert position["market_exposure_dollars"] == "36.421010"
    assert position["fees_paid_dollars"] == "2.418990"
    assert position["realized_pnl_dollars"] == "-2.418990"


async def test_order_larger_than_the_book_fills_partially_and_ioc_cancels_the_rest() -> None:
    client = paper(make_book(yes_asks=[("0.5200", "10.00"), ("0.5300", "5.00")]))
    ack = await client.create_order(TICKER, "yes", "limit", 20, "0.5500", time_in_force="immediate_or_cancel")
    assert ack["fill_count"] == "15.00" and ack["remaining_count"] == "0.00"
    assert ack["average_fill_price"] == "0.5233"  # (5.20 + 2.65) / 15 = 0.52333
    order = (await client.get_order(ack["order_id"]))["order"]
    assert order["status"] == "canceled"
    assert order["fill_count_fp"] == "15.00" and order["initial_count_fp"] == "20.00"
    assert order["taker_fill_cost_dollars"] == "7.850000"


async def test_limit_stops_the_walk_before_a_worse_level() -> None:
    client = paper(make_book(yes_asks=[("0.5200", "10.00"), ("0.5300", "5.00")]))
    ack = await client.create_order(TICKER, "yes", "limit", 12, "0.5200", time_in_force="immediate_or_cancel")
    assert ack["fill_count"] == "10.00"
    assert {f["yes_price_dollars"] for f in (await client.get_fills())["fills"]} == {"0.5200"}


async def test_fill_or_kill_fills_everything_or_nothing() -> None:
    client = paper(make_book(yes_asks=[("0.5200", "10.00")]))
    killed = await client.create_order(TICKER, "yes", "limit", 11, "0.5200", time_in_force="fill_or_kill")
    assert killed["fill_count"] == "0.00" and "average_fill_price" not in killed
    assert (await client.get_order(killed["order_id"]))["order"]["status"] == "canceled"
    assert (await client.get_fills())["fills"] == []
    assert (await client.get_balance())["balance_dollars"] == "1000.0000"
    filled = await client.create_order(TICKER, "yes", "limit", 10, "0.5200", time_in_force="fill_or_kill")
    assert filled["fill_count"] == "10.00"
    assert (await client.get_order(filled["order_id"]))["order"]["status"] == "executed"


async def test_market_order_buys_no_from_the_yes_bids_and_is_capped_by_max_levels() -> None:
    bids = [(f"0.{60 - i:02d}00", "1.00") for i in range(12)]  # YES bids 0.60 .. 0.49 -> NO asks 0.40 .. 0.51
    client = paper(make_book(yes_bids=bids))
    ack = await client.create_order(TICKER, "no", "market", 20)
    assert ack["fill_count"] == "10.00"  # FillConfig.max_levels = 10 displayed levels
    fills = (await client.get_fills())["fills"]
    assert sorted(f["no_price_dollars"] for f in fills) == [f"0.{40 + i}00" for i in range(10)]
    assert all(f["outcome_side"] == "no" and f["book_side"] == "ask" for f in fills)
    order = (await client.get_order(ack["order_id"]))["order"]
    assert order["type"] == "market" and order["status"] == "canceled"


async def test_taken_liquidity_is_remembered_so_a_second_order_walks_deeper(clock: Clock) -> None:
    client = paper(make_book(yes_asks=[("0.5200", "10.00"), ("0.5400", "10.00")]), clock=clock)
    await client.create_order(TICKER, "yes", "market", 10)
    clock.advance_ms(100)  # the memory fades over 5 s of event time: 100 ms later 9.80 are still hidden
    ack = await client.create_order(TICKER, "yes", "market", 10, client_order_id="second")
    assert ack["average_fill_price"] == "0.5396"  # 0.20 @ 0.52 + 9.80 @ 0.54
    second = (await client.get_fills(order_id=ack["order_id"]))["fills"]
    assert sorted((f["yes_price_dollars"], f["count_fp"]) for f in second) == [
        ("0.5200", "0.20"),
        ("0.5400", "9.80"),
    ]


async def test_the_order_meets_the_book_as_it_is_after_the_latency() -> None:
    book = make_book(yes_asks=[("0.5200", "10.00")])
    client = paper(book, latency_min_ms=30.0, latency_max_ms=30.0)
    order = asyncio.create_task(client.create_order(TICKER, "yes", "market", 5))
    await asyncio.sleep(0.005)  # the order is on its way
    assert (await client.get_orders())["orders"] == []
    assert (await client.get_balance())["balance"] < 100_000  # its worst case is already reserved
    book.state.apply_delta(Side.NO, 4_800, -1_000)  # the 0.52 ask is gone ...
    book.state.apply_delta(Side.NO, 4_500, 1_000)  # ... and 0.55 is the best ask now
    book.touch()
    ack = await order
    assert ack["average_fill_price"] == "0.5500"


def test_latency_is_drawn_in_the_configured_range_and_seeded() -> None:
    book = make_book()
    first = paper(book, latency_min_ms=10.0, latency_max_ms=100.0, seed=7)
    second = paper(book, latency_min_ms=10.0, latency_max_ms=100.0, seed=7)
    draws = [first.engine.latency_ns() for _ in range(50)]
    assert draws == [second.engine.latency_ns() for _ in range(50)]
    assert all(10_000_000 <= d <= 100_000_000 for d in draws)
    assert len(set(draws)) > 1


async def test_v2_bid_and_ask_map_to_yes_and_no_purchases() -> None:
    client = paper(make_book(yes_bids=[("0.4800", "10.00")], yes_asks=[("0.5200", "10.00")]))
    bid = await client.create_order_v2(
        TICKER, "bid", "2.00", "0.5200", "immediate_or_cancel", "taker_at_cross"
    )
    ask = await client.create_order_v2(TICKER, "ask", "3.00", "0.4800", "immediate_or_cancel", "maker")
    assert bid["average_fill_price"] == "0.5200" and ask["average_fill_price"] == "0.4800"  # YES leg
    orders = {o["order_id"]: o for o in (await client.get_orders())["orders"]}
    assert orders[bid["order_id"]]["book_side"] == "bid" and orders[bid["order_id"]]["outcome_side"] == "yes"
    assert orders[ask["order_id"]]["book_side"] == "ask" and orders[ask["order_id"]]["outcome_side"] == "no"
    assert orders[ask["order_id"]]["no_price_dollars"] == "0.5200"  # sold YES at 0.48 = bought NO at 0.52
    assert (await client.get_positions())["market_positions"][0]["position_fp"] == "-1.00"  # 2 YES, 3 NO net


async def test_no_buy_and_yes_sell_are_the_same_ask(clock: Clock) -> None:
    """Kalshi's mapping: no/buy @p == ask @(1-p) == yes/sell @(1-p)."""
    results = []
    for side, action, price in (("no", "buy", "0.5200"), ("yes", "sell", "0.4800")):
        client: KalshiPaperTradingClient = paper(make_book(yes_bids=[("0.4800", "10.00")]), clock=clock)
        ack = await client.create_order(
            TICKER, side, "limit", 4, price, action=action, time_in_force="immediate_or_cancel"
        )
        (fill,) = (await client.get_fills())["fills"]
        results.append(
            (ack["average_fill_price"], fill["outcome_side"], fill["no_price_dollars"], fill["fee_cost"])
        )
        assert FP.match(fill["count_fp"]) and DOLLARS.match(fill["yes_price_dollars"])
    # trade fee 0.07 x 4 x 0.52 x 0.48 = 0.069888; -2.08 - 0.069888 floored to -2.15: net fee 0.07
    assert results[0] == results[1] == ("0.4800", "no", "0.5200", "0.070000")
