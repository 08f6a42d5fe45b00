"""Rolling series on the wire: every market's frames over a real WebSocket, REST by status over time.

The WebSocket test runs on the wall clock with a series rolling every 0.4 s and reads what a
client following the series gets: each market's lifecycle frames in order, its book from the
snapshot its subscription starts with to the empty snapshot pushed at its close, and nothing
after its settlement; then how the exchange answers for settled and forgotten markets. The
REST test moves the exchange's clock itself, so each listing is compared with the timetable
computed from the settings, at exact exchange times.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx

from kalshi_rl.core.events import Side
from kalshi_rl.sim import SeriesSpec, SimConfig, SimExchange

from .conftest import Book, Probe, apply_delta
from .series_support import T0, ManualClock, made_by, planned
from .test_schedule import until

FAST = SeriesSpec("KXBTC15M", roll_seconds=0.4, overlap_seconds=0.2)


def lifecycle_of(frame: dict[str, Any]) -> tuple[str, str] | None:
    """Return ``(event type, ticker)`` of a lifecycle-sid frame."""
    if frame["type"] == "market_lifecycle_v2":
        return frame["msg"]["event_type"], frame["msg"]["market_ticker"]
    if frame["type"] == "event_lifecycle":
        return "event_lifecycle", frame["msg"]["event_ticker"]
    return None


async def follow(probe: Probe, exchange: SimExchange, settled_wanted: int, keep: str) -> list[dict[str, Any]]:
    """Follow the series as a collector would: add each created market to the book sid, remove
    each settled one (except ``keep``); return every frame read."""
    await probe.cmd("subscribe", channels=["market_lifecycle_v2"])
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=[keep])
    frames: list[dict[str, Any]] = []
    settled = 0
    while settled < settled_wanted:
        frame = await probe.frame(10.0)
        frames.append(frame)
        event = lifecycle_of(frame)
        if event is None:
            continue
        kind, ticker = event
        if kind == "created" and ticker != keep:
            await probe.cmd("update_subscription", sid=2, action="add_markets", market_tickers=[ticker])
        elif kind == "settled":
            settled += 1
            if ticker != keep:
                await probe.cmd(
                    "update_subscription", sid=2, action="delete_markets", market_tickers=[ticker]
                )
    exchange.stop_rolling()
    return frames


async def test_every_market_sends_created_then_its_book_then_determined_and_settled_then_nothing(
    make_sim, open_probe
):
    exchange = await make_sim(
        SimConfig(
            rolling=(FAST,),
            rate=1_500,
            open_delay_s=0.3,
            determination_delay_s=0.1,
            settlement_delay_s=0.2,
            keep_settled=2,
        )
    )
    (first,) = exchange.tickers  # the series' first market, unopened for 0.3 s
    probe = await open_probe(exchange.ws_url)
    frames = await follow(probe, exchange, settled_wanted=8, keep=first)

    by_sid: dict[int, list[int]] = {}
    for frame in frames:
        if "seq" in frame:
            by_sid.setdefault(frame["sid"], []).append(frame["seq"])
    assert {sid: seqs == list(range(1, len(seqs) + 1)) for sid, seqs in by_sid.items()} == {1: True, 2: True}

    lifecycle = [(i, *e) for i, f in enumerate(frames) if (e := lifecycle_of(f)) is not None]
    created = [t for _, kind, t in lifecycle if kind == "created"]
    settled = [t for _, kind, t in lifecycle if kind == "settled"]
    assert created[:3] == [p.ticker for p in itertools.islice(planned(FAST, exchange.config), 1, 4)]
    for ticker in settled:
        steps = [(i, kind) for i, kind, t in lifecycle if t in (ticker, ticker.rsplit("-", 1)[0])]
        # no "activated" at the open: Kalshi sends none for initialized -> active
        assert [kind for _, kind in steps] == ["event_lifecycle", "created", "determined", "settled"] or (
            ticker == first and [kind for _, kind in steps] == ["determined", "settled"]
        ), ticker
        determined_at, settled_at = steps[-2][0], steps[-1][0]
        book = [
            (i, f)
            for i, f in enumerate(frames)
            if f.get("sid") == 2 and f["type"].startswith("orderbook") and f["msg"]["market_ticker"] == ticker
        ]
        kinds = [f["type"] for _, f in book]
        assert kinds[0] == kinds[-1] == "orderbook_snapshot" and "orderbook_delta" in kinds, ticker
        assert kinds.count("orderbook_snapshot") == 2, ticker  # the subscription's, then the close's
        close_at, close = book[-1]
        assert close["msg"].keys() == {"market_ticker", "market_id"}  # an empty book
        assert close_at < determined_at  # closed before determined
        replay_book(f for _, f in book[:-1])  # no level ever goes negative on the client's book
        after = [f for f in frames[settled_at + 1 :] if f.get("msg", {}).get("market_ticker") == ticker]
        assert after == [], ticker  # a settled market's frames stop

    # A settled market still kept answers a new subscription with an empty book; an older one
    # is forgotten: error 11, as for any unknown market; a subscription may still delete it.
    await until(lambda: not exchange.lifecycle.live, "the last markets' settlement")
    kept = list(exchange.markets)
    forgotten = [t for t in settled if t not in exchange.markets]
    assert len(kept) == 2 and all(m.status == "finalized" for m in exchange.markets.values())
    assert first in forgotten
    other = await open_probe(exchange.ws_url)
    await other.cmd("subscribe", channels=["orderbook_delta"], market_tickers=[kept[-1]])
    subscribed, snapshot = await other.frames(2)
    assert subscribed["type"] == "subscribed"
    assert (snapshot["type"], snapshot["msg"]["market_ticker"]) == ("orderbook_snapshot", kept[-1])
    assert snapshot["msg"].keys() == {"market_ticker", "market_id"}
    await other.cmd("subscribe", channels=["orderbook_delta"], market_tickers=[forgotten[-1]])
    refusal = await other.frame()
    assert (refusal["type"], refusal["msg"]["code"], refusal["msg"]["market_ticker"]) == (
        "error",
        11,
        forgotten[-1],
    )
    await probe.cmd("update_subscription", sid=2, action="delete_markets", market_tickers=[first])
    replies = [f for f in await read_for(probe, 1.0) if f["type"] in ("ok", "error")]
    assert replies[-1]["type"] == "ok" and first not in replies[-1]["msg"]["market_tickers"]
    async with httpx.AsyncClient() as http:
        gone = await http.get(f"{exchange.rest_url}/markets/{forgotten[-1]}")
        final = (await http.get(f"{exchange.rest_url}/markets/{kept[-1]}")).json()["market"]
        book = (await http.get(f"{exchange.rest_url}/markets/{kept[-1]}/orderbook")).json()
    assert gone.status_code == 404
    assert final["status"] == "finalized" and final["result"] in ("yes", "no")
    assert book == {"orderbook_fp": {"yes_dollars": [], "no_dollars": []}}


def replay_book(frames: Any) -> Book:
    """Replay a market's snapshot and deltas as a client does (``apply_delta`` checks each level)."""
    book: Book = {Side.YES: {}, Side.NO: {}}
    for frame in frames:
        msg = frame["msg"]
        if frame["type"] == "orderbook_snapshot":
            book = {
                side: {round(float(p) * 10_000): round(float(c) * 100) for p, c in msg.get(key, [])}
                for side, key in ((Side.YES, "yes_dollars_fp"), (Side.NO, "no_dollars_fp"))
            }
        else:
            price = round(float(msg["price_dollars"]) * 10_000)
            apply_delta(book, Side(msg["side"]), price, round(float(msg["delta_fp"]) * 100))
    return book


async def read_for(probe: Probe, seconds: float) -> list[dict[str, Any]]:
    """Read frames until none arrives for ``seconds``."""
    return [json.loads(t) for t in await probe.until_quiet(seconds)]


async def test_rest_lists_each_series_markets_by_status_at_every_moment_of_their_lives() -> None:
    btc = SeriesSpec("KXBTC15M", roll_seconds=2.0, overlap_seconds=0.5)
    eth = SeriesSpec("KXETH1M", roll_seconds=0.5)
    config = SimConfig(
        rolling=(btc, eth),
        rate=0,
        open_delay_s=1.0,
        determination_delay_s=0.2,
        settlement_delay_s=0.3,
        keep_settled=3,
    )
    clock = ManualClock()
    exchange = SimExchange(config, clock=clock)
    await exchange.start()
    seen: dict[tuple[str, str], int] = {}
    try:
        async with httpx.AsyncClient(base_url=exchange.rest_url) as http:
            for now in range(T0, T0 + 9_000, 250):
                clock.now_ms = now
                exchange.lifecycle.tick(now)
                for spec in (btc, eth):
                    plan = made_by(spec, config, now)
                    for status in ("unopened", "open", "closed", "settled"):
                        expected = [p.ticker for p in plan if p.status_at(now) == status]
                        if status == "settled":
                            expected = expected[-3:]  # the series' last keep_settled
                        listed = await list_all(http, f"series_ticker={spec.ticker}&status={status}")
                        assert listed == expected, (now - T0, spec.ticker, status)
                        seen[(spec.ticker, status)] = seen.get((spec.ticker, status), 0) + len(listed)
            series = (await http.get("/series/KXETH1M")).json()["series"]
            event_ticker = exchange.markets[exchange.tickers[-1]].event_ticker
            event = (await http.get(f"/events/{event_ticker}")).json()
    finally:
        await exchange.stop()
    assert all(
        seen[(spec.ticker, s)] for spec in (btc, eth) for s in ("unopened", "open", "closed", "settled")
    )
    assert series["ticker"] == "KXETH1M"
    assert [m["ticker"] for m in event["markets"]] == [exchange.tickers[-1]]


async def list_all(http: httpx.AsyncClient, query: str) -> list[str]:
    """Return every ticker of a ``GET /markets`` query, two a page, following the cursor."""
    tickers: list[str] = []
    cursor = ""
    while True:
        body = (await http.get(f"/markets?{query}&limit=2&cursor={cursor}")).json()
        tickers += [m["ticker"] for m in body["markets"]]
        cursor = body["cursor"]
        if not cursor:
            return tickers
