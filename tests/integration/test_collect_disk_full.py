"""A full disk under a running collector: a real tmpfs filled with a ballast file.

For a minute the lake cannot write: the collector must say so (the lake sink is down, with
the error and a growing backlog), keep the books live, and when space returns write every
delta the exchange sent exactly once, with one frames row per frame received. The local
exchange's ledger is the ground truth (see ``test_collect_faults.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import duckdb
import pytest

from kalshi_rl.cli.collect_view import LiveCollectView
from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.ingest.sinks import LakeSink
from kalshi_rl.data.ingest.write_queue import WriteQueueConfig
from kalshi_rl.data.lake.tables import DELTAS, rows_to_table
from kalshi_rl.data.lake.writer import JOURNAL_DIR, LakeWriter, recover_journals
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.sim.exchange import SimConfig, SimExchange
from tests.data.test_lake_writer import delta_rows, read_deltas
from tests.integration.test_collect_faults import expected_deltas, wait_until_books_match
from tests.support.uncut import render
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

OUTAGE_S = 60.0  # "a full disk for a minute"


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of ``size`` at ``path`` (needs root) for the duration of the block."""
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        message = f"cannot mount a tmpfs at {path} (root needed): {mounted.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], check=False).returncode != 0:
            subprocess.run(["umount", "--lazy", str(path)], check=True)


def fill(disk: Path) -> Path:
    """Append to a ballast file until the disk says ENOSPC; return the ballast."""
    ballast = disk / "ballast"
    with open(ballast, "ab", buffering=0) as handle:
        for chunk in (bytes(1 << 20), bytes(4096), b"\0"):
            with pytest.raises(OSError) as full:
                write_until_it_fails(handle, chunk)
            assert full.value.errno == errno.ENOSPC
    return ballast


def write_until_it_fails(handle: BinaryIO, chunk: bytes) -> None:
    while handle.write(chunk):  # a short write, then ENOSPC, once the disk is full
        pass


async def test_a_full_disk_for_a_minute_loses_and_doubles_nothing(make_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(SimConfig(markets=2, seed=23, rate=300))
    with small_disk(tmp_path / "lake", "32m") as lake:
        collector = Collector(
            CollectorConfig(
                ws=WsConfig(url=sim.ws_url, market_tickers=tuple(sim.tickers)),
                rest_url=sim.rest_url,
                lake_dir=lake,
                write=WriteQueueConfig(flush_interval_s=0.2),
                rotate_s=5.0,
            )
        )
        await collector.prepare()
        sink = collector.sinks[0]
        assert isinstance(sink, LakeSink)
        sink.retry_interval_s = 0.5
        stop = asyncio.Event()
        run = asyncio.create_task(collector.run(stop))
        try:
            await eventually(lambda: sink.writer.files_written >= 1, "a first rotation before the outage")
            ballast = fill(lake)

            # The disk is full: the sink is reported down, the rows wait, the books stay live.
            await eventually(lambda: not sink.stats.healthy, "the lake sink to report the full disk")
            loop = asyncio.get_running_loop()
            outage_end = loop.time() + OUTAGE_S
            seqs_before = {t: collector.books[t].state.last_sequence for t in sim.tickers}
            backlog = [sink.stats.backlog_rows]
            while loop.time() < outage_end:
                await asyncio.sleep(1.0)
                fill(lake)  # keep it full, whatever the collector freed
                assert not sink.stats.healthy
                assert "No space left on device" in sink.stats.last_error
                assert not any(collector.books[t].state.stale for t in sim.tickers)
                backlog.append(sink.stats.backlog_rows)
            assert backlog == sorted(backlog) and backlog[-1] > backlog[0] + 1_000, backlog
            assert all(collector.books[t].state.last_sequence > seqs_before[t] for t in sim.tickers)
            shown = " ".join(render(LiveCollectView(collector.view()), 200, height=60).split())
            assert re.search(
                r"lake [\d,]+ rows DOWN \(OSError: [^)]*No space left on device\), backlog [1-9]",
                shown,
            ), shown

            # Space returns: the backlog goes in.
            ballast.unlink()
            await eventually(
                lambda: sink.stats.healthy and sink.stats.backlog_rows == 0, "the backlog to drain"
            )
            sim.pause()
            await wait_until_books_match(sim, collector)
        finally:
            stop.set()
            summary = await run

        lake_sink = summary.sinks["lake"]
        assert lake_sink.healthy and lake_sink.backlog_rows == 0 and lake_sink.failures >= 2
        assert not list((lake / JOURNAL_DIR).rglob("*.arrows")) and not list(lake.rglob("*.tmp"))
        con = duckdb.connect()
        rows = con.execute(
            f"SELECT conn_id, sid, seq FROM read_parquet('{lake}/deltas/**/*.parquet', hive_partitioning=true)"
        ).fetchall()
        frames = con.execute(f"SELECT count(*) FROM read_parquet('{lake}/frames/**/*.parquet')").fetchone()

    assert len(rows) == len(set(rows)), "a delta was stored twice"
    expected, _ = expected_deltas(sim)
    assert list(expected) == [1] and summary.ws.connects == 1
    assert {(sid, seq) for _, sid, seq in rows} == expected[1]  # every delta sent, none missing
    assert len(rows) == lake_sink.rows_written["deltas"] == sum(s.deltas for s in summary.markets.values())
    sent = sum(len(sim.ledger.sent(c)) for c in sim.ledger.connections())
    assert frames is not None and frames[0] == summary.frames == sent


def test_journals_that_a_full_disk_cannot_finalise_are_kept_until_space_returns(tmp_path: Path) -> None:
    with small_disk(tmp_path / "lake", "2m") as lake:
        writer = LakeWriter(lake, "s1", rotate_s=0.0)
        for i, market in enumerate(("AAA-1", "BBB-2")):
            writer.write("deltas", rows_to_table(DELTAS, delta_rows(market, 1 + 1000 * i, 1000)))
        ballast = fill(lake)
        with pytest.raises(OSError, match="No space left on device"):
            writer.rotate()  # the Parquet file cannot be written: the journal must stay
        with pytest.raises(OSError, match="No space left on device"):
            writer.close()  # nor at shutdown: both journals are left for the next start
        assert len(list((lake / JOURNAL_DIR / "s1").rglob("*.arrows"))) == 2
        assert not list(lake.rglob("*.parquet")) and not list(lake.rglob("*.tmp"))
        assert recover_journals(lake) == 0  # still full: kept, not lost
        ballast.unlink()
        assert recover_journals(lake) == 2
        assert [r[2] for r in read_deltas(lake)] == list(range(1, 2001))
        assert not (lake / JOURNAL_DIR / "s1").exists()
