"""A collector with PostgreSQL holds the connections it needs and no more: the engine that only
checks the schema at start is closed at once (it kept a pooled connection open for the whole run,
one idle backend per collector, ``4112ba5``), and nothing stays connected after the run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.storage.database import create_db_engine, parse_database_url
from kalshi_rl.data.storage.migrate import upgrade
from kalshi_rl.kalshi.ws_client import WsConfig
from tests.integration.test_collect_postgres_outage import until

pytestmark = pytest.mark.postgres


def backends(pg_url: str) -> int:
    """Connections to the test database other than this one."""
    with psycopg.connect(pg_url) as pg:
        row = pg.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


async def test_a_collector_holds_only_its_sinks_connection(make_sim, pg_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine = create_db_engine(parse_database_url(pg_url))
    upgrade(engine)
    engine.dispose()
    sim = await make_sim(markets=1, rate=200, record_ledger=False)
    config = CollectorConfig(
        ws=WsConfig(url=sim.ws_url, market_tickers=tuple(sim.tickers)),
        rest_url=sim.rest_url,
        lake_dir=tmp_path / "lake",
        database_url=pg_url,
    )
    collector = Collector(config)
    stop = asyncio.Event()
    run = asyncio.create_task(collector.run(stop))
    try:
        await until(
            lambda: len(collector.sinks) > 1 and sum(collector.sinks[1].stats.rows_written.values()) > 0,
            "rows in PostgreSQL",
        )
        during = await asyncio.to_thread(backends, pg_url)
    finally:
        stop.set()
        await run
    assert during == 1  # the sink's COPY connection
    assert await asyncio.to_thread(backends, pg_url) == 0
