"""Kalshi's order rules on paper: self-trade prevention, post-only, reduce-only, expiry, routing.

Each rule as Kalshi documents it (OpenAPI 3.31.0 ``CreateOrderV2Request``; AsyncAPI 2.0.0
``lastUpdateReason``), checked through the client's answers and its ``user_order`` messages.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from kalshi_rl.trading.orders import KalshiApiError
from kalshi_rl.trading.paper_client import KalshiPaperTradingClient
from tests.trading.conftest import (
    T0_NS,
    TICKER,
    Clock,
    add_yes_ask,
    eventually,
    make_book,
    market_info,
    paper,
)

# YES bids 0.52 (2) and 0.46 (5) are NO asks 0.48 and 0.54; the YES ask is 0.56.
BOOK = {"yes_bids": [("0.5200", "2.00"), ("0.4600", "5.00")], "yes_asks": [("0.5600", "10.00")]}
GTC = {"time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"}
T0_S = T0_NS // 1_000_000_000


def v2(side: str, count: str, price: str, **fields: Any) -> dict[str, Any]:
    return {"ticker": TICKER, "side": side, "count": count, "price": price, **GTC, **fields}


def updates(stream: asyncio.Queue[dict[str, Any]], order_id: str) -> list[tuple[str, str | None]]:
    """The (status, last_update_reason) of every ``user_order`` message of ``order_id``."""
    found = []
    while not stream.empty():
        message = stream.get_nowait()
        if message["type"] == "user_order" and message["msg"]["order_id"] == order_id:
            found.append((message["msg"]["status"], message["msg"].get("last_update_reason")))
    return found


async def _order(client: KalshiPaperTradingClient, order_id: str) -> dict[str, Any]:
    return (await client.get_order(order_id))["order"]


# -- self-trade prevention ----------------------------------------------------------------------


async def test_taker_at_cross_cancels_the_taker_where_it_meets_our_own_resting_order() -> None:
    client = paper(make_book(**BOOK))
    stream = client.subscribe_user_stream()
    resting = await client.create_order_json(v2("bid", "10.00", "0.5000"))  # buys YES up to 0.50
    # Selling YES down to 0.45 buys NO up to 0.55: NO 0.48 (live), then NO 0.50 -- our own bid.
    taker = await client.create_order_json(v2("ask", "5.00", "0.4500"))
    assert (taker["fill_count"], taker["remaining_count"]) == ("2.00", "0.00")  # 2 @ 0.48, then stop
    assert taker["average_fill_price"] == "0.5200"  # the YES leg of NO 0.48
    assert (await _order(client, taker["order_id"]))["status"] == "canceled"  # never rests
    assert updates(stream, taker["order_id"])[-1] == ("canceled", "SelfTradeCancel")
    assert (await _order(client, resting["order_id"]))["remaining_count_fp"] == "10.00"
    assert {f["no_price_dollars"] for f in (await client.get_fills())["fills"]} == {"0.4800"}


async def test_maker_cancels_our_resting_order_and_the_taker_goes_on() -> None:
    client = paper(make_book(**BOOK))
    stream = client.subscribe_user_stream()
    resting = await client.create_order_json(v2("bid", "10.00", "0.5000"))
    taker = await client.create_order_json(v2("ask", "5.00", "0.4500", self_trade_prevention_type="maker"))
    assert (taker["fill_count"], taker["remaining_count"]) == ("5.00", "0.00")  # 2 @ 0.48 + 3 @ 0.54
    assert (await _order(client, taker["order_id"]))["status"] == "executed"
    assert (await _order(client, resting["order_id"]))["status"] == "canceled"
    assert updates(stream, resting["order_id"])[-1] == ("canceled", "SelfTradeCancel")
    assert client.orders_open() == []


@pytest.mark.parametrize("stp", ["taker_at_cross", "maker"])
async def test_no_self_trade_when_the_taker_is_filled_before_it_reaches_our_order(stp: str) -> None:
    client = paper(make_book(**BOOK))
    resting = await client.create_order_json(v2("bid", "10.00", "0.5000"))
    taker = await client.create_order_json(v2("ask", "2.00", "0.4500", self_trade_prevention_type=stp))
    assert taker["fill_count"] == "2.00"
    assert (await _order(client, taker["order_id"]))["status"] == "executed"
    assert (await _order(client, resting["order_id"]))["status"] == "resting"


async def test_fill_or_kill_counts_only_what_it_can_take_before_our_own_order() -> None:
    client = paper(make_book(**BOOK))
    await client.create_order_json(v2("bid", "10.00", "0.5000"))
    fok = {"time_in_force": "fill_or_kill"}
    killed = await client.create_order_json(v2("ask", "5.00", "0.4500", **fok))  # only 2 before the cross
    assert killed["fill_count"] == "0.00" and (await client.get_fills())["fills"] == []
    taken = await client.create_order_json(
        v2("ask", "5.00", "0.4500", **fok, self_trade_prevention_type="maker")
    )
    assert taken["fill_count"] == "5.00"


# -- post-only, reduce-only ---------------------------------------------------------------------


async def test_a_post_only_order_that_would_cross_is_canceled_with_post_only_cross_cancel() -> None:
    client = paper(make_book(**BOOK))
    stream = client.subscribe_user_stream()
    ack = await client.create_order_json(v2("bid", "3.00", "0.5600", post_only=True))  # the 0.56 ask
    assert (ack["fill_count"], ack["remaining_count"]) == ("0.00", "0.00")  # 201, nothing done
    assert updates(stream, ack["order_id"]) == [("canceled", "PostOnlyCrossCancel")]
    assert (await client.get_fills())["fills"] == [] and client.portfolio.reserved_micro() == 0
    # Our own resting bid at 0.50 is liquidity too: a post-only ask at 0.50 would take it.
    await client.create_order_json(v2("bid", "1.00", "0.5000"))
    own = await client.create_order_json(v2("ask", "1.00", "0.5000", post_only=True))
    assert updates(stream, own["order_id"])[-1] == ("canceled", "PostOnlyCrossCancel")
    rests = await client.create_order_json(v2("ask", "1.00", "0.5500", post_only=True))
    assert (await _order(client, rests["order_id"]))["status"] == "resting"


async def test_reduce_only_is_capped_by_the_position_at_placement() -> None:
    client = paper(make_book(**BOOK))
    stream = client.subscribe_user_stream()
    ioc = {"time_in_force": "immediate_or_cancel", "reduce_only": True}
    nothing = await client.create_order_json(v2("ask", "5.00", "0.4000", **ioc))
    assert (nothing["fill_count"], nothing["remaining_count"]) == ("0.00", "0.00")
    assert updates(stream, nothing["order_id"])[-1] == ("canceled", "ReduceOnlyCancel")
    await client.create_order_json(v2("bid", "3.00", "0.5600", time_in_force="immediate_or_cancel"))
    capped = await client.create_order_json(v2("ask", "5.00", "0.4000", **ioc))  # holds 3 YES
    assert (capped["fill_count"], capped["remaining_count"]) == ("3.00", "0.00")
    assert updates(stream, capped["order_id"])[-1] == ("canceled", "ReduceOnlyCancel")
    assert client.ledger(TICKER).position_units == 0
    with pytest.raises(KalshiApiError) as error:  # "rejected unless time_in_force is immediate_or_cancel"
        await client.create_order_json(v2("ask", "1.00", "0.4000", reduce_only=True))
    assert (error.value.status, error.value.code) == (400, "invalid_order")


# -- expiry -------------------------------------------------------------------------------------


async def test_a_good_till_canceled_order_expires_at_its_expiration_time(clock: Clock) -> None:
    book = make_book(**BOOK)
    client = paper(book, clock=clock, watch_interval_s=0.005)
    stream = client.subscribe_user_stream()
    ack = await client.create_order_json(v2("bid", "2.00", "0.5000", expiration_time=T0_S + 2))
    order = await _order(client, ack["order_id"])
    assert order["expiration_time"] == "2027-01-15T08:00:02.000000Z" and order["status"] == "resting"
    (message,) = [stream.get_nowait()["msg"] for _ in range(stream.qsize())]  # the order, resting
    assert message["expiration_ts_ms"] == (T0_S + 2) * 1_000
    await client.start()
    try:
        clock.advance_ms(1_999)
        await asyncio.sleep(0.02)
        assert client.stats.cancels == 0
        clock.advance_ms(1)
        await eventually(lambda: client.stats.cancels == 1)
    finally:
        await client.close()
    assert (await _order(client, ack["order_id"]))["status"] == "canceled"
    assert updates(stream, ack["order_id"])[-1] == ("canceled", "ExpiryCancel")
    assert client.portfolio.reserved_micro() == 0


async def test_an_expired_order_never_fills_and_any_request_sees_it_expired(clock: Clock) -> None:
    book = make_book(**BOOK)
    client = paper(book, clock=clock)
    ack = await client.create_order_json(v2("bid", "2.00", "0.5000", expiration_time=T0_S + 1))
    clock.advance_ms(1_000)
    add_yes_ask(book, "0.4900", "5.00")  # would cross, but the order has expired
    client.check_market(TICKER)
    assert (await client.get_fills())["fills"] == []
    with pytest.raises(KalshiApiError) as error:
        await client.cancel_order(ack["order_id"])
    assert error.value.status == 404
    second = await client.create_order_json(v2("bid", "2.00", "0.4500", expiration_time=T0_S + 2))
    clock.advance_ms(1_000)  # no watcher: the read itself expires it
    assert (await client.get_orders(status="resting"))["orders"] == []
    assert (await _order(client, second["order_id"]))["status"] == "canceled"


async def test_amend_keeps_removes_or_moves_the_expiry(clock: Clock) -> None:
    client = paper(make_book(**BOOK), clock=clock)
    ack = await client.create_order_json(v2("bid", "2.00", "0.5000", expiration_time=T0_S + 5))
    body = {"ticker": TICKER, "side": "bid", "price": "0.4900", "count": "2.00"}
    await client.amend_order_v2(ack["order_id"], body)  # omitted: kept
    assert (await _order(client, ack["order_id"]))["expiration_time"] == "2027-01-15T08:00:05.000000Z"
    await client.amend_order_v2(ack["order_id"], {**body, "expiration_time": T0_S + 9})
    assert (await _order(client, ack["order_id"]))["expiration_time"] == "2027-01-15T08:00:09.000000Z"
    await client.amend_order_v2(ack["order_id"], {**body, "expiration_time": 0})  # 0: removed
    assert "expiration_time" not in await _order(client, ack["order_id"])
    with pytest.raises(KalshiApiError) as error:  # "A nonzero expiry must be in the future"
        await client.amend_order_v2(ack["order_id"], {**body, "expiration_time": T0_S})
    assert error.value.code == "invalid_order"


# -- routing and the account --------------------------------------------------------------------


async def test_exchange_index_comes_from_the_market_and_a_wrong_shard_is_refused() -> None:
    info = replace(market_info(), raw={"exchange_index": 3})
    client = paper(make_book(**BOOK, info=info))
    ack = await client.create_order_json(v2("bid", "2.00", "0.5600", exchange_index=-1))  # auto-route
    assert (await _order(client, ack["order_id"]))["exchange_index"] == 3
    assert {f["exchange_index"] for f in (await client.get_fills())["fills"]} == {3}
    assert (await client.get_positions())["market_positions"][0]["exchange_index"] == 3
    with pytest.raises(KalshiApiError) as error:
        await client.create_order_json(v2("bid", "1.00", "0.5000", exchange_index=0))
    assert error.value.status == 404


async def test_crypto_series_live_on_shard_2_when_rest_says_nothing() -> None:
    ticker = "KXBTC15M-26JAN011500-00"
    client = paper(make_book(**BOOK, ticker=ticker))
    ack = await client.create_order(ticker, "yes", "market", 1)
    assert (await _order(client, ack["order_id"]))["exchange_index"] == 2


@pytest.mark.parametrize(
    ("field", "status", "code"),
    [({"subaccount": 1}, 400, "invalid_order"), ({"order_group_id": "og_1"}, 404, "not_found")],
)
async def test_a_subaccount_or_order_group_the_account_lacks_is_refused(
    field: dict[str, Any], status: int, code: str
) -> None:
    client = paper(make_book(**BOOK))
    with pytest.raises(KalshiApiError) as error:
        await client.create_order_json(v2("bid", "1.00", "0.5000", **field))
    assert (error.value.status, error.value.code) == (status, code)
    assert client.orders.all == {}
    await client.create_order_json(v2("bid", "1.00", "0.5000", subaccount=0))  # the primary account


# -- rate limits --------------------------------------------------------------------------------


async def test_the_basic_tier_answers_429_past_its_write_and_read_budgets(clock: Clock) -> None:
    client = paper(make_book(**BOOK), clock=clock, rate_limit_tier="basic")
    acks = [await client.create_order_json(v2("bid", "1.00", "0.4000")) for _ in range(10)]  # 10 x 10 tokens
    with pytest.raises(KalshiApiError) as error:
        await client.create_order_json(v2("bid", "1.00", "0.4000"))
    assert error.value.status == 429 and error.value.body == {"error": "too many requests"}
    assert len(client.orders.all) == 10  # the refused request did nothing
    clock.advance_ms(20)  # 100 tokens a second: 2 tokens, one cancel
    await client.cancel_order(acks[0]["order_id"])
    with pytest.raises(KalshiApiError):
        await client.cancel_order(acks[1]["order_id"])
    for _ in range(20):  # the read bucket is separate: 200 tokens
        await client.get_balance()
    with pytest.raises(KalshiApiError) as error:
        await client.get_balance()
    assert error.value.status == 429
    with pytest.raises(ValueError, match="rate_limit_tier"):
        paper(make_book(**BOOK), rate_limit_tier="gold")
