"""The ticker channel, Kalshi's tickers with '.', subscription options and the refusals 11, 26 and 27."""

from __future__ import annotations

import itertools
import json
from typing import Any

from kalshi_rl.core.events import Side
from kalshi_rl.core.units import PRICE_SCALE, parse_count_fp, parse_price_dollars

from .conftest import Probe


async def everything(probe: Probe) -> list[dict[str, Any]]:
    await probe.until_quiet(0.3)
    return [json.loads(t) for t in probe.texts]


def seqs(frames: list[dict[str, Any]], sid: int) -> list[int]:
    return [f["seq"] for f in frames if f.get("sid") == sid and "seq" in f]


async def test_ticker_messages_carry_a_sid_no_seq_and_the_book_top_when_it_changes(make_sim, open_probe):
    exchange = await make_sim(rate=2_000)
    exchange.pause()
    first = exchange.tickers[0]
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["ticker"], market_ticker=first, send_initial_snapshot=True)
    subscribed, initial = await probe.frames(2)
    assert subscribed["msg"] == {"channel": "ticker", "sid": 1}
    assert (initial["type"], initial["sid"], "seq" in initial) == ("ticker", 1, False)
    assert exchange.step(300) > 0
    frames = await everything(probe)
    tickers = [f for f in frames if f["type"] == "ticker"]
    assert len(tickers) > 5 and {f["msg"]["market_ticker"] for f in tickers} == {first}
    assert not any("seq" in f for f in tickers)
    values = [tuple((k, v) for k, v in f["msg"].items() if k not in ("ts", "ts_ms", "time")) for f in tickers]
    changes = values[1:]  # after the initial snapshot: one message per change, never a repeat
    assert all(a != b for a, b in itertools.pairwise(changes))
    last = tickers[-1]["msg"]
    yes_bids, no_bids = exchange.book(first)
    assert parse_price_dollars(last["yes_bid_dollars"]) == yes_bids[-1][0]
    assert parse_count_fp(last["yes_bid_size_fp"]) == yes_bids[-1][1]
    assert parse_price_dollars(last["yes_ask_dollars"]) == PRICE_SCALE - no_bids[-1][0]
    assert parse_count_fp(last["yes_ask_size_fp"]) == no_bids[-1][1]
    market = exchange.markets[first]
    assert parse_count_fp(last["volume_fp"]) == market.volume_units
    assert parse_price_dollars(last["price_dollars"]) == (market.last_price_ticks or 0)
    assert last["market_id"] == market.market_id
    assert last["ts"] == last["ts_ms"] // 1000
    entries = [e for e in exchange.ledger.sent(1) if e.kind == "ticker"]
    assert len(entries) == len(tickers) and all(e.seq is None for e in entries)


async def test_ticker_without_markets_covers_every_market_and_takes_market_ids(make_sim, open_probe):
    exchange = await make_sim(rate=2_000, markets=3)
    first, second, third = exchange.tickers
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["ticker"])
    ids = [exchange.markets[t].market_id for t in (first, second)]
    await probe.cmd("subscribe", channels=["ticker"], market_ids=ids)
    await probe.cmd(
        "update_subscription", sid=2, action="add_markets", market_id=exchange.markets[third].market_id
    )
    await probe.frames(200)
    exchange.pause()
    frames = await everything(probe)
    by_sid = {
        sid: {f["msg"]["market_ticker"] for f in frames if f["type"] == "ticker" and f["sid"] == sid}
        for sid in (1, 2)
    }
    assert by_sid[1] == {first, second, third}
    ok = next(f for f in frames if f["type"] == "ok")
    assert ok["msg"]["market_tickers"] == [first, second, third]
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_id=ids[0])  # ticker channel only
    assert (await probe.frame())["msg"]["code"] == 11


async def test_real_tickers_with_a_dot_subscribe_and_stream(make_sim, open_probe):
    exchange = await make_sim(rate=2_000, strike_tickers=True)
    assert exchange.tickers == ["KXSIM-26JAN08-T99.99", "KXSIM-26JAN08-T199.99"]
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers)
    frames = await probe.frames(50)
    assert [f["msg"]["market_ticker"] for f in frames[1:3]] == exchange.tickers
    assert seqs(frames, 1) == list(range(1, 50))


async def test_a_subscription_over_the_market_limit_is_refused_with_26_and_goes_on(make_sim, open_probe):
    exchange = await make_sim(rate=2_000, markets=3, max_markets_per_subscription=2)
    first, second, third = exchange.tickers
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers)
    refused = await probe.frame()
    assert (refused["type"], refused["msg"]["code"], "sid" in refused) == ("error", 26, False)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=[first, second])
    await probe.frames(20)
    add = await probe.cmd("update_subscription", sid=1, action="add_markets", market_ticker=third)
    frames = await probe.frames(200)
    error = next(f for f in frames if f["type"] == "error")
    assert (error["id"], error["sid"], error["msg"]["code"]) == (add, 1, 26)
    exchange.pause()
    frames = await everything(probe)
    assert seqs(frames, 1) == list(range(1, len(seqs(frames, 1)) + 1))  # the error took a seq; no gap
    assert {f["msg"]["market_ticker"] for f in frames if f["type"] == "orderbook_delta"} == {first, second}
    assert exchange.counters.refusals == 2


async def test_commands_beyond_the_rate_limit_are_refused_with_27(make_sim, open_probe):
    exchange = await make_sim(rate=0, command_rate=0.01, command_burst=5)
    exchange.pause()
    probe = await open_probe(exchange.ws_url)
    for _ in range(8):
        await probe.cmd("list_subscriptions")
    replies = await probe.frames(8)
    assert [r["type"] for r in replies] == ["ok"] * 5 + ["error"] * 3
    assert {r["msg"]["code"] for r in replies[5:]} == {27}
    assert [r["id"] for r in replies] == list(range(1, 9))
    other = await open_probe(exchange.ws_url)  # the limit is per connection
    await other.cmd("list_subscriptions")
    assert (await other.frame())["type"] == "ok"


async def test_bad_subscription_options_are_refused_with_11(make_sim, open_probe):
    exchange = await make_sim(rate=0)
    exchange.pause()
    probe = await open_probe(exchange.ws_url)
    cases = [
        {"channels": ["orderbook_delta"], "market_tickers": exchange.tickers, "use_yes_price": "yes"},
        {"channels": ["ticker"], "send_initial_snapshot": 1},
        {"channels": ["ticker"], "market_ticker": "lower-case"},
        {"channels": ["ticker"], "market_ids": ["not-a-market"]},
    ]
    for params in cases:
        await probe.cmd("subscribe", **params)
        reply = await probe.frame()
        assert (reply["type"], reply["msg"]["code"]) == ("error", 11), params


async def test_use_yes_price_only_changes_book_frames(make_sim, open_probe):
    exchange = await make_sim(rate=3_000, markets=1)
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["trade", "ticker"], use_yes_price=True)
    frames = await probe.frames(200)
    trades = [f["msg"] for f in frames if f["type"] == "trade"]
    assert trades and all(
        parse_price_dollars(t["yes_price_dollars"]) + parse_price_dollars(t["no_price_dollars"])
        == PRICE_SCALE
        for t in trades
    )
    ticker = next(f["msg"] for f in reversed(frames) if f["type"] == "ticker")
    assert parse_price_dollars(ticker["yes_bid_dollars"]) < parse_price_dollars(ticker["yes_ask_dollars"])
    assert exchange.markets[exchange.tickers[0]].book.best(Side.YES) is not None
