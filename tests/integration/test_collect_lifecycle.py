"""The collector against the local exchange speaking every lifecycle and event message.

One run on a real socket: a pause and its end, a close-date change, a price-grid change, a
metadata change, an event fee override set and cleared, a new event with its markets, the
exchange flipping its book price encoding unannounced, a book subscription split by the
exchange's per-subscription market limit (error 26), a ticker it refuses (error 11), and a
market closed, determined and settled. Each change is made on the exchange, then awaited in
the collector's shared status (events, not timing). Checked after: zero gaps (no fault was
injected, so any gap would be false), the books equal the exchange's, every message type is in
the lake, and the encoding mismatch was caught and resynced, never applied.
"""

from __future__ import annotations

import asyncio
import time
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest

from kalshi_rl.core.fee_schedule import FeeSchedule, FeeSource, FeeType
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.ingest.orderbook_client import OrderbookClient
from kalshi_rl.data.ingest.sinks import LakeSink
from kalshi_rl.data.ingest.write_queue import OrderbookWriteQueue, WriteQueueConfig
from kalshi_rl.data.lake.writer import LakeWriter
from kalshi_rl.kalshi.ws_client import KalshiWsClient, WsConfig
from kalshi_rl.sim.exchange import SimConfig, SimExchange
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

SERIES_FEE = FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(1, 2), FeeSource.SERIES)
OVERRIDE = FeeSchedule(FeeType.QUADRATIC, Fraction(3, 4), FeeSource.EVENT_OVERRIDE)
REFUSED = "KXSIM-NOSUCH-T1"


def books_match(sim: SimExchange, collector: Collector) -> bool:
    for ticker in sim.tickers:
        if ticker not in collector.books:
            continue
        state = collector.books[ticker].state
        yes, no = sim.book(ticker)
        if state.stale or (dict(state.yes_bids.sizes), dict(state.no_bids.sizes)) != (dict(yes), dict(no)):
            return False
    return True


async def test_every_lifecycle_and_event_message_without_a_false_gap(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(
        SimConfig(
            markets=2,
            seed=3,
            rate=400,
            fee_type=SERIES_FEE.fee_type.value,
            fee_multiplier="0.5",
            max_markets_per_subscription=1,
            settlement_delay_s=0.2,
        )
    )
    a, b = sim.tickers
    lake = tmp_path / "lake"
    config = CollectorConfig(
        ws=WsConfig(url=sim.ws_url, market_tickers=(a, b), reconnect_initial_s=0.05, resync_timeout_s=2.0),
        rest_url=sim.rest_url,
        lake_dir=lake,
        write=WriteQueueConfig(batch_size=50, flush_interval_s=0.1),
    )
    collector = Collector(config)
    stop = asyncio.Event()
    run = asyncio.create_task(collector.run(stop))
    status = {t: (lambda t=t: collector.books[t].status) for t in (a, b)}
    await eventually(lambda: books_match(sim, collector), "first snapshots")

    # Fees from the series (REST), the pause, close date, grid, metadata, fee override.
    assert status[a]().fees == status[b]().fees == SERIES_FEE
    sim.deactivate(a)
    await eventually(lambda: status[a]().phase == "paused", "the pause")
    assert not status[a]().is_trading and status[b]().is_trading
    sim.activate(a)
    await eventually(lambda: status[a]().is_trading, "the end of the pause")
    new_close_ms = (time.time_ns() // 1_000_000 // 1000 + 7_200) * 1000
    sim.update_close_time(b, new_close_ms)
    await eventually(lambda: status[b]().close_time_ms == new_close_ms, "the close date change")
    sim.update_price_grid(a, "deci_cent")
    await eventually(lambda: status[a]().price_ranges == ((0, 10_000, 10),), "the grid change")
    assert collector.books[a].is_valid_price(5_010) and not collector.books[a].is_valid_price(5_015)
    sim.update_metadata(a, "above $1")
    await eventually(lambda: status[a]().last_event == "metadata_updated", "the metadata change")
    event = status[a]().event_ticker
    assert event is not None
    sim.update_event_fee(event, OVERRIDE)
    await eventually(lambda: status[a]().fees == status[b]().fees == OVERRIDE, "the fee override")
    sim.update_event_fee(event, None)
    await eventually(lambda: status[a]().fees == SERIES_FEE, "the fee override cleared")
    sim.create_event(2)
    await eventually(lambda: collector.feed is not None and collector.feed.event_frames >= 3, "the new event")

    # The exchange flips its price encoding: caught on a crossed snapshot, switched, resynced.
    assert collector.ws is not None
    sim.switch_encoding()
    await eventually(lambda: collector.ws.stats.encoding_mismatches >= 1, "the encoding mismatch")  # type: ignore[union-attr]
    sim.pause()
    await sim.drain()
    await eventually(lambda: books_match(sim, collector), "books equal to the exchange's after the switch")
    sim.resume()  # every book sid now reads the new encoding: the books keep matching
    events_before = sim.counters.model_events
    await eventually(lambda: sim.counters.model_events > events_before + 200, "more book changes")
    sim.pause()
    await sim.drain()
    await eventually(lambda: books_match(sim, collector), "books equal to the exchange's later on")
    sim.resume()

    # The end of a market: closed now, determined, settled.
    sim.update_close_time(b, time.time_ns() // 1_000_000 - 1_000)
    await eventually(lambda: status[b]().phase == "settled", "determination and settlement")
    assert status[b]().closed and not status[b]().is_trading and status[b]().settlement_ticks is not None
    stop.set()
    summary = await run

    assert summary.ws.gaps == 0  # nothing was lost: any gap would be false
    assert summary.ws.encoding_mismatches >= 1
    con = duckdb.connect()

    def lake_rows(sql: str) -> list[tuple[object, ...]]:
        return con.execute(sql.replace("{lake}", str(lake))).fetchall()

    kinds = {
        k for (k,) in lake_rows("SELECT DISTINCT kind FROM read_parquet('{lake}/book_events/**/*.parquet')")
    }
    assert not any("gap" in k for k in kinds), kinds
    assert "encoding_mismatch" in kinds
    stored = {
        (m, e)
        for m, e in lake_rows(
            "SELECT market_ticker, event_type FROM read_parquet('{lake}/lifecycle/**/*.parquet', hive_partitioning=true)"
        )
    }
    assert {
        (a, "deactivated"),
        (a, "activated"),
        (a, "price_level_structure_updated"),
        (a, "metadata_updated"),
    } <= stored
    assert {(b, "close_date_updated"), (b, "determined"), (b, "settled")} <= stored
    events = lake_rows(
        "SELECT type, event_ticker, fee_type FROM read_parquet('{lake}/events/**/*.parquet') ORDER BY ts_recv_ns"
    )
    assert [(t, e, f) for t, e, f in events if t == "event_fee_update"] == [
        ("event_fee_update", event, "quadratic"),
        ("event_fee_update", event, None),
    ]
    assert [t for t, _, _ in events].count("event_lifecycle") == 1
    created = lake_rows(
        "SELECT count(*) FROM read_parquet('{lake}/frames/**/*.parquet') "
        "WHERE disposition = 'other_market' AND raw LIKE '%\"event_type\":\"created\"%'"
    )
    assert created == [(2,)]  # the new event's markets: seen, counted, not ours
    fees = lake_rows(
        "SELECT DISTINCT fee_type, fee_multiplier, fee_source FROM read_parquet('{lake}/markets/**/*.parquet')"
    )
    assert fees == [("quadratic_with_maker_fees", "0.5", "series")]
    assert summary.markets[a].unsubscribable == summary.markets[b].unsubscribable == ""


async def test_a_ticker_the_exchange_refuses_is_reported_not_left_empty(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The exchange refuses one ticker of a subscribe (error 11 naming it): the others are
    subscribed, the refused one is reported as unsubscribable, in the stats and the lake.

    The collector's REST check would stop at an unknown ticker before connecting, so the feed
    half of the pipeline (the WebSocket client and the collector's handler) runs on its own.
    """
    sim: SimExchange = await make_sim(SimConfig(markets=2, seed=4, rate=200))
    a, b = sim.tickers
    markets = (a, REFUSED, b)
    lake = tmp_path / "lake"
    books = {t: SharedOrderbookState(t) for t in markets}
    queue = OrderbookWriteQueue([LakeSink(LakeWriter(lake, "s"))], WriteQueueConfig(flush_interval_s=0.1))
    feed = OrderbookClient(books, queue, "s", time.time_ns() // 1_000_000)
    client = KalshiWsClient(WsConfig(url=sim.ws_url, market_tickers=markets, reconnect_initial_s=0.05), feed)
    feed.request_snapshot = client.request_snapshot
    queue.start()
    stop = asyncio.Event()
    run = asyncio.create_task(client.run(stop))
    await eventually(
        lambda: (
            bool(feed.stats[REFUSED].unsubscribable) and not books[a].state.stale and not books[b].state.stale
        ),
        "the refusal",
    )
    stop.set()
    await run
    await queue.close()
    assert "error 11" in feed.stats[REFUSED].unsubscribable
    assert client.stats.unsubscribable.keys() == {REFUSED}
    assert books[REFUSED].state.stale and feed.stats[REFUSED].snapshots == 0  # no book, and it says why
    rows = (
        duckdb.connect()
        .execute(
            f"SELECT market_ticker, detail FROM read_parquet('{lake}/book_events/**/*.parquet', hive_partitioning=true) "
            "WHERE kind = 'unsubscribable'"
        )
        .fetchall()
    )
    assert [m for m, _ in rows] == [REFUSED] * len(rows) and rows


async def test_rate_limited_subscriptions_are_retried_until_every_book_is_live(
    make_sim, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The exchange takes one command per ~0.3 s (error 27 beyond): the subscriptions get through."""
    sim: SimExchange = await make_sim(
        SimConfig(markets=2, seed=6, rate=200, command_rate=3.0, command_burst=1)
    )
    config = CollectorConfig(
        ws=WsConfig(url=sim.ws_url, market_tickers=tuple(sim.tickers), reconnect_initial_s=0.1),
        rest_url=sim.rest_url,
        lake_dir=tmp_path / "lake",
        write=WriteQueueConfig(batch_size=50, flush_interval_s=0.1),
    )
    collector = Collector(config)
    stop = asyncio.Event()
    run = asyncio.create_task(collector.run(stop))
    await eventually(lambda: books_match(sim, collector), "every book live")
    assert collector.ws is not None
    await eventually(lambda: collector.ws.stream.subs.complete, "every subscription")  # type: ignore[union-attr]
    stop.set()
    summary = await run
    assert summary.ws.errors.get(27, 0) >= 1 and summary.ws.retries >= 1
    assert summary.ws.reconnects == 0 and not summary.ws.unsubscribable
    assert set(collector.ws.subscription_seqs()) == set(config.ws.channels)
