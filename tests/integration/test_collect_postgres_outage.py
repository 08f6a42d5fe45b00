"""PostgreSQL made unavailable in the middle of a collection loses nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import duckdb
import psycopg
import pytest

from kalshi_rl.data.collector import Collector, CollectorConfig
from kalshi_rl.data.storage.database import create_db_engine, parse_database_url
from kalshi_rl.data.storage.migrate import upgrade
from kalshi_rl.data.write_queue import WriteQueueConfig
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.sim.exchange import SimConfig, SimExchange

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def set_connections(pg_url: str, allowed: bool) -> None:
    base, name = pg_url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])


async def test_postgres_outage_mid_run_loses_nothing(make_sim, pg_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(SimConfig(markets=2, seed=5, rate=2_000))
    upgrade(create_db_engine(parse_database_url(pg_url)))
    lake = tmp_path / "lake"
    collector = Collector(
        CollectorConfig(
            ws=WsConfig(url=sim.ws_url, market_tickers=tuple(sim.tickers)),
            rest_url=sim.rest_url,
            lake_dir=lake,
            database_url=pg_url,
            write=WriteQueueConfig(flush_interval_s=0.1),
        )
    )
    stop = asyncio.Event()
    run = asyncio.create_task(collector.run(stop))
    await asyncio.sleep(2.0)
    pg_sink = collector.sinks[1]
    written_before = sum(pg_sink.stats.rows_written.values())
    set_connections(pg_url, allowed=False)
    try:
        await asyncio.sleep(3.0)
        # The feed kept going, the failure is visible, and the rows wait in the backlog.
        assert not pg_sink.stats.healthy and pg_sink.stats.backlog_rows > 1_000
        assert collector.feed is not None and not collector.books[sim.tickers[0]].state.stale
        lake_sink = collector.sinks[0]
        assert lake_sink.stats.healthy
    finally:
        set_connections(pg_url, allowed=True)
    for _ in range(100):  # the sink retries every 2 s; give it a few tries
        await asyncio.sleep(0.1)
        if pg_sink.stats.healthy and pg_sink.stats.rows_written.get("orderbook_deltas", 0) > written_before:
            break
    assert pg_sink.stats.healthy, pg_sink.stats.last_error
    stop.set()
    summary = await run
    assert summary.sinks["postgres"].backlog_rows == 0
    assert written_before > 0

    lake_rows = duckdb.sql(
        f"SELECT conn_id, sid, seq FROM read_parquet('{lake}/deltas/**/*.parquet') ORDER BY seq"
    ).fetchall()
    with psycopg.connect(pg_url) as pg:
        pg_rows = pg.execute(
            "SELECT conn_id, sid, sequence_number FROM orderbook_deltas ORDER BY id"
        ).fetchall()
    assert pg_rows == lake_rows  # same rows, same order, none lost or doubled
    assert len(pg_rows) == sum(s.deltas for s in summary.markets.values()) > 5_000
