"""The local exchange's REST routes: the markets listing's filters and cursor, orderbook depth, series, events.

Parameters as OpenAPI 3.31.0 documents them (``GetMarkets``: limit 0-1000, default 100,
cursor, series_ticker, event_ticker, status unopened/open/paused/closed/settled, tickers,
mve_filter; ``GetMarketOrderbook``: depth 0-100); status filters mapped to market statuses
as docs.kalshi.com's "Market Lifecycle" page does.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kalshi_rl.core.units import PRICE_SCALE
from kalshi_rl.kalshi.rest import KalshiRestClient
from kalshi_rl.sim import SimExchange


async def get(exchange: SimExchange, path: str, status: int = 200) -> Any:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{exchange.rest_url}{path}")
    assert response.status_code == status, response.text
    return response.json()


def tickers_of(body: dict[str, Any]) -> list[str]:
    return [m["ticker"] for m in body["markets"]]


async def test_the_cursor_walks_every_market_once_in_creation_order(make_sim):
    exchange = await make_sim(rate=0, markets=3)
    exchange.pause()
    for _ in range(2):
        exchange.create_event()
    assert len(exchange.tickers) == 9
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        body = await get(exchange, f"/markets?limit=2&cursor={cursor}")
        pages += 1
        seen += tickers_of(body)
        cursor = body["cursor"]
        if not cursor:
            break
    assert (seen, pages) == (exchange.tickers, 5)
    everything = await get(exchange, "/markets?limit=0")  # 0 = the default, 100
    assert (tickers_of(everything), everything["cursor"]) == (exchange.tickers, "")
    filtered = await get(exchange, f"/markets?limit=1&event_ticker={list(exchange.events)[1]}")
    assert tickers_of(filtered) == exchange.tickers[3:4] and filtered["cursor"]
    rest_of_it = await get(
        exchange, f"/markets?limit=5&event_ticker={list(exchange.events)[1]}&cursor={filtered['cursor']}"
    )
    assert (tickers_of(rest_of_it), rest_of_it["cursor"]) == (exchange.tickers[4:6], "")


async def test_filters_select_markets_by_series_event_tickers_and_status(make_sim):
    exchange = await make_sim(rate=0, markets=2, open_delay_s=3600.0)
    exchange.pause()
    first, second = exchange.tickers
    assert tickers_of(await get(exchange, "/markets?status=unopened")) == [first, second]
    assert tickers_of(await get(exchange, "/markets?status=open")) == []
    assert tickers_of(await get(exchange, "/markets?series_ticker=KXSIM")) == [first, second]
    assert tickers_of(await get(exchange, "/markets?series_ticker=KXOTHER")) == []
    assert tickers_of(await get(exchange, f"/markets?tickers={second},NOPE")) == [second]
    assert tickers_of(await get(exchange, "/markets?mve_filter=only")) == []
    assert tickers_of(await get(exchange, "/markets?mve_filter=exclude")) == [first, second]
    assert tickers_of(await get(exchange, "/markets?status=closed")) == []


@pytest.mark.parametrize(
    "query",
    [
        "limit=-1",
        "limit=1001",
        "limit=ten",
        "status=active",
        "status=open,closed",
        "event_ticker=A,B",
        "mve_filter=some",
        "cursor=bm90LWEtY3Vyc29y",
        "limit=1&limit=2",
    ],
)
async def test_bad_listing_parameters_are_a_kalshi_shaped_400(make_sim, query: str):
    exchange = await make_sim(rate=0)
    body = await get(exchange, f"/markets?{query}", 400)
    assert body["error"]["code"] == "bad_request" and body["error"]["details"]


async def test_the_orderbook_lists_bids_ascending_and_depth_keeps_the_best(make_sim):
    exchange = await make_sim(rate=2_000, markets=1)
    exchange.pause()
    (ticker,) = exchange.tickers
    yes_bids, no_bids = exchange.book(ticker)
    full = (await get(exchange, f"/markets/{ticker}/orderbook"))["orderbook_fp"]
    top = (await get(exchange, f"/markets/{ticker}/orderbook?depth=2"))["orderbook_fp"]

    def levels(rows: list[tuple[int, int]]) -> list[list[str]]:
        return [[f"{p / PRICE_SCALE:.4f}", f"{s // 100}.{s % 100:02d}"] for p, s in rows]

    assert (full["yes_dollars"], full["no_dollars"]) == (levels(yes_bids), levels(no_bids))
    assert (top["yes_dollars"], top["no_dollars"]) == (levels(yes_bids[-2:]), levels(no_bids[-2:]))
    assert (await get(exchange, f"/markets/{ticker}/orderbook?depth=101", 400))["error"][
        "code"
    ] == "bad_request"
    assert (await get(exchange, "/markets/NOPE-1/orderbook", 404))["error"]["code"] == "not_found"


async def test_series_and_events_carry_the_fees_and_the_rest_client_reads_the_market(make_sim):
    exchange = await make_sim(rate=2_000, fee_type="quadratic_with_combo_maker_fees", fee_multiplier="1.25")
    (event,) = exchange.events
    series = (await get(exchange, "/series/KXSIM"))["series"]
    assert (series["ticker"], series["fee_type"], series["fee_multiplier"]) == (
        "KXSIM",
        "quadratic_with_combo_maker_fees",
        1.25,
    )
    assert (
        "volume_fp" not in series
        and "volume_fp" in (await get(exchange, "/series/KXSIM?include_volume=true"))["series"]
    )
    body = await get(exchange, f"/events/{event}")
    assert body["event"]["series_ticker"] == "KXSIM" and body["event"]["fee_type_override"] is None
    assert tickers_of(body) == exchange.tickers and "markets" not in body["event"]
    assert (await get(exchange, "/events/KXSIM-26JAN08?with_nested_markets=maybe", 400))["error"][
        "code"
    ] == "bad_request"
    client = KalshiRestClient(exchange.rest_url)
    try:
        info = await client.get_market(exchange.tickers[0])
    finally:
        await client.aclose()
    assert (info.ticker, info.event_ticker, info.price_level_structure) == (
        exchange.tickers[0],
        event,
        "tapered_deci_cent",
    )


async def test_events_of_another_series_are_listed_under_it(make_sim):
    exchange = await make_sim(rate=0)
    exchange.pause()
    event = exchange.create_event(markets=1, series="KXOTHER", duration_s=900.0)
    (market,) = event.markets
    assert (event.event_ticker, market.ticker) == ("KXOTHER-26JAN08", "KXOTHER-26JAN08-M00")
    assert market.timing.close_ms - market.timing.open_ms == 900_000
    assert tickers_of(await get(exchange, "/markets?series_ticker=KXOTHER")) == [market.ticker]
    assert tickers_of(await get(exchange, "/markets?series_ticker=KXSIM")) == exchange.tickers[:2]
    assert (await get(exchange, "/series/KXOTHER"))["series"]["ticker"] == "KXOTHER"
