"""PostgreSQL cut under a running collector, at the points that matter for exactly-once.

A TCP proxy (tests/support/pg_proxy.py) between the collector's PostgresSink and the server
cuts the connection exactly where the test asks instead of at a moment that may miss a write:
(a) inside a COPY of deltas, (b) after the server committed a COPY but before its COMMIT reply
reached the sink (the sink cannot know the rows are stored), (c) for a while, refusing every
connection (the server is down). The real local exchange feeds the collector. During each
outage the sink must say it is down and keep a growing backlog while the books stay live; after
it, every row must be in PostgreSQL exactly once: the same (session, conn, sid, seq) multiset
as the lake, which must match the exchange's ledger.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import duckdb
import psycopg
import pytest

from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.ingest.write_queue import WriteQueueConfig
from kalshi_rl.data.storage.database import create_db_engine, parse_database_url
from kalshi_rl.data.storage.migrate import upgrade
from kalshi_rl.data.storage.postgres_sink import PostgresSink
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.sim.exchange import SimConfig, SimExchange
from tests.integration.test_collect_faults import expected_deltas, wait_until_books_match
from tests.support.pg_proxy import PgProxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

StreamKey = tuple[str, int, int, int]  # session, conn, sid, seq


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    """Wait for ``condition`` (the timeout only turns a hang into a failure)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"never happened within {timeout_s} s: {what}")
        await asyncio.sleep(0.02)


def applied_deltas(collector: Collector) -> int:
    assert collector.feed is not None
    return sum(s.deltas for s in collector.feed.stats.values())


async def outage_is_reported_then_recovered(collector: Collector, proxy: PgProxy) -> None:
    """While the proxy is down: the sink says so, its backlog grows, the books keep going."""
    sink = collector.sinks[1]
    await until(lambda: not sink.stats.healthy, "the sink reported the outage")
    backlog, deltas = sink.stats.backlog_rows, applied_deltas(collector)
    await until(
        lambda: sink.stats.backlog_rows > backlog + 200 and applied_deltas(collector) > deltas + 200,
        "the backlog grew while the feed kept applying deltas",
    )
    assert not sink.stats.healthy and sink.stats.last_error
    assert not any(book.state.stale for book in collector.books.values())
    assert collector.sinks[0].stats.healthy  # the lake is not held up by PostgreSQL
    proxy.up()
    await until(lambda: sink.stats.healthy and sink.stats.backlog_rows == 0, "the sink recovered")


def lake_keys(lake: Path, table: str) -> Counter[StreamKey]:
    rows = duckdb.sql(
        f"SELECT session_id, conn_id, sid, seq FROM read_parquet('{lake}/{table}/**/*.parquet')"
    ).fetchall()
    return Counter(rows)


def pg_keys(pg_url: str, table: str) -> list[StreamKey]:
    """Stream keys in insertion order."""
    with psycopg.connect(pg_url) as pg:
        return pg.execute(  # type: ignore[return-value]
            f"SELECT session_id, conn_id, sid, sequence_number FROM {table} ORDER BY id"
        ).fetchall()


async def test_postgres_cut_mid_copy_after_commit_and_down_loses_and_doubles_nothing(  # type: ignore[no-untyped-def]
    make_sim, pg_url: str, tmp_path: Path
) -> None:
    sim: SimExchange = await make_sim(SimConfig(markets=2, seed=5, rate=2_000))
    engine = create_db_engine(parse_database_url(pg_url))
    upgrade(engine)
    engine.dispose()
    lake = tmp_path / "lake"
    with PgProxy.in_front_of(pg_url) as proxy:
        collector = Collector(
            CollectorConfig(
                ws=WsConfig(url=sim.ws_url, market_tickers=tuple(sim.tickers)),
                rest_url=sim.rest_url,
                lake_dir=lake,
                database_url=proxy.url(pg_url),
                write=WriteQueueConfig(flush_interval_s=0.1),
            )
        )
        stop = asyncio.Event()
        run = asyncio.create_task(collector.run(stop))
        await until(
            lambda: (
                len(collector.sinks) == 2
                and collector.sinks[1].stats.rows_written.get("orderbook_deltas", 0) > 0
            ),
            "the first deltas reached PostgreSQL",
        )
        sink = collector.sinks[1]
        assert isinstance(sink, PostgresSink)

        # (a) Half of a CopyData reaches the server, then the connection is gone: nothing committed.
        cut = proxy.cut_mid_copy(after_copy_data=0, table="orderbook_deltas", down_after=True)
        record = await asyncio.to_thread(cut.wait)
        assert record.at == "CopyData" and record.rows > 0
        await outage_is_reported_then_recovered(collector, proxy)

        # (b) The server committed, its reply is lost: the retry must find the rows, not add them.
        skipped = sink.stats.duplicates_skipped
        cut = proxy.cut_after_commit(table="orderbook_deltas", down_after=True)
        record = await asyncio.to_thread(cut.wait)
        await outage_is_reported_then_recovered(collector, proxy)
        assert sink.stats.duplicates_skipped - skipped == record.rows > 0

        # (c) The server is down for a while: at least one reconnection is refused.
        refused = proxy.refused
        proxy.down()
        await until(lambda: proxy.refused > refused, "a reconnection was refused")
        await outage_is_reported_then_recovered(collector, proxy)

        sim.pause()
        await wait_until_books_match(sim, collector)
        stop.set()
        summary = await run
    assert [c.kind for c in proxy.cuts] == ["mid_copy", "after_commit"]

    # The lake holds exactly what the exchange sent (one connection, no feed faults).
    lake_deltas = lake_keys(lake, "deltas")
    assert max(lake_deltas.values()) == 1
    expected, _ = expected_deltas(sim)
    assert list(expected) == [1] and {(k[2], k[3]) for k in lake_deltas} == expected[1]
    assert len(lake_deltas) == applied_deltas(collector) > 5_000

    # PostgreSQL holds the same rows, each once, in stream order within each sid.
    deltas = pg_keys(pg_url, "orderbook_deltas")
    snapshots = pg_keys(pg_url, "orderbook_snapshots")
    assert Counter(deltas) == lake_deltas
    assert Counter(snapshots) == lake_keys(lake, "snapshots")
    last: dict[tuple[str, int, int], int] = {}
    for session, conn, sid, seq in deltas:
        assert seq > last.get((session, conn, sid), 0), f"seq {seq} stored out of order"
        last[session, conn, sid] = seq

    # The summary tells the truth: all written, nothing left, the rows it counts are the rows stored.
    stats = summary.sinks["postgres"]
    assert stats.healthy and stats.backlog_rows == 0 and stats.failures >= 3
    assert stats.rows_written == {"orderbook_deltas": len(deltas), "orderbook_snapshots": len(snapshots)}
