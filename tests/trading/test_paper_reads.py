"""The paper client's reads: event positions, count filters, pages, settlements and the balance
breakdown, as Kalshi's OpenAPI 3.31.0 describes them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kalshi_rl.core.events import MarketInfo
from kalshi_rl.trading.orders import KalshiApiError
from tests.trading.conftest import TICKER, Clock, lifecycle, make_book, market_info, paper

BOOK = {"yes_bids": [("0.6000", "100.00")], "yes_asks": [("0.5200", "100.00")]}
SIBLING = "KXTEST-26JAN01-T60"  # the same event as TICKER
OTHER = "KXOTHER-26FEB02-T1"


def _info(ticker: str, event: str) -> MarketInfo:
    return MarketInfo(ticker, "active", None, None, None, event_ticker=event)


async def test_event_positions_add_up_the_markets_of_each_event() -> None:
    books = [
        make_book(**BOOK, info=market_info()),
        make_book(**BOOK, ticker=SIBLING, info=_info(SIBLING, "KXTEST-26JAN01")),
        make_book(**BOOK, ticker=OTHER, info=_info(OTHER, "KXOTHER-26FEB02")),
    ]
    client = paper(*books)
    await client.create_order(TICKER, "yes", "market", 10)  # 10 YES @ 0.52
    await client.create_order(SIBLING, "no", "market", 5)  # 5 NO @ 0.40
    await client.create_order(OTHER, "yes", "market", 2)
    answer = await client.get_positions()
    markets = {p["ticker"]: p for p in answer["market_positions"]}
    assert list(markets) == [OTHER, TICKER, SIBLING]  # by ticker
    events = {e["event_ticker"]: e for e in answer["event_positions"]}
    assert set(events) == {"KXTEST-26JAN01", "KXOTHER-26FEB02"}
    test = events["KXTEST-26JAN01"]
    assert test["total_cost_dollars"] == "7.2000"  # 10 x 0.52 + 5 x 0.40
    assert test["total_cost_shares_fp"] == "15.00"  # YES and NO contracts alike
    fields = {
        "total_cost_dollars": "total_traded_dollars",
        "event_exposure_dollars": "market_exposure_dollars",
        "realized_pnl_dollars": "realized_pnl_dollars",
        "fees_paid_dollars": "fees_paid_dollars",
    }
    for event_field, market_field in fields.items():
        total = Decimal(markets[TICKER][market_field]) + Decimal(markets[SIBLING][market_field])
        assert Decimal(test[event_field]) == total, event_field
        assert Decimal(events["KXOTHER-26FEB02"][event_field]) == Decimal(markets[OTHER][market_field])
    only = await client.get_positions(event_ticker="KXOTHER-26FEB02")
    assert [p["ticker"] for p in only["market_positions"]] == [OTHER]
    assert [e["event_ticker"] for e in only["event_positions"]] == ["KXOTHER-26FEB02"]


async def test_count_filter_keeps_markets_with_a_position_or_volume(clock: Clock) -> None:
    client = paper(make_book(**BOOK, info=market_info()), clock=clock)
    assert (await client.get_positions()) == {"market_positions": [], "event_positions": [], "cursor": ""}
    client.ledger(TICKER)  # what the actor reads: no record of its own
    assert (await client.get_positions())["market_positions"] == []
    await client.create_order(TICKER, "yes", "market", 3)
    await client.create_order(TICKER, "yes", "market", 3, action="sell", reduce_only=True)  # flat again
    traded = await client.get_positions(count_filter="total_traded")
    assert [p["position_fp"] for p in traded["market_positions"]] == ["0.00"]
    assert (await client.get_positions(count_filter="position"))["market_positions"] == []
    assert len((await client.get_positions(count_filter="position,total_traded"))["market_positions"]) == 1


async def test_listings_are_paged_newest_first_and_a_page_survives_new_orders() -> None:
    client = paper(make_book(**BOOK))
    ids = [(await client.create_order(TICKER, "yes", "limit", 1, "0.4000"))["order_id"] for _ in range(5)]
    first = await client.get_orders(limit=2)
    assert [o["order_id"] for o in first["orders"]] == [ids[4], ids[3]]
    newer = (await client.create_order(TICKER, "yes", "limit", 1, "0.4000"))["order_id"]
    second = await client.get_orders(limit=2, cursor=first["cursor"])
    assert [o["order_id"] for o in second["orders"]] == [ids[2], ids[1]]
    last = await client.get_orders(limit=2, cursor=second["cursor"])
    assert [o["order_id"] for o in last["orders"]] == [ids[0]] and last["cursor"] == ""
    assert (await client.get_orders())["orders"][0]["order_id"] == newer  # default limit 100
    fills = await client.get_fills(limit=1)
    assert fills["cursor"] == "" and fills["fills"] == []


@pytest.mark.parametrize(
    ("result", "ticks", "market_result", "value"),
    [
        ("scalar", 4_567, "scalar", 45),
        ("yes", 10_000, "yes", 100),
        ("void", 0, "no", 0),
        ("", 10_000, "yes", 100),
    ],
)
async def test_settlements_carry_a_documented_result_and_the_market_shard(
    result: str, ticks: int, market_result: str, value: int
) -> None:
    book = make_book(**BOOK, info=market_info())
    client = paper(book)
    await client.create_order(TICKER, "yes", "market", 10)
    lifecycle(book, "determined", result=result or None, settlement_ticks=ticks)
    record = await client.settle_market(TICKER)
    assert record is not None
    assert (record["market_result"], record["value"], record["exchange_index"]) == (market_result, value, 0)
    assert (await client.get_settlements(ticker=TICKER))["settlements"] == [record]


async def test_the_balance_has_its_breakdown_by_exchange_shard() -> None:
    client = paper(make_book(**BOOK))
    balance = await client.get_balance()
    assert balance["balance_breakdown"] == [{"exchange_index": 0, "balance": "1000.0000"}]
    assert balance["balance_dollars"] == "1000.0000" and balance["balance"] == 100_000


async def test_a_read_of_an_unknown_order_is_404() -> None:
    client = paper(make_book(**BOOK))
    with pytest.raises(KalshiApiError) as error:
        await client.get_order("nope")
    assert error.value.status == 404
