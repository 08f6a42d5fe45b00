"""Markets close on time, are determined from the latent value, then settle; REST follows."""

from __future__ import annotations

import asyncio
import json

import httpx

from kalshi_rl.core.units import PRICE_SCALE
from kalshi_rl.kalshi.messages import parse_frame
from kalshi_rl.kalshi.rest import KalshiRestClient, parse_market
from kalshi_rl.sim.grid import PRICE_RANGES_TICKS


async def test_rest_market_has_kalshis_shape_and_the_current_book(make_sim):
    exchange = await make_sim(rate=500, market_duration_s=120.0)
    exchange.pause()
    ticker = exchange.tickers[0]
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{exchange.rest_url}/markets/{ticker}")
        missing = await http.get(f"{exchange.rest_url}/markets/KXSIM-NOPE")
        listing = await http.get(f"{exchange.rest_url}/markets")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    market = response.json()["market"]
    info = parse_market(response.json())
    assert (info.ticker, info.status, info.result) == (ticker, "active", None)
    assert info.close_time_ms - info.open_time_ms == 120_000  # type: ignore[operator]
    assert info.price_level_structure == "tapered_deci_cent"
    assert info.price_ranges == PRICE_RANGES_TICKS
    assert market["market_type"] == "binary"
    assert market["settlement_bounds_type"] == "default"
    assert market["event_ticker"] == ticker.rsplit("-", 1)[0]
    yes_bids, no_bids = exchange.book(ticker)
    assert market["yes_bid_dollars"] == f"{yes_bids[-1][0] / PRICE_SCALE:.4f}"
    assert market["yes_ask_dollars"] == f"{(PRICE_SCALE - no_bids[-1][0]) / PRICE_SCALE:.4f}"
    assert "settlement_value_dollars" not in market
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "market not found"}}
    assert [m["ticker"] for m in listing.json()["markets"]] == exchange.tickers

    client = KalshiRestClient(exchange.rest_url)
    try:
        assert (await client.get_market(ticker)).ticker == ticker
    finally:
        await client.aclose()


async def test_market_closes_is_determined_and_settles(make_sim, open_probe):
    exchange = await make_sim(
        rate=2000, market_duration_s=1.0, determination_delay_s=0.4, settlement_delay_s=0.3
    )
    ticker = exchange.tickers[0]
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["market_lifecycle_v2"])
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers)

    async with httpx.AsyncClient() as http:
        await asyncio.sleep(1.15)
        closed = parse_market((await http.get(f"{exchange.rest_url}/markets/{ticker}")).json())
        lifecycle = []
        while len(lifecycle) < 2 * len(exchange.tickers):
            frame = await probe.frame(3.0)
            if frame["type"] == "market_lifecycle_v2":
                lifecycle.append(frame)
        final = parse_market((await http.get(f"{exchange.rest_url}/markets/{ticker}")).json())

    assert closed.status == "closed"
    assert closed.result is None
    events = {(f["msg"]["market_ticker"], f["msg"]["event_type"]): f for f in lifecycle}
    assert set(events) == {(t, e) for t in exchange.tickers for e in ("determined", "settled")}
    assert [f["seq"] for f in lifecycle] == list(range(1, len(lifecycle) + 1))  # lifecycle sid is 1
    determined = events[(ticker, "determined")]["msg"]
    assert determined["result"] in ("yes", "no")
    assert determined["settlement_value"] == ("1.0000" if determined["result"] == "yes" else "0.0000")
    assert isinstance(determined["determination_ts"], int)
    assert isinstance(events[(ticker, "settled")]["msg"]["settled_ts"], int)
    parsed = parse_frame(json.dumps(events[(ticker, "determined")]), 0)
    assert parsed.settlement_ticks in (0, PRICE_SCALE)  # type: ignore[union-attr]

    assert final.status == "finalized"
    assert final.result == determined["result"]
    assert final.settlement_ticks == (PRICE_SCALE if final.result == "yes" else 0)
    # the books stopped changing at close
    book_before = exchange.book(ticker)
    events_before = exchange.counters.model_events
    await asyncio.sleep(0.2)
    assert exchange.book(ticker) == book_before
    assert exchange.counters.model_events == events_before
