"""Order lifecycle: resting, maker fills as the book trades through, cancel, amend, decrease, errors.

Money follows Kalshi's fee-rounding document for a non-direct member (balances aligned to $0.01,
the paper client's default): a fill's balance change is floored to the cent and the difference
is a rounding fee, part of the fill's net fee (``fee_cost``).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from kalshi_rl.core.events import Side
from kalshi_rl.core.fee_schedule import FeeSchedule, FeeType
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

BOOK = {"yes_bids": [("0.4000", "50.00")], "yes_asks": [("0.5600", "10.00")]}


async def _order(client: KalshiPaperTradingClient, order_id: str) -> dict[str, Any]:
    return (await client.get_order(order_id))["order"]


async def test_resting_order_fills_as_maker_when_the_book_trades_through_it(clock: Clock) -> None:
    book = make_book(**BOOK, info=market_info())
    client = paper(book, clock=clock)
    await client.start()
    try:
        ack = await client.create_order(TICKER, "yes", "limit", 10, "0.5000")
        assert ack["fill_count"] == "0.00" and ack["remaining_count"] == "10.00"
        order = await _order(client, ack["order_id"])
        assert order["status"] == "resting" and order["self_trade_prevention_type"] == "taker_at_cross"
        # 10 x 0.50 + the taker fee at 0.50 (0.1750) + $0.01 of rounding for each of 12 matches.
        assert (await client.get_balance())["balance_dollars"] == "994.7050"
        assert (await client.get_positions())["market_positions"] == []

        clock.advance_ms(10)
        add_yes_ask(book, "0.4800", "4.00")  # a seller at 0.48 crosses our 0.50 bid
        await eventually(lambda: client.stats.maker_fills == 1)
        order = await _order(client, ack["order_id"])
        assert (order["status"], order["fill_count_fp"], order["remaining_count_fp"]) == (
            "resting",
            "4.00",
            "6.00",
        )
        (fill,) = (await client.get_fills())["fills"]
        assert fill["is_taker"] is False and fill["yes_price_dollars"] == "0.5000"  # at our price
        assert fill["fee_cost"] == "0.000000"  # this series charges no maker fee
        assert order["maker_fill_cost_dollars"] == "2.000000"

        clock.advance_ms(10)
        add_yes_ask(book, "0.4900", "10.00")  # 0.48 was taken already: only 0.49 is left to us
        await eventually(lambda: client.stats.maker_fills == 2)
        order = await _order(client, ack["order_id"])
        assert (order["status"], order["fill_count_fp"], order["remaining_count_fp"]) == (
            "executed",
            "10.00",
            "0.00",
        )
        assert (await client.get_balance())["balance_dollars"] == "995.0000"  # exactly 10 x 0.50
        assert (await client.get_positions())["market_positions"][0]["position_fp"] == "10.00"
    finally:
        await client.close()


async def test_maker_fee_is_charged_on_series_with_maker_fees(clock: Clock) -> None:
    book = make_book(**BOOK)
    book.set_fees(FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(1)), None)  # the series' schedule
    client = paper(book, clock=clock)
    await client.start()
    try:
        await client.create_order(TICKER, "yes", "limit", 4, "0.5000")
        add_yes_ask(book, "0.4800", "4.00")
        await eventually(lambda: client.stats.maker_fills == 1)
        (fill,) = (await client.get_fills())["fills"]
        # trade fee 0.07 x 0.25 x 4 x 0.5 x 0.5 = 0.0175; -2.00 - 0.0175 floored to -2.02: net fee 0.02
        assert fill["fee_cost"] == "0.020000"
    finally:
        await client.close()


async def test_resting_order_canceled_releases_its_reserve_and_cannot_be_canceled_twice() -> None:
    client = paper(make_book(**BOOK))
    ack = await client.create_order(TICKER, "yes", "limit", 10, "0.5000", client_order_id="rest-1")
    assert client.orders_open(TICKER)[0]["order_id"] == ack["order_id"]
    assert (await client.get_positions())["market_positions"] == []
    canceled = await client.cancel_order(ack["order_id"])
    assert canceled == {
        "order_id": ack["order_id"],
        "client_order_id": "rest-1",
        "reduced_by": "10.00",
        "ts_ms": canceled["ts_ms"],
    }
    assert (await _order(client, ack["order_id"]))["status"] == "canceled"
    assert client.orders_open(TICKER) == []
    assert (await client.get_balance())["balance_dollars"] == "1000.0000"
    with pytest.raises(KalshiApiError) as error:
        await client.cancel_order(ack["order_id"])
    assert error.value.status == 404 and error.value.body["error"]["code"] == "not_found"
    with pytest.raises(KalshiApiError) as duplicate:  # a client order id is never freed
        await client.create_order(TICKER, "yes", "limit", 1, "0.5000", client_order_id="rest-1")
    assert duplicate.value.status == 409 and duplicate.value.code == "order_already_exists"


async def test_amend_changes_price_and_size_and_a_crossing_price_fills_at_once() -> None:
    client = paper(make_book(**BOOK, info=market_info()))
    ack = await client.create_order(TICKER, "yes", "limit", 10, "0.5000")
    amended = await client.amend_order(ack["order_id"], 12, "0.5300")
    assert (amended["fill_count"], amended["remaining_count"]) == ("0.00", "12.00")  # the size changed
    assert amended["average_fill_price"] is None  # only when the amend filled (x-omitempty: false)
    order = await _order(client, ack["order_id"])
    assert (order["yes_price_dollars"], order["remaining_count_fp"]) == ("0.5300", "12.00")
    unchanged = await client.amend_order(ack["order_id"], 12, "0.5200")
    assert [k for k, v in unchanged.items() if v is not None] == ["order_id", "client_order_id", "ts_ms"]
    crossed = await client.amend_order(ack["order_id"], 12, 56)  # legacy int cents
    assert (crossed["fill_count"], crossed["remaining_count"]) == ("10.00", "2.00")
    assert crossed["average_fill_price"] == "0.5600"
    order = await _order(client, ack["order_id"])
    assert order["status"] == "resting" and order["taker_fill_cost_dollars"] == "5.600000"
    with pytest.raises(KalshiApiError) as error:
        await client.amend_order(ack["order_id"], 10, "0.5600")  # not more than the 10 filled
    assert error.value.code == "invalid_order"
    with pytest.raises(KalshiApiError) as error:
        await client.amend_order(ack["order_id"], 12, "0.5650")  # off the cent grid
    assert error.value.code == "invalid_price"
    assert (await _order(client, ack["order_id"]))["yes_price_dollars"] == "0.5600"


async def test_decrease_by_and_to_then_to_zero_cancels() -> None:
    client = paper(make_book(**BOOK))
    ack = await client.create_order(TICKER, "no", "limit", 10, "0.3000")
    assert (await client.decrease_order(ack["order_id"], reduce_by=3))["remaining_count"] == "7.00"
    assert (await client.decrease_order(ack["order_id"], reduce_to="2.50"))["remaining_count"] == "2.50"
    for bad in ({}, {"reduce_by": 1, "reduce_to": 1}, {"reduce_to": 5}, {"reduce_by": "0.001"}):
        with pytest.raises(KalshiApiError) as error:
            await client.decrease_order(ack["order_id"], **bad)
        assert error.value.code == "invalid_order"
    assert (await _order(client, ack["order_id"]))["remaining_count_fp"] == "2.50"
    assert (await client.decrease_order(ack["order_id"], reduce_to=0))["remaining_count"] == "0.00"
    assert (await _order(client, ack["order_id"]))["status"] == "canceled"


async def test_settlement_cancels_resting_orders_and_closes_the_market(clock: Clock) -> None:
    book = make_book(**BOOK, info=market_info())
    client = paper(book, clock=clock)
    await client.start()
    try:
        ack = await client.create_order(TICKER, "yes", "limit", 10, "0.5000")
        determine(book, "no")
        await eventually(lambda: client.stats.settlements == 1)
        assert (await _order(client, ack["order_id"]))["status"] == "canceled"
        with pytest.raises(KalshiApiError) as error:
            await client.create_order(TICKER, "yes", "limit", 1, "0.5000")
        assert error.value.status == 409 and error.value.code == "market_closed"
    finally:
        await client.close()


# --- refused orders change nothing -----------------------------------------------------------


def _state(client: KalshiPaperTradingClient) -> tuple[Any, ...]:
    asks = client.books[TICKER].state.top_asks(Side.YES, 10)
    return (
        client.portfolio.cash_micro,
        client.portfolio.reserved_micro(),
        {
            t: vars(ledger).copy()
            for t, ledger in client.portfolio.ledgers.items()
            if ledger.contracts_traded_units
        },
        [(o.order_id, o.status, o.remaining_units) for o in client.orders.all.values()],
        len(client.orders.fills),
        client.engine.available(Side.YES, asks, client.clock_ns()),
        client.stats.orders_accepted,
    )


FUTURE_S = T0_NS // 1_000_000_000 + 60
REFUSALS: list[tuple[dict[str, Any], int, str]] = [
    ({"price": "0.5650"}, 400, "invalid_price"),  # sub-cent price on a cent grid
    ({"price": "1.0000"}, 400, "invalid_price"),
    ({"price": 0.56}, 400, "invalid_price"),  # a float never holds a price
    ({"price": None}, 400, "invalid_price"),  # a limit order needs one
    ({"quantity": 0}, 400, "invalid_order"),
    ({"quantity": -1}, 400, "invalid_order"),
    ({"quantity": "0.001"}, 400, "invalid_order"),
    ({"quantity": Decimal("0.005")}, 400, "invalid_order"),
    ({"side": "maybe"}, 400, "invalid_parameters"),
    ({"action": "hold"}, 400, "invalid_parameters"),
    ({"order_type": "stop"}, 400, "invalid_parameters"),
    ({"time_in_force": "day"}, 400, "invalid_parameters"),
    ({"self_trade_prevention_type": "none"}, 400, "invalid_parameters"),
    ({"self_trade_prevention_type": None}, 400, "invalid_parameters"),
    ({"cancel_order_on_pause": "yes"}, 400, "invalid_parameters"),
    ({"expiration_time": 1.5e9}, 400, "invalid_parameters"),  # integer Unix seconds only
    ({"expiration_time": T0_NS // 1_000_000_000}, 400, "invalid_order"),  # not in the future
    ({"expiration_time": FUTURE_S, "time_in_force": "immediate_or_cancel"}, 400, "invalid_order"),
    ({"reduce_only": True}, 400, "invalid_order"),  # only with immediate_or_cancel
    ({"post_only": True, "time_in_force": "fill_or_kill"}, 400, "invalid_order"),
    ({"quantity": 2_000}, 400, "insufficient_balance"),
    ({"market_ticker": "KXNOPE"}, 404, "not_found"),
    ({"client_order_id": "taken"}, 409, "order_already_exists"),
    ({"client_order_id": "nul\x00id"}, 400, "invalid_order"),  # PostgreSQL text cannot hold its row
]


@pytest.mark.parametrize(("change", "status", "code"), REFUSALS)
async def test_refused_order_raises_kalshis_error_and_changes_nothing(
    change: dict[str, Any], status: int, code: str
) -> None:
    client = paper(make_book(**BOOK, info=market_info()))
    await client.create_order(TICKER, "yes", "market", 2, client_order_id="taken")
    before = _state(client)
    order: dict[str, Any] = {"market_ticker": TICKER, "side": "yes", "order_type": "limit", "quantity": 1}
    order.update(price="0.5500", time_in_force="good_till_canceled")
    order.update(change)
    with pytest.raises(KalshiApiError) as error:
        await client.create_order(**order)
    assert error.value.status == status
    # Kalshi's wrapped ErrorResponse (OpenAPI 3.31.0): code and message; no "service" any more.
    assert error.value.body == {"error": {"code": code, "message": error.value.message}}
    assert error.value.message
    assert _state(client) == before
    assert client.stats.orders_rejected == 1


async def test_closed_or_expired_market_refuses_orders(clock: Clock) -> None:
    expired = make_book(**BOOK, info=market_info(close_time_ms=clock.now_ns // 1_000_000 - 1))
    closed = make_book(**BOOK, ticker="KXCLOSED")
    closed.set_info(replace(market_info("KXCLOSED"), status="closed"))
    client = paper(expired, closed, clock=clock)
    for ticker in (TICKER, "KXCLOSED"):
        with pytest.raises(KalshiApiError) as error:
            await client.create_order(ticker, "yes", "market", 1)
        assert (error.value.status, error.value.code) == (409, "market_closed")
    assert client.portfolio.reserved_micro() == 0 and client.orders.all == {}


async def test_unknown_order_is_404() -> None:
    client = paper(make_book(**BOOK))
    for call in (
        client.get_order("nope"),
        client.cancel_order("nope"),
        client.amend_order("nope", 1, "0.50"),
    ):
        with pytest.raises(KalshiApiError) as error:
            await call
        assert error.value.status == 404 and error.value.body["error"]["code"] == "not_found"


async def test_batch_create_and_cancel_report_errors_per_item() -> None:
    client = paper(make_book(**BOOK, info=market_info()))
    gtc = {"time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"}
    answer = await client.batch_create_orders(
        [
            {"ticker": TICKER, "side": "bid", "count": "2.00", "price": "0.5000", **gtc},
            {"ticker": TICKER, "side": "ask", "count": "1.00", "price": "0.7000", **gtc},
            {
                "ticker": TICKER,
                "side": "bid",
                "count": "1.00",
                "price": "0.5050",
                "client_order_id": "c3",
                **gtc,
            },
            {"ticker": TICKER, "side": "no", "count": "1.00", "price": "0.5000", **gtc},  # V1 sides are gone
        ]
    )
    first, second, third, fourth = answer["orders"]
    assert "error" not in first and "error" not in second  # no "error": null on a success
    assert first["average_fill_price"] is None  # nothing filled: null, as Kalshi sends it
    nulls = dict.fromkeys(
        ("fill_count", "remaining_count", "average_fill_price", "average_fee_paid", "ts_ms")
    )
    assert third == {"client_order_id": "c3", **nulls, "error": third["error"]}  # no order_id
    assert third["error"]["code"] == "invalid_price"
    assert fourth == {**nulls, "error": fourth["error"]} and fourth["error"]["code"] == "invalid_parameters"
    canceled = await client.batch_cancel_orders([{"order_id": first["order_id"]}, {"order_id": "nope"}])
    ok, failed = canceled["orders"]
    assert "error" not in ok and ok["reduced_by"] == "2.00"
    assert failed == {"order_id": "nope", "reduced_by": "0.00", "ts_ms": None, "error": failed["error"]}
    assert failed["error"]["code"] == "not_found"
    assert [o["order_id"] for o in client.orders_open()] == [second["order_id"]]


async def test_market_closing_during_the_latency_refuses_the_order_and_frees_its_reserve() -> None:
    book = make_book(**BOOK, info=market_info())
    client = paper(book, latency_min_ms=20.0, latency_max_ms=20.0)
    order = asyncio.create_task(client.create_order(TICKER, "yes", "market", 3, client_order_id="late"))
    await asyncio.sleep(0.005)
    assert client.portfolio.reserved_micro() > 0
    determine(book, "yes")
    with pytest.raises(KalshiApiError) as error:
        await order
    assert error.value.code == "market_closed"
    assert client.portfolio.reserved_micro() == 0 and client.orders.all == {}
    assert "late" not in client.orders.client_ids  # never accepted, so the id is still free


async def test_a_caller_giving_up_during_the_latency_leaves_nothing_behind() -> None:
    client = paper(make_book(**BOOK), latency_min_ms=50.0, latency_max_ms=50.0)
    order = asyncio.create_task(client.create_order(TICKER, "yes", "market", 3))
    await asyncio.sleep(0.005)
    order.cancel()
    with pytest.raises(asyncio.CancelledError):
        await order
    assert client.portfolio.reserved_micro() == 0 and client.orders.all == {}


async def test_resting_orders_are_canceled_when_the_close_time_passes(clock: Clock) -> None:
    book = make_book(**BOOK, info=market_info(close_time_ms=clock.now_ns // 1_000_000 + 1_000))
    client = paper(book, clock=clock, watch_interval_s=0.005)
    ack = await client.create_order(TICKER, "yes", "limit", 2, "0.5000")
    await client.start()
    try:
        clock.advance_ms(1_000)  # no book update needed: the watcher wakes on its own
        await eventually(lambda: client.stats.cancels == 1)
    finally:
        await client.close()
    assert (await _order(client, ack["order_id"]))["status"] == "canceled"


async def test_an_amend_the_balance_cannot_cover_changes_nothing() -> None:
    client = paper(make_book(**BOOK), starting_balance_dollars="10.00")
    ack = await client.create_order(TICKER, "yes", "limit", 10, "0.5000")
    before = (await client.get_balance(), await _order(client, ack["order_id"]))
    with pytest.raises(KalshiApiError) as error:
        await client.amend_order(ack["order_id"], 30, "0.5000")
    assert error.value.code == "insufficient_balance"
    assert (await client.get_balance(), await _order(client, ack["order_id"])) == before


async def test_post_only_order_that_does_not_cross_rests() -> None:
    client = paper(make_book(**BOOK))
    ack = await client.create_order(TICKER, "yes", "limit", 2, "0.5500", post_only=True)
    assert (await _order(client, ack["order_id"]))["status"] == "resting"


async def test_a_book_added_after_start_is_watched_and_a_settled_ones_watcher_is_released(
    clock: Clock,
) -> None:
    # A series' next market joins the shared books while the client runs (paper/serve --series):
    # its resting orders must fill like any other's, and a settled market's watcher must go.
    first = make_book(**BOOK, info=market_info())
    client = paper(first, clock=clock, watch_interval_s=0.05)
    await client.start()
    try:
        later = "KXLATER-26JAN08-T1"
        book = make_book(**BOOK, ticker=later, info=market_info(later))
        client.books[later] = book
        ack = await client.create_order(later, "yes", "limit", 10, "0.5000")
        clock.advance_ms(10)
        add_yes_ask(book, "0.4800", "4.00")  # a seller at 0.48 crosses our 0.50 bid
        await eventually(
            lambda: client.stats.maker_fills == 1, "the later market's resting order to fill", timeout_s=10
        )
        assert (await _order(client, ack["order_id"]))["fill_count_fp"] == "4.00"

        determine(first, "yes")
        await eventually(lambda: TICKER not in client._watchers, "the settled market's watcher to end")
        assert set(client._watchers) == {later}
    finally:
        await client.close()
