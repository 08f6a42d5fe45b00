"""Replay preload: segments split at every break, and the lake and PostgreSQL agree.

Each collection runs until the breaks it is about have happened (counted by the collector),
not for a fixed time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from kalshi_rl.data.ingest.collector import Collector, CollectorConfig, CollectorSummary
from kalshi_rl.data.ingest.write_queue import WriteQueueConfig
from kalshi_rl.data.replay.lake import lake_time_range, preload_lake, replay_book
from kalshi_rl.data.replay.postgres import preload_postgres
from kalshi_rl.data.storage.database import create_db_engine, parse_database_url
from kalshi_rl.data.storage.migrate import upgrade
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.sim.exchange import SimConfig, SimExchange
from kalshi_rl.sim.faults import FaultConfig
from tests.support.waiting import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


async def collect_until(collector: Collector, *steps: tuple[str, Callable[[], bool]]) -> CollectorSummary:
    """Run ``collector`` until each step's condition held in turn (polled on its live
    counters), then stop it. A collector that ends by itself ends the wait."""
    await collector.prepare()
    stop = asyncio.Event()
    run = asyncio.create_task(collector.run(stop))
    try:
        for what, ready in steps:
            await eventually(lambda: run.done() or ready(), what)  # noqa: B023 -- awaited in the loop
    finally:
        stop.set()
    return await run


def counts(collector: Collector) -> tuple[int, int, int, int]:
    """(gaps, reconnects, snapshots, deltas) so far."""
    assert collector.ws is not None and collector.feed is not None
    markets = collector.feed.stats.values()
    return (
        collector.ws.stats.gaps,
        collector.ws.stats.reconnects,
        sum(m.snapshots for m in markets),
        sum(m.deltas for m in markets),
    )


async def test_segments_split_at_breaks_and_both_sources_agree(make_sim, pg_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(
        SimConfig(
            markets=2,
            seed=21,
            rate=3_000,
            faults=FaultConfig(gap_every=900, drop_every=4_000),
            record_ledger=False,
        )
    )
    upgrade(create_db_engine(parse_database_url(pg_url)))
    lake = tmp_path / "lake"
    collector = Collector(
        CollectorConfig(
            ws=WsConfig(url=sim.ws_url, market_tickers=tuple(sim.tickers), reconnect_initial_s=0.05),
            rest_url=sim.rest_url,
            lake_dir=lake,
            database_url=pg_url,
            write=WriteQueueConfig(flush_interval_s=0.2),
        )
    )

    # Sequence gaps (a resync each) and a dropped connection (every book again) have happened.
    def broken_and_resynced() -> bool:
        gaps, reconnects, snapshots, _ = counts(collector)
        return gaps >= 3 and reconnects >= 1 and snapshots >= 2 + gaps + 2

    summary = await collect_until(
        collector, ("three gaps and a reconnect, books resynced", broken_and_resynced)
    )
    assert summary.ws.gaps >= 3 and summary.ws.reconnects >= 1

    markets = tuple(sim.tickers)
    low, high = lake_time_range(lake, markets)
    from_lake = preload_lake(lake, markets, low, high + 1)
    snapshots = sum(m.snapshots for m in summary.markets.values())
    assert len(from_lake.segments) == snapshots > 4  # one segment per snapshot, never stitched
    assert sum(s.deltas for s in from_lake.segments) == sum(m.deltas for m in summary.markets.values())
    for segment in from_lake.segments:
        assert np.all(np.diff(segment.ts_ns) >= 0)
        assert len(segment.ts_ns) == 0 or segment.ts_ns[-1] <= segment.end_ns
        replay_book(segment, segment.end_ns).check_invariants()  # every delta applies cleanly

    from_pg = preload_postgres(pg_url, markets, None, None)
    assert [(s.market_ticker, s.segment, s.deltas) for s in from_pg.segments] == [
        (s.market_ticker, s.segment, s.deltas) for s in from_lake.segments
    ]
    for a, b in zip(from_lake.segments, from_pg.segments, strict=True):
        assert (a.yes_bids, a.no_bids) == (b.yes_bids, b.no_bids)
        assert np.array_equal(a.price_ticks, b.price_ticks) and np.array_equal(a.delta_units, b.delta_units)
        assert np.array_equal(a.is_yes, b.is_yes)
        assert np.all(np.abs(a.ts_ns - b.ts_ns) < 1_000)  # PostgreSQL keeps microseconds


async def test_a_window_selects_only_overlapping_segments(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(
        SimConfig(markets=1, seed=4, rate=2_500, faults=FaultConfig(drop_every=2_500), record_ledger=False)
    )
    lake = tmp_path / "lake"
    collector = Collector(
        CollectorConfig(
            ws=WsConfig(url=sim.ws_url, market_tickers=tuple(sim.tickers), reconnect_initial_s=0.05),
            rest_url=sim.rest_url,
            lake_dir=lake,
        )
    )
    # Two connections, the second's book with deltas: at least two segments.
    resynced_at: list[int] = []

    def reconnected() -> bool:
        _, reconnects, snapshots, deltas = counts(collector)
        resynced_at[:] = [deltas]
        return reconnects >= 1 and snapshots >= 2

    await collect_until(
        collector,
        ("a reconnect and its snapshot", reconnected),
        ("deltas after it", lambda: counts(collector)[3] > resynced_at[0]),
    )
    markets = tuple(sim.tickers)
    everything = preload_lake(lake, markets, *lake_time_range(lake, markets))
    assert len(everything.segments) >= 2
    last = everything.segments[-1]
    window = preload_lake(lake, markets, last.snapshot_ns, last.end_ns)
    # Exactly the segments with data in [start, end]: ended at or after start, began at or before end.
    overlapping = [
        s.segment
        for s in everything.segments
        if s.end_ns >= last.snapshot_ns and s.snapshot_ns <= last.end_ns
    ]
    assert [s.segment for s in window.segments] == overlapping
    assert overlapping[-1] == last.segment
    assert len(overlapping) < len(everything.segments), "the window must leave earlier segments out"
