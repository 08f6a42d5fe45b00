"""A whole rolling series collected by one session, under fault injection (issue 11).

The local exchange rolls a series every second (each market created 1.5 s before its open,
open 1.5 s, settled 0.3 s after its close) while it drops connections and loses messages.
The collector is given only the series. Ground truth is the exchange: its action log (when
each market was created, opened, settled), its per-connection ledger (every frame it sent or
lost, every ``update_subscription`` reply with the full market list after it), and the
subscriptions it holds for the collector at the end. Checked:

- every market of the series made during the run is recorded from a snapshot taken before it
  opened to its ``settled`` lifecycle frame, and its final counts are kept;
- zero lost deltas: the lake holds exactly the deltas a correct collector stores (those sent
  while the market's book was trusted, after a fresh snapshot), once each, on every connection;
- markets are added with ``update_subscription`` ``add_markets`` and removed with
  ``delete_markets`` only after their ``settled`` frame was recorded, and the exchange holds no
  finished market for the collector at the end;
- a finished market's book, sequence state, stats and subscription entry are released.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.ingest.discovery import DiscoveryConfig
from kalshi_rl.data.ingest.write_queue import WriteQueueConfig
from kalshi_rl.kalshi.ws_client import ORDERBOOK, WsConfig
from kalshi_rl.sim.config import SeriesSpec
from kalshi_rl.sim.exchange import SimConfig, SimExchange
from kalshi_rl.sim.faults import FaultConfig
from kalshi_rl.sim.ledger import AckPayload, LifecyclePayload, MalformedPayload
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

SERIES = "KXROLL"
MARKETS = 22
UNREADABLE = {"invalid_json"}
ONE_BOOK = {"unknown_type", "price_out_of_range", "negative_level"}


def expected_deltas(sim: SimExchange) -> dict[int, set[tuple[int, int]]]:
    """Per exchange connection: the (sid, seq) of every delta a correct collector stores.

    A market's book is trusted from a snapshot sent on a sid until a message of that sid is
    lost or unreadable (every book of the sid breaks) or a frame about that market cannot be
    applied (its book breaks); a disconnect starts every book over.
    """
    expected: dict[int, set[tuple[int, int]]] = {}
    for conn in sim.ledger.connections():
        live: dict[str, int] = {}  # market -> the sid whose snapshot made its book trusted
        keep: set[tuple[int, int]] = set()
        for e in sim.ledger.entries(conn):
            if e.channel != ORDERBOOK:
                continue
            market = e.market_ticker or ""
            if e.kind == "snapshot" and e.sent:
                live[market] = e.sid  # type: ignore[assignment]
            elif e.kind == "delta" and e.sent and live.get(market) == e.sid:
                keep.add((e.sid, e.seq))  # type: ignore[arg-type]
            elif e.kind == "lost" or (
                e.kind == "malformed"
                and isinstance(e.payload, MalformedPayload)
                and e.payload.variant in UNREADABLE
            ):
                live = {m: sid for m, sid in live.items() if sid != e.sid}
            elif (
                e.kind == "malformed"
                and isinstance(e.payload, MalformedPayload)
                and e.payload.variant in ONE_BOOK
            ):
                live.pop(market, None)
        expected[conn] = keep
    return expected


def lake(path: Path, table: str, columns: str) -> list[tuple[object, ...]]:
    query = f"SELECT {columns} FROM read_parquet('{path}/{table}/**/*.parquet', hive_partitioning=true)"
    return duckdb.connect().execute(query).fetchall()


async def test_a_rolling_series_is_recorded_market_after_market_under_faults(
    make_sim, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(
        SimConfig(
            rolling=(SeriesSpec(SERIES, roll_seconds=1.0, overlap_seconds=0.5),),
            open_delay_s=1.5,
            settlement_delay_s=0.3,
            rate=600,
            seed=5,
            faults=FaultConfig(drop_every=3_500, gap_every=800, malformed_every=1_500),
        )
    )
    path = tmp_path / "lake"
    grace = 0.3
    config = CollectorConfig(
        ws=WsConfig(url=sim.ws_url, market_tickers=(), reconnect_initial_s=0.05, resync_timeout_s=2.0),
        rest_url=sim.rest_url,
        lake_dir=path,
        write=WriteQueueConfig(batch_size=200, flush_interval_s=0.2),
        series=(SERIES,),
        discovery=DiscoveryConfig(
            recheck_s=2.0, min_recheck_s=0.1, settle_grace_s=grace, retry_initial_s=0.1
        ),
    )
    collector = Collector(config)
    await collector.prepare()
    assert collector.feed is not None and collector.ws is not None and collector.discovery is not None
    feed, ws, discovery = collector.feed, collector.ws, collector.discovery
    stop = asyncio.Event()
    run = asyncio.create_task(collector.run(stop))
    # Until enough markets have been recorded to their end and every fault happened (counts).
    await eventually(
        lambda: (
            run.done()
            or (
                len(feed.finished) >= MARKETS
                and sim.counters.drops >= 2
                and sim.counters.messages_lost >= 5
                and sim.counters.malformed_sent >= 5
            )
        ),
        "22 markets finished under faults",
        timeout_s=240,
    )
    assert not run.done(), run
    sim.stop_rolling()
    await eventually(lambda: not discovery.found and not discovery.releasing, "every market released")
    await eventually(lambda: not ws.subscribed_markets() & set(feed.finished), "the last deletes answered")
    sim.pause()
    await sim.drain()
    (session,) = sim.sessions.values()
    held = {m for sub in session.subs.values() if sub.markets for m in sub.markets}
    stop.set()
    summary = await run

    created = [a for a in sim.ledger.actions("created") if a.target and a.target.startswith(SERIES + "-")]
    tickers = [a.target for a in created]
    assert len(tickers) >= MARKETS and set(summary.finished) == set(tickers)
    opened = {a.target: a.at_ms for a in sim.ledger.actions("opened")}
    settled = {a.target for a in sim.ledger.actions("settled")}
    assert set(tickers) <= settled
    assert summary.ws.reconnects >= 2 and summary.ws.gaps >= 5

    # Every market: a snapshot taken before its open, its settlement, its final counts.
    first_snapshot: dict[str, int] = {}
    for market, recv_ns in lake(path, "snapshots", "market_ticker, ts_recv_ns"):
        first_snapshot[market] = min(first_snapshot.get(market, recv_ns), recv_ns)  # type: ignore[arg-type,index]
    lifecycle = lake(path, "lifecycle", "market_ticker, event_type, ts_recv_ns")
    settled_at = {m: ns for m, kind, ns in lifecycle if kind == "settled"}
    final_status = {
        m: status for m, _, status in sorted(lake(path, "markets", "market_ticker, ts_recv_ns, status"))
    }
    for ticker in tickers:
        assert first_snapshot[ticker] // 1_000_000 < opened[ticker], f"{ticker} subscribed after it opened"
        assert ticker in settled_at or _settled_frame_lost(sim, ticker), (
            f"{ticker}: no settled frame in the lake"
        )
        assert final_status.get(ticker) == "finalized", f"{ticker}: final REST status not recorded"
        record = summary.finished[ticker]
        assert record.phase == "settled" and record.result in ("yes", "no") and record.series == SERIES
        assert record.snapshots >= 1 and record.deltas > 0

    # Every frame the exchange sent is accounted for once (released markets' late ones too).
    dispositions = [d for (d,) in lake(path, "frames", "disposition")]
    assert (
        len(dispositions) == summary.frames == sum(len(sim.ledger.sent(c)) for c in sim.ledger.connections())
    )

    # Zero lost deltas: exactly the trustworthy ones, once each, connection by connection.
    rows = lake(path, "deltas", "conn_id, sid, seq")
    assert len(rows) == len(set(rows)), "a delta was stored twice"
    expected = expected_deltas(sim)
    assert len(expected) == summary.ws.connects
    for number, sim_conn in enumerate(sorted(expected), start=1):
        stored = {(sid, seq) for c, sid, seq in rows if c == number}
        assert stored == expected[sim_conn], f"connection {number}"
    assert sum(s.deltas for s in summary.markets.values()) + sum(
        f.deltas for f in summary.finished.values()
    ) == len(rows)

    # Added with add_markets (the rest came in a connection's subscribe: the first markets, and
    # those made while the collector was reconnecting), removed with delete_markets after they
    # settled: after the exchange sent their settled frame, or (settled while the collector was
    # reconnecting) after the exchange's settlement time -- or never subscribed again after a
    # connection that dropped while they were being released.
    replies = _update_subscription_replies(sim)
    assert len(set(tickers) - replies.added) <= summary.ws.connects + 1, replies.added
    settled_ms = {a.target: a.at_ms for a in sim.ledger.actions("settled")}
    ok_recv = _ok_received(path)
    for ticker in tickers:
        if ticker in replies.deleted:
            conn_deleted, index, sid, seq = replies.deleted[ticker]
            if replies.settled[ticker]:
                assert any(
                    c < conn_deleted or (c == conn_deleted and i < index) for c, i in replies.settled[ticker]
                ), f"{ticker} deleted before the exchange sent its settlement"
            else:
                received = ok_recv[(conn_deleted, sid, seq)]
                assert received // 1_000_000 >= settled_ms[ticker], f"{ticker} deleted before it settled"
        else:
            last = max(c for c, carried in replies.carried_at_end.items() if ticker in carried)
            assert last < max(replies.carried_at_end), f"{ticker} never deleted from connection {last}"
    assert not held & set(tickers), "the exchange still sends the collector finished markets"

    # Memory of finished markets released.
    subs = ws.stream.subs
    for state in (collector.books, feed.stats, feed.roster.segment, feed.series_tickers, discovery.found):
        assert not set(state) & set(tickers)
    assert not set(ws.stream.resync_deadline) & set(tickers)
    assert not {m for markets in subs.wanted.values() for m in markets} & set(tickers)
    assert not {m for sub in subs.by_sid.values() for m in sub.markets} & set(tickers)


@dataclass
class Replies:
    added: set[str] = field(default_factory=set)
    """Markets an ``ok`` listed that their sid did not carry before (added by add_markets)."""
    deleted: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    """Market -> (connection, ledger index, sid, seq) of the ``ok`` that no longer listed it."""
    settled: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    """Market -> (connection, ledger index) of each settled frame sent."""
    carried_at_end: dict[int, set[str]] = field(default_factory=dict)
    """Connection -> the markets its book subscriptions carried when it ended."""


def _update_subscription_replies(sim: SimExchange) -> Replies:
    """What the exchange's ledger says of every book subscription, connection by connection."""
    replies = Replies()
    for conn in sim.ledger.connections():
        carried: dict[int, set[str]] = defaultdict(set)
        for e in sim.ledger.entries(conn):
            payload = e.payload
            if (
                e.kind == "lifecycle"
                and e.sent
                and isinstance(payload, LifecyclePayload)
                and payload.event_type == "settled"
            ):
                replies.settled[e.market_ticker or ""].append((conn, e.index))
            if e.channel != ORDERBOOK or e.sid is None:
                continue
            if e.kind == "snapshot":
                carried[e.sid].add(e.market_ticker or "")
            elif e.kind == "ack" and isinstance(e.payload, AckPayload) and e.payload.reply == "ok":
                after = set(e.payload.market_tickers)
                replies.added |= after - carried[e.sid]
                for market in carried[e.sid] - after:
                    replies.deleted[market] = (conn, e.index, e.sid, e.seq or 0)
                carried[e.sid] = after
        replies.carried_at_end[conn] = set().union(*carried.values())
    return replies


def _settled_frame_lost(sim: SimExchange, ticker: str) -> bool:
    """Whether the exchange may not have delivered the market's settled frame: lost by
    ``gap_every``, made while the collector was reconnecting (no connection to send it on), or
    sent on a connection the exchange then aborted. Only REST can tell the collector then."""
    last = max(sim.ledger.connections())
    for conn in sim.ledger.connections():
        for e in sim.ledger.entries(conn):
            payload = e.payload
            if (
                e.market_ticker == ticker
                and isinstance(payload, LifecyclePayload)
                and payload.event_type == "settled"
            ):
                return e.kind == "lost" or not e.sent or conn != last
    return True


def _ok_received(path: Path) -> dict[tuple[int, int, int], int]:
    """(connection, sid, seq) -> when the collector received that ``ok`` (the lake's frames)."""
    received = {}
    for conn, ns, raw, disposition in lake(path, "frames", "conn_id, ts_recv_ns, raw, disposition"):
        if disposition != "control":  # acks only (a malformed frame is not JSON)
            continue
        frame = json.loads(raw)  # type: ignore[arg-type]
        if isinstance(frame, dict) and frame.get("type") == "ok" and "seq" in frame:
            received[(conn, frame["sid"], frame["seq"])] = ns
    return received  # type: ignore[return-value]


async def test_hundreds_of_markets_on_one_connection_split_by_the_subscription_limit(
    make_sim, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # 300 markets of a series (three events of 100), the exchange allowing 100 per subscription:
    # one connection, the books split over subscriptions as its refusals (26) require.
    sim: SimExchange = await make_sim(SimConfig(markets=100, rate=1_500, max_markets_per_subscription=100))
    sim.create_event(markets=100)
    sim.create_event(markets=100)
    tickers = set(sim.tickers)
    collector = Collector(
        CollectorConfig(
            ws=WsConfig(url=sim.ws_url, market_tickers=()),
            rest_url=sim.rest_url,
            lake_dir=tmp_path / "lake",
            write=WriteQueueConfig(batch_size=500, flush_interval_s=0.2),
            series=("KXSIM",),
            rest_tokens_per_s=10_000.0,
        )
    )
    stop = asyncio.Event()
    run = asyncio.create_task(collector.run(stop))
    try:
        await eventually(lambda: collector.feed is not None and len(collector.books) == 300, "300 markets")
        feed, ws = collector.feed, collector.ws
        assert feed is not None and ws is not None
        await eventually(lambda: all(feed.stats[t].snapshots for t in tickers), "300 books")
        await eventually(lambda: feed.frames > 5_000, "the books moving")
        sim.pause()
        await sim.drain()
        await eventually(
            lambda: all(_same_book(sim, collector, t) for t in tickers), "books equal the exchange's"
        )
        view = collector.view(top=10)
    finally:
        stop.set()
        summary = await run
    books = ws.stream.subs.of_channel(ORDERBOOK)
    assert summary.ws.connects == 1 and len(books) >= 3 and all(len(s.markets) <= 100 for s in books)
    assert {m for s in books for m in s.markets} == tickers and summary.ws.gaps == 0
    assert view.totals.markets == 300 and len(view.most_active) == 10 and not view.problems
    assert sum(r.frames for r in view.markets) == sum(s.frames for s in summary.markets.values())


def _same_book(sim: SimExchange, collector: Collector, ticker: str) -> bool:
    state = collector.books[ticker].state
    yes, no = sim.book(ticker)
    return not state.stale and (dict(state.yes_bids.sizes), dict(state.no_bids.sizes)) == (
        dict(yes),
        dict(no),
    )
