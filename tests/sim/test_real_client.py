"""The project's own ``KalshiWsClient`` against the local exchange, faults included."""

from __future__ import annotations

import asyncio

from kalshi_rl.core.events import BookDelta, BookSnapshot, Side
from kalshi_rl.kalshi.messages import Event
from kalshi_rl.kalshi.ws_client import FeedBreak, KalshiWsClient, WsConfig
from kalshi_rl.sim.faults import FaultConfig
from tests.support.waiting import eventually

from .conftest import Book, apply_delta, as_levels


class BookKeeper:
    """A minimal FeedHandler: books per market, stale after a break until the next snapshot."""

    def __init__(self) -> None:
        self.books: dict[str, Book] = {}
        self.stale: set[str] = set()
        self.breaks: list[FeedBreak] = []
        self.quarantined: list[str] = []

    def on_connected(self, conn_id: int) -> None:
        pass

    def on_frame(self, raw: str, recv_ns: int) -> None:
        pass

    def on_control(self, raw: str, recv_ns: int, kind: str = "control") -> None:
        pass

    def on_event(self, event: Event, raw: str = "") -> None:
        if isinstance(event, BookSnapshot):
            self.books[event.market_ticker] = {Side.YES: dict(event.yes_bids), Side.NO: dict(event.no_bids)}
            self.stale.discard(event.market_ticker)
        elif isinstance(event, BookDelta) and event.market_ticker not in self.stale:
            apply_delta(self.books[event.market_ticker], event.side, event.price_ticks, event.delta_units)

    def on_quarantine(self, raw: str, recv_ns: int, reason: str, market: str | None) -> None:
        self.quarantined.append(reason)

    def on_break(self, feed_break: FeedBreak) -> None:
        self.breaks.append(feed_break)
        if feed_break.channel == "orderbook_delta":
            self.stale.update(feed_break.markets)


async def test_ws_client_resyncs_after_gaps_and_drops_and_ends_with_the_exchange_books(make_sim):
    exchange = await make_sim(rate=3000, faults=FaultConfig(gap_every=150, drop_every=900))
    keeper = BookKeeper()
    config = WsConfig(
        url=exchange.ws_url,
        market_tickers=tuple(exchange.tickers),
        reconnect_initial_s=0.05,
        resync_timeout_s=2.0,
    )
    client = KalshiWsClient(config, keeper)
    stop = asyncio.Event()
    run = asyncio.create_task(client.run(stop))
    # Until the breaks under test have happened (not a fixed time): gaps and a reconnect.
    await eventually(
        lambda: client.stats.gaps >= 3 and client.stats.reconnects >= 1, "3 gaps and a reconnect"
    )
    exchange.pause()
    await exchange.drain()
    await eventually(  # the last resync lands
        lambda: not keeper.stale and client.connected.is_set() and set(keeper.books) == set(exchange.tickers),
        "every book fresh again",
    )
    stale = set(keeper.stale)
    books = {t: as_levels(b) for t, b in keeper.books.items()}
    stop.set()
    await run

    assert client.stats.gaps >= 3
    assert client.stats.reconnects >= 1
    assert any(b.reason == "gap" for b in keeper.breaks)
    assert any(b.reason == "disconnect" for b in keeper.breaks)
    assert not keeper.quarantined
    assert not stale
    assert books == {t: exchange.book(t) for t in exchange.tickers}
