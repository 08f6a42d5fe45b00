"""A market's lifecycle on paper (issue 10, point 2): pauses, close-time and price-grid updates,
and the fee schedule in force at each fill (point 6), driven by the events the feed applies to
the shared book's status."""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import Any

import pytest

from kalshi_rl.core.events import EventFeeUpdate
from kalshi_rl.core.fee_schedule import FeeSchedule, FeeSource, FeeType
from kalshi_rl.trading.orders import KalshiApiError
from kalshi_rl.trading.paper_client import KalshiPaperTradingClient
from tests.trading.conftest import (
    T0_NS,
    TICKER,
    Clock,
    add_yes_ask,
    eventually,
    lifecycle,
    make_book,
    market_info,
    paper,
    pause,
    resume,
)

BOOK = {"yes_bids": [("0.4000", "50.00")], "yes_asks": [("0.5600", "10.00")]}
T0_MS = T0_NS // 1_000_000


def reasons(stream: asyncio.Queue[dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    """Each order's latest (status, last_update_reason) from the ``user_order`` messages."""
    latest = {}
    while not stream.empty():
        message = stream.get_nowait()
        if message["type"] == "user_order":
            msg = message["msg"]
            latest[msg["order_id"]] = (msg["status"], msg.get("last_update_reason"))
    return latest


async def _status(client: KalshiPaperTradingClient, order_id: str) -> str:
    return str((await client.get_order(order_id))["order"]["status"])


async def test_a_paused_market_takes_no_order_fills_nothing_and_cancels_cancel_on_pause_orders() -> None:
    book = make_book(**BOOK, info=market_info())
    client = paper(book)
    stream = client.subscribe_user_stream()
    flagged = await client.create_order(TICKER, "yes", "limit", 2, "0.5000", cancel_order_on_pause=True)
    kept = await client.create_order(TICKER, "yes", "limit", 2, "0.5000")
    await client.start()
    try:
        pause(book)
        await eventually(lambda: client.stats.cancels == 1)
        assert reasons(stream)[flagged["order_id"]] == ("canceled", "HaltCancel")
        for call in (
            client.create_order(TICKER, "yes", "market", 1),
            client.amend_order(kept["order_id"], 3, "0.5000"),
        ):
            with pytest.raises(KalshiApiError) as error:
                await call
            assert error.value.status == 409
            assert error.value.body == {
                "error": {"code": "trading_is_paused", "message": error.value.message}
            }
        add_yes_ask(book, "0.4800", "5.00")  # would trade through the kept bid ...
        await asyncio.sleep(0.01)
        client.check_market(TICKER)
        assert client.stats.maker_fills == 0 and await _status(client, kept["order_id"]) == "resting"
        resume(book)  # ... and does once trading resumes
        await eventually(lambda: client.stats.maker_fills == 1)
    finally:
        await client.close()
    assert await _status(client, kept["order_id"]) == "executed"


async def test_an_order_in_flight_when_the_market_pauses_is_refused_on_arrival() -> None:
    book = make_book(**BOOK, info=market_info())
    client = paper(book, latency_min_ms=20.0, latency_max_ms=20.0)
    order = asyncio.create_task(client.create_order(TICKER, "yes", "market", 3))
    await asyncio.sleep(0.005)
    pause(book)
    with pytest.raises(KalshiApiError) as error:
        await order
    assert (error.value.status, error.value.code) == (409, "trading_is_paused")
    assert client.portfolio.reserved_micro() == 0 and client.orders.all == {}


async def test_close_date_updated_is_the_close_time_orders_are_refused_and_canceled_at(clock: Clock) -> None:
    book = make_book(**BOOK, info=market_info(close_time_ms=T0_MS + 10_000))
    client = paper(book, clock=clock)
    stream = client.subscribe_user_stream()
    ack = await client.create_order(TICKER, "yes", "limit", 2, "0.5000")
    lifecycle(book, "close_date_updated", close_ts_ms=T0_MS + 1_000)  # the market closes early
    clock.advance_ms(1_000)
    client.check_market(TICKER)
    assert reasons(stream)[ack["order_id"]] == ("canceled", "CloseCancel")
    with pytest.raises(KalshiApiError) as error:
        await client.create_order(TICKER, "yes", "market", 1)
    assert (error.value.status, error.value.code) == (409, "market_closed")
    lifecycle(book, "close_date_updated", close_ts_ms=T0_MS + 60_000)  # ... then it is extended
    assert (await client.create_order(TICKER, "yes", "market", 1))["fill_count"] == "1.00"


async def test_prices_are_checked_against_the_latest_price_grid() -> None:
    book = make_book(**BOOK, info=market_info())  # a cent grid
    client = paper(book)
    with pytest.raises(KalshiApiError) as error:
        await client.create_order(TICKER, "yes", "limit", 1, "0.4550")
    assert error.value.code == "invalid_price"
    deci_cent = ((0, 10_000, 10),)
    lifecycle(
        book, "price_level_structure_updated", price_level_structure="deci_cent", price_ranges=deci_cent
    )
    ack = await client.create_order(TICKER, "yes", "limit", 1, "0.4550")
    assert (await client.get_order(ack["order_id"]))["order"]["yes_price_dollars"] == "0.4550"
    cent = ((0, 10_000, 100),)
    lifecycle(book, "price_level_structure_updated", price_level_structure="linear_cent", price_ranges=cent)
    with pytest.raises(KalshiApiError) as error:  # an amend meets the grid of its time too
        await client.amend_order(ack["order_id"], 1, "0.4450")
    assert error.value.code == "invalid_price"


async def test_each_fill_pays_the_fee_schedule_in_force_when_it_happens() -> None:
    book = make_book(yes_asks=[("0.5000", "20.00")])
    book.set_info(market_info())  # REST: the market's event, whose fee override applies below
    book.set_fees(FeeSchedule(FeeType.QUADRATIC, Fraction(1)), None)
    client = paper(book)
    await client.create_order(TICKER, "yes", "market", 10)
    # 0.07 x 10 x 0.5 x 0.5 = 0.175; -5.175 floored to the cent: a 0.005 rounding fee
    assert (await client.get_fills())["fills"][0]["fee_cost"] == "0.180000"
    doubled = FeeSchedule(FeeType.QUADRATIC, Fraction(2), FeeSource.EVENT_OVERRIDE)
    assert book.apply_event_fee(EventFeeUpdate("KXTEST-26JAN01", doubled, T0_NS))
    await client.create_order(TICKER, "yes", "market", 10)
    assert (await client.get_fills())["fills"][0]["fee_cost"] == "0.350000"  # 2 x 0.175, whole cents
