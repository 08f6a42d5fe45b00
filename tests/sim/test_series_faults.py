"""Fault injection stays on while a series rolls over.

A client follows a fast series the way a collector must under faults: it lists the series'
live markets over REST, subscribes, adds each created market, resubscribes its book after a
terminal error and reconnects after a drop. It never removes a market, so its subscription
soon names markets the exchange has forgotten (``keep_settled=1``). The exchange must go on
rolling while every kind of fault keeps hitting markets of one roll-over after another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from kalshi_rl.sim import FaultConfig, SeriesSpec, SimConfig, SimExchange
from kalshi_rl.sim.ledger import MalformedPayload

from .conftest import Probe

SERIES = SeriesSpec("KXETH1M", roll_seconds=0.3, overlap_seconds=0.1)
FAULTS = FaultConfig(
    gap_every=53,
    malformed_every=71,
    stall_every=230,
    stall_seconds=0.05,
    error_every=2_003,
    drop_every=4_001,
)


async def live_markets(exchange: SimExchange) -> list[str]:
    """Return the series' unopened and open markets, as REST lists them."""
    tickers: list[str] = []
    async with httpx.AsyncClient(base_url=exchange.rest_url) as http:
        for status in ("unopened", "open"):
            body = (await http.get(f"/markets?series_ticker={SERIES.ticker}&status={status}")).json()
            tickers += [m["ticker"] for m in body["markets"]]
    return tickers


async def session(exchange: SimExchange, deadline: float) -> None:
    """One connection: follow the series until the connection drops or time is up."""
    async with connect(exchange.ws_url, compression=None, max_queue=None) as ws:
        probe = Probe(ws)
        await probe.cmd("subscribe", channels=["market_lifecycle_v2"])
        await probe.cmd(
            "subscribe", channels=["orderbook_delta"], market_tickers=await live_markets(exchange)
        )
        book_sid = 2
        while time.monotonic() < deadline:
            try:
                frame = json.loads(await probe.text(1.0))
            except TimeoutError:
                continue
            except json.JSONDecodeError:
                continue  # a malformed frame: the client quarantines it
            msg = frame.get("msg")
            if not isinstance(msg, dict):
                continue
            if frame["type"] == "subscribed" and msg["channel"] == "orderbook_delta":
                book_sid = msg["sid"]
            elif frame["type"] == "market_lifecycle_v2" and msg.get("event_type") == "created":
                await probe.cmd(
                    "update_subscription",
                    sid=book_sid,
                    action="add_markets",
                    market_tickers=[msg["market_ticker"]],
                )
            elif frame["type"] == "error" and frame.get("sid") == book_sid:
                await probe.cmd(
                    "subscribe", channels=["orderbook_delta"], market_tickers=await live_markets(exchange)
                )


async def test_every_fault_keeps_hitting_markets_of_one_roll_over_after_another(make_sim):
    exchange = await make_sim(
        SimConfig(
            rolling=(SERIES,),
            rate=2_000,
            open_delay_s=0.2,
            settlement_delay_s=0.1,
            keep_settled=1,
            faults=FAULTS,
        )
    )
    deadline = time.monotonic() + 8.0
    while time.monotonic() < deadline:
        with contextlib.suppress(ConnectionClosed, OSError):
            await session(exchange, deadline)
    settled = exchange.ledger.actions("settled")
    events_before = exchange.counters.model_events
    await asyncio.sleep(0.3)

    counters = exchange.counters
    assert len(settled) >= 12, "the series kept rolling"
    assert counters.model_events > events_before, "the generator is alive"
    assert counters.drops >= 1 and len(exchange.ledger.connections()) >= 2
    assert counters.stalls >= 1 and counters.subscription_errors >= 1
    entries = [e for conn in exchange.ledger.connections() for e in exchange.ledger.entries(conn)]
    lost = {e.market_ticker for e in entries if e.kind == "lost"}
    malformed = {e.market_ticker for e in entries if isinstance(e.payload, MalformedPayload)}
    # faults hit markets of many roll-overs, not just the first ones
    assert len(lost) >= 5 and len(malformed) >= 5, (lost, malformed)
    settled_tickers = {a.target for a in settled}
    assert lost & settled_tickers and malformed & settled_tickers
