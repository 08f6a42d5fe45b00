"""Benchmark: lake bytes per delta, as the collector writes them and after ``lake compact``, one run.

1. `kalshi-rl sim` runs in its own process with many markets.
2. The real collector records it for --seconds, rotating its files every --rotate seconds
   (a long recording's many small files; the default rotation is 300 s).
3. ``compact_lake`` merges them (its output settings: ``kalshi_rl/data/lake/parquet_options.py``).
Prints, for the deltas table, files, bytes and bytes per delta before and after (goal after
compaction: <= 12 bytes per delta, issue 11), how much of it is column data and how much the
fixed cost of each file (a market-day partition of a real market holds far more deltas than
a minute's), where the bytes go by column, and the other tables' sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
from _sim import start_sim  # bench/ is the script's directory

from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.ingest.write_queue import WriteQueueConfig
from kalshi_rl.data.lake.compact import compact_lake
from kalshi_rl.data.lake.files import table_files
from kalshi_rl.data.lake.parquet_options import ZSTD_LEVEL
from kalshi_rl.data.lake.tables import TABLES
from kalshi_rl.kalshi.ws_client import WsConfig

GOAL_BYTES_PER_DELTA = 12.0


async def record(info: dict[str, object], lake: Path, seconds: float, rotate_s: float) -> int:
    tickers = tuple(info["tickers"])  # type: ignore[arg-type]
    config = CollectorConfig(
        ws=WsConfig(url=str(info["ws_url"]), market_tickers=tickers),
        rest_url=str(info["rest_url"]),
        lake_dir=lake,
        write=WriteQueueConfig(),
        rotate_s=rotate_s,
    )
    collector = Collector(config)
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    summary = await collector.run(stop)
    return summary.frames


def table_size(lake: Path, table: str) -> tuple[int, int, int]:
    """(files, bytes, rows) of a lake table."""
    files = table_files(lake, table)
    return len(files), sum(f.stat().st_size for f in files), sum(pq.read_metadata(f).num_rows for f in files)


def column_bytes(lake: Path, table: str) -> Counter[str]:
    """Compressed bytes per column (data pages and dictionaries) over a table's files."""
    sizes: Counter[str] = Counter()
    for path in table_files(lake, table):
        meta = pq.read_metadata(path)
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for c in range(group.num_columns):
                column = group.column(c)
                sizes[column.path_in_schema] += column.total_compressed_size
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--markets", type=int, default=100)
    parser.add_argument("--rate", type=float, default=3000.0, help="model events/s over all markets")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rotate", type=float, default=10.0, help="the collector's file rotation (s)")
    parser.add_argument("--keep", type=Path, help="copy the recorded (uncompacted) lake here")
    args = parser.parse_args()
    proc, info = start_sim("--markets", str(args.markets), "--rate", str(args.rate))
    with tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp) / "lake"
        try:
            frames = asyncio.run(record(info, lake, args.seconds, args.rotate))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
        if args.keep:
            shutil.copytree(lake, args.keep)
        before = {t: table_size(lake, t) for t in TABLES}
        started = time.perf_counter()
        report = compact_lake(lake)
        took = time.perf_counter() - started
        after = {t: table_size(lake, t) for t in TABLES}
        columns = column_bytes(lake, "deltas")
    files_b, bytes_b, rows = before["deltas"]
    files_a, bytes_a, rows_a = after["deltas"]
    assert rows_a == rows, f"compaction changed the deltas' row count: {rows} -> {rows_a}"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(
        f"recorded: {args.markets} markets, {args.seconds:.0f} s, {frames:,} frames, {rows:,} deltas, "
        f"files rotated every {args.rotate:.0f} s"
    )
    print(
        f"deltas as collected : {files_b:>6,} files {bytes_b:>12,} bytes {bytes_b / rows:>7.2f} bytes/delta"
    )
    print(
        f"deltas compacted    : {files_a:>6,} files {bytes_a:>12,} bytes {bytes_a / rows:>7.2f} bytes/delta"
    )
    verdict = "met" if bytes_a / rows <= GOAL_BYTES_PER_DELTA else "NOT met"
    print(
        f"goal <= {GOAL_BYTES_PER_DELTA:.0f} bytes/delta after compaction: {verdict} (zstd level {ZSTD_LEVEL})"
    )
    data = sum(columns.values())
    print(
        f"  of which column data {data / rows:.2f} bytes/delta, per-file footers and headers "
        f"{(bytes_a - data) / files_a:,.0f} bytes a file ({rows // files_a:,} deltas a file here)"
    )
    print(
        f"compaction: {len(report.compacted):,} partitions, {report.files_before:,} -> {report.files_after:,} "
        f"files in {took:.1f} s"
    )
    print("deltas bytes/delta by column after compaction:")
    for name, size in columns.most_common():
        print(f"  {name:<16} {size / rows:>6.2f}")
    print("every table (files, bytes before -> after):")
    for name in TABLES:
        (fb, bb, n), (fa, ba, _) = before[name], after[name]
        if n:
            print(f"  {name:<12} {n:>10,} rows {fb:>6,} -> {fa:>5,} files {bb:>12,} -> {ba:>12,} bytes")


if __name__ == "__main__":
    main()
