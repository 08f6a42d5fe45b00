"""``lake compact`` in its own process, again and again, while a real collector records the
local exchange with files rotated every few tenths of a second: every row stays, once, in
stream order (the partitions it merges are the ones the collector is not writing at that
moment, and a file the collector adds afterwards is merged by a later run)."""

from __future__ import annotations

import asyncio
import itertools
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.ingest.write_queue import WriteQueueConfig
from kalshi_rl.data.lake.compact import compact_lake
from kalshi_rl.data.lake.reader import LakeReader
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.sim.exchange import SimExchange
from tests.data.lake_support import hidden_or_intent

pytestmark = pytest.mark.slow

COMPACT_LOOP = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from kalshi_rl.data.lake.compact import compact_lake

    root, stop = Path(sys.argv[1]), Path(sys.argv[2])
    while not stop.exists():
        print(len(compact_lake(root).compacted), flush=True)
        time.sleep(0.1)
    """
)
MERGING_RUNS = 5


async def test_compaction_while_a_collector_records_loses_and_reorders_nothing(
    make_sim: Callable[..., Awaitable[SimExchange]], tmp_path: Path
) -> None:
    sim = await make_sim(markets=4, seed=5, rate=400, record_ledger=False)
    lake, stop_file = tmp_path / "lake", tmp_path / "stop"
    lake.mkdir()
    collector = Collector(
        CollectorConfig(
            ws=WsConfig(url=sim.ws_url, market_tickers=tuple(sim.tickers)),
            rest_url=sim.rest_url,
            lake_dir=lake,
            write=WriteQueueConfig(flush_interval_s=0.1),
            rotate_s=0.3,  # many small files, and moments when a partition has no journal
        )
    )
    stop = asyncio.Event()
    run = asyncio.create_task(collector.run(stop))
    compactor = await asyncio.create_subprocess_exec(
        sys.executable, "-c", COMPACT_LOOP, str(lake), str(stop_file), stdout=asyncio.subprocess.PIPE
    )
    assert compactor.stdout is not None
    merging = 0
    try:
        async with asyncio.timeout(120):
            while merging < MERGING_RUNS:  # runs that merged something while the collector ran
                line = await compactor.stdout.readline()
                assert line, "the compaction loop ended"
                merging += int(line) > 0
    finally:
        stop.set()
        summary: Any = await run
        stop_file.touch()
        await compactor.communicate()
    assert compactor.returncode == 0
    compact_lake(lake)

    reader = LakeReader(lake)
    deltas = reader.query("SELECT market_ticker, segment, seq FROM deltas")  # in the files' order
    assert len(deltas) == sum(stats.deltas for stats in summary.markets.values())
    assert reader.count("frames") == summary.frames
    for market in sim.tickers:
        seqs = [seq for m, _, seq in deltas if m == market]
        assert seqs and all(a < b for a, b in itertools.pairwise(seqs)), market  # stream order, once
    assert not hidden_or_intent(lake) and not list((lake / "_journal").rglob("*.arrows"))
