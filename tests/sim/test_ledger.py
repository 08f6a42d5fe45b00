"""The ledger says exactly what each connection was sent; replaying it rebuilds the book."""

from __future__ import annotations

import json

from kalshi_rl.core.events import BookDelta, BookSnapshot, Side
from kalshi_rl.kalshi.messages import parse_frame
from kalshi_rl.sim import SimConfig, SimExchange
from kalshi_rl.sim.model import ModelDelta, ModelTrade

from .conftest import Book, apply_delta, as_levels, replay


async def test_replaying_the_sent_snapshot_and_deltas_reproduces_the_exchange_book(make_sim, open_probe):
    exchange = await make_sim(rate=4000, markets=3)
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta"], market_tickers=exchange.tickers[:2])
    await probe.frames(800)
    exchange.pause()
    await exchange.drain()
    await probe.until_quiet(0.2)

    (conn,) = exchange.ledger.connections()
    entries = exchange.ledger.entries(conn)
    assert all(e.sent for e in entries)
    books = replay(entries)
    assert set(books) == set(exchange.tickers[:2])
    for ticker, book in books.items():
        assert as_levels(book) == exchange.book(ticker)

    # the client's own view, from the frames it received, is the same
    client_books: dict[str, Book] = {}
    for text in probe.texts:
        message = parse_frame(text, 0)
        if isinstance(message, BookSnapshot):
            client_books[message.market_ticker] = {
                Side.YES: dict(message.yes_bids),
                Side.NO: dict(message.no_bids),
            }
        elif isinstance(message, BookDelta):
            book = client_books[message.market_ticker]
            apply_delta(book, message.side, message.price_ticks, message.delta_units)
    assert {t: as_levels(b) for t, b in client_books.items()} == {t: exchange.book(t) for t in books}


async def test_ledger_records_acks_and_each_sent_frame_in_order(make_sim, open_probe):
    exchange = await make_sim(rate=2000)
    probe = await open_probe(exchange.ws_url)
    await probe.cmd("subscribe", channels=["orderbook_delta", "trade"], market_tickers=exchange.tickers)
    await probe.frames(300)
    exchange.pause()
    await exchange.drain()
    await probe.until_quiet(0.2)

    entries = exchange.ledger.entries(exchange.ledger.connections()[0])
    assert len(entries) == len(probe.texts)
    for entry, text in zip(entries, probe.texts, strict=True):
        frame = json.loads(text)
        if entry.kind == "ack":
            assert frame["type"] == "subscribed"
            assert frame["msg"]["sid"] == entry.sid
            continue
        assert (frame["sid"], frame["seq"], frame["msg"]["market_ticker"]) == (
            entry.sid,
            entry.seq,
            entry.market_ticker,
        )
        message = parse_frame(text, 0)
        if entry.kind == "delta":
            assert isinstance(entry.payload, ModelDelta)
            assert (message.side, message.price_ticks, message.delta_units) == (  # type: ignore[union-attr]
                entry.side,
                entry.price_ticks,
                entry.delta_units,
            )
        elif entry.kind == "trade":
            assert isinstance(entry.payload, ModelTrade)
            assert (message.trade_id, message.yes_price_ticks, message.count_units) == (  # type: ignore[union-attr]
                entry.payload.trade_id,
                entry.payload.yes_price_ticks,
                entry.payload.count_units,
            )
        else:
            assert entry.kind == "snapshot"
            assert (list(message.yes_bids), list(message.no_bids)) == (  # type: ignore[union-attr]
                list(entry.yes_bids or ()),
                list(entry.no_bids or ()),
            )


async def _first_events(seed: int, open_probe) -> tuple[list[str], list]:
    exchange = SimExchange(SimConfig(seed=seed, rate=5000))
    await exchange.start()
    exchange.pause()  # before the generator's first step: the client sees event 0 onwards
    try:
        probe = await open_probe(exchange.ws_url)
        await probe.cmd("subscribe", channels=["orderbook_delta", "trade"], market_tickers=exchange.tickers)
        await probe.frames(4)
        exchange.resume()
        await probe.frames(400)
        entries = exchange.ledger.entries(exchange.ledger.connections()[0])
        events = [e.payload for e in entries if e.kind in ("delta", "trade", "snapshot")][:400]
        return exchange.tickers, events
    finally:
        await exchange.stop()


async def test_same_seed_gives_the_same_first_events(open_probe):
    tickers_a, events_a = await _first_events(11, open_probe)
    tickers_b, events_b = await _first_events(11, open_probe)
    _, events_c = await _first_events(12, open_probe)
    assert tickers_a == tickers_b
    assert all(t.startswith("KXSIM-") and t.replace("-", "").isalnum() and t.isupper() for t in tickers_a)
    assert len(events_a) == 400
    assert events_a == events_b
    assert events_a != events_c
