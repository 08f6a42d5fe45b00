"""The collector under fault injection, against the real local exchange and real PostgreSQL.

Ground truth is the exchange's ledger: what it generated and sent on each connection. From it
the test derives which deltas a correct collector must store: every delta sent after a fresh
snapshot of its market, until that market's book could no longer be trusted (a lost message, or
a frame whose JSON cannot be read so its seq is unknown, breaks every market of the sid; a frame
whose seq could be counted but whose content is unknown or impossible -- a type we do not know,
a price outside (0, 1), a level going negative -- breaks its own market; a disconnect breaks
all). Those, and only those, must be in the lake and in
PostgreSQL, each exactly once; the final books must equal the exchange's; counts reconcile.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import duckdb
import psycopg
import pytest

from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.ingest.write_queue import WriteQueueConfig
from kalshi_rl.data.storage.database import create_db_engine, parse_database_url
from kalshi_rl.data.storage.migrate import upgrade
from kalshi_rl.kalshi.ws_client import ORDERBOOK, WsConfig
from kalshi_rl.sim.exchange import SimConfig, SimExchange
from kalshi_rl.sim.faults import FaultConfig
from kalshi_rl.sim.ledger import MalformedPayload

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

UNREADABLE = {"invalid_json"}  # its seq cannot be read: the next frame of the sid is a gap
ONE_BOOK = {"unknown_type", "price_out_of_range", "negative_level"}  # seq counted, content lost


def expected_deltas(sim: SimExchange) -> tuple[dict[int, set[tuple[int, int]]], int]:
    """Per sim connection: the (sid, seq) of every delta a correct collector stores.

    Also returns how many sent frames must be quarantined: every malformed one, except an
    impossible delta for a book that is already waiting for a snapshot (that one is 'stale').
    """
    expected: dict[int, set[tuple[int, int]]] = {}
    quarantined = 0
    for conn in sim.ledger.connections():
        entries = [e for e in sim.ledger.entries(conn) if e.channel == ORDERBOOK]
        live: dict[str, bool] = dict.fromkeys(sim.tickers, False)
        keep: set[tuple[int, int]] = set()
        for e in entries:
            if e.kind == "snapshot" and e.sent:
                live[e.market_ticker] = True  # type: ignore[index]
            elif e.kind == "delta" and e.sent and live.get(e.market_ticker or ""):
                keep.add((e.sid, e.seq))  # type: ignore[arg-type]
            elif e.kind == "lost":
                live = dict.fromkeys(live, False)
            elif e.kind == "malformed":
                assert isinstance(e.payload, MalformedPayload)
                ignored = e.payload.variant == "negative_level" and not live.get(e.market_ticker or "")
                quarantined += e.sent and not ignored
                if e.payload.variant in UNREADABLE:
                    live = dict.fromkeys(live, False)
                elif e.payload.variant in ONE_BOOK and e.market_ticker in live:
                    live[e.market_ticker] = False
        expected[conn] = keep
    return expected, quarantined


async def wait_until_books_match(sim: SimExchange, collector: Collector, timeout_s: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        await sim.drain()
        if all(
            _book(collector, t) == _sim_book(sim, t) and not collector.books[t].state.stale
            for t in sim.tickers
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("collector books never matched the exchange's")


def _book(collector: Collector, ticker: str) -> tuple[dict[int, int], dict[int, int]]:
    state = collector.books[ticker].state
    return dict(state.yes_bids.sizes), dict(state.no_bids.sizes)


def _sim_book(sim: SimExchange, ticker: str) -> tuple[dict[int, int], dict[int, int]]:
    yes, no = sim.book(ticker)
    return dict(yes), dict(no)


async def test_collect_under_faults_stores_every_trustworthy_delta_exactly_once(
    make_sim,
    pg_url: str,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    faults = FaultConfig(
        drop_every=3_000, gap_every=700, malformed_every=500, stall_every=1_700, stall_seconds=0.4
    )
    sim: SimExchange = await make_sim(SimConfig(markets=2, seed=11, rate=2_500, faults=faults))
    upgrade(create_db_engine(parse_database_url(pg_url)))
    lake = tmp_path / "lake"
    config = CollectorConfig(
        ws=WsConfig(
            url=sim.ws_url, market_tickers=tuple(sim.tickers), reconnect_initial_s=0.05, resync_timeout_s=2.0
        ),
        rest_url=sim.rest_url,
        lake_dir=lake,
        database_url=pg_url,
        write=WriteQueueConfig(batch_size=100, flush_interval_s=0.2),
    )
    collector = Collector(config)
    stop = asyncio.Event()
    run = asyncio.create_task(collector.run(stop))
    # Run until every kind of fault has happened enough times (counts, not a fixed window).
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    while not (
        sim.counters.drops >= 3
        and sim.counters.messages_lost >= 5
        and sim.counters.malformed_sent >= 15  # every variant three times
        and sim.counters.stalls >= 2
        and sum(s.resyncs for s in collector.feed.stats.values()) >= 5  # type: ignore[union-attr]
    ):
        assert loop.time() < deadline, f"faults did not all happen in 90 s: {sim.counters}"
        assert not run.done(), run
        await asyncio.sleep(0.1)
    sim.pause()
    await wait_until_books_match(sim, collector)
    stop.set()
    summary = await run

    # The faults really happened.
    assert sim.counters.drops >= 3 and sim.counters.messages_lost >= 5 and sim.counters.malformed_sent >= 15
    assert summary.ws.reconnects >= 2 and summary.ws.gaps >= 5
    assert sum(s.resyncs for s in summary.markets.values()) >= 5

    # Every trustworthy delta is in the lake exactly once, and nothing else is.
    con = duckdb.connect()
    lake_rows = con.execute(
        f"SELECT conn_id, sid, seq FROM read_parquet('{lake}/deltas/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert len(lake_rows) == len(set(lake_rows)), "a delta was stored twice"
    conns = sorted({r[0] for r in lake_rows} | set(range(1, summary.ws.connects + 1)))
    expected, expected_quarantined = expected_deltas(sim)
    assert len(expected) == len(conns)
    by_conn = {conn: {(sid, seq) for c, sid, seq in lake_rows if c == conn} for conn in conns}
    for sim_conn, conn in zip(sorted(expected), conns, strict=True):
        assert by_conn[conn] == expected[sim_conn], f"connection {conn}"
    assert sum(len(v) for v in expected.values()) > 0

    # PostgreSQL holds the same rows, once each.
    with psycopg.connect(pg_url) as pg:
        pg_rows = pg.execute("SELECT conn_id, sid, sequence_number FROM orderbook_deltas").fetchall()
        snapshots_pg = pg.execute("SELECT count(*) FROM orderbook_snapshots").fetchone()
    assert Counter(pg_rows) == Counter(lake_rows)
    snapshots_lake = con.execute(
        f"SELECT count(*) FROM read_parquet('{lake}/snapshots/**/*.parquet')"
    ).fetchone()
    assert snapshots_pg == snapshots_lake

    # Counts reconcile: one frames row per frame the exchange sent, by disposition.
    frames = dict(
        con.execute(
            f"SELECT disposition, count(*) FROM read_parquet('{lake}/frames/**/*.parquet') GROUP BY 1"
        ).fetchall()
    )
    sent = sum(len(sim.ledger.sent(c)) for c in sim.ledger.connections())
    assert sum(frames.values()) == summary.frames == sent
    applied_deltas = sum(s.deltas for s in summary.markets.values())
    assert applied_deltas == len(lake_rows)
    quarantined = con.execute(
        f"SELECT count(*) FROM read_parquet('{lake}/quarantine/**/*.parquet')"
    ).fetchone()[0]
    assert frames["quarantined"] == quarantined == expected_quarantined
    assert quarantined >= sim.counters.malformed_sent * 2 // 3
