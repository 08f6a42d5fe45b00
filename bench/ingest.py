"""Benchmark: collector ingest rate with both sinks vs a bare receive+parse loop, one run.

1. `kalshi-rl sim --rate 0` runs in its own process (flat out, paced only by TCP backpressure).
2. Baseline: a bare `websockets` client subscribes to the same channels and runs
   `parse_frame` on every frame: the ceiling for any Python consumer on this machine.
3. The real collector (Parquet lake + PostgreSQL COPY) runs for the same time.
Prints sustained msgs/s of both, their ratio (goal >= 0.4), and lost messages (goal 0):
lost = sequence gaps seen + frames received but not in the lake + deltas not in PostgreSQL.
Goal (issue 2): >= 50,000 msgs/s sustained.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

import duckdb
import psycopg
from _sim import start_sim  # bench/ is the script's directory
from websockets.asyncio.client import connect

from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.ingest.write_queue import WriteQueueConfig
from kalshi_rl.data.storage.database import create_db_engine, parse_database_url
from kalshi_rl.data.storage.migrate import upgrade
from kalshi_rl.kalshi.encode import command
from kalshi_rl.kalshi.messages import parse_frame
from kalshi_rl.kalshi.ws_client import WsConfig

PG_ADMIN = os.environ.get("KALSHI_RL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
CHANNELS = ("orderbook_delta", "trade")


async def bare_loop(url: str, tickers: list[str], seconds: float, warmup: float) -> float:
    async with connect(url, max_size=None, max_queue=4096, proxy=None) as ws:
        for i, channel in enumerate(CHANNELS, 1):
            await ws.send(command(i, "subscribe", channels=[channel], market_tickers=tickers))
        loop = asyncio.get_running_loop()
        start = loop.time()
        counted, t0 = 0, None
        async for raw in ws:
            parse_frame(raw, time.time_ns())
            now = loop.time()
            if t0 is None:
                if now - start >= warmup:
                    t0 = now
                continue
            counted += 1
            if now - t0 >= seconds:
                return counted / (now - t0)
    raise RuntimeError("connection ended early")


async def collector_run(
    info: dict[str, object], pg_url: str, lake: Path, seconds: float, warmup: float
) -> dict[str, float]:
    tickers = tuple(info["tickers"])  # type: ignore[arg-type]
    config = CollectorConfig(
        ws=WsConfig(url=str(info["ws_url"]), market_tickers=tickers, channels=CHANNELS),
        rest_url=str(info["rest_url"]),
        lake_dir=lake,
        database_url=pg_url,
        write=WriteQueueConfig(),  # the spec's defaults: batch 100, flush 1.0 s
    )
    collector = Collector(config)
    stop = asyncio.Event()
    run = asyncio.create_task(collector.run(stop))
    await asyncio.sleep(warmup)
    assert collector.feed is not None
    f0, t0 = collector.feed.frames, time.perf_counter()
    await asyncio.sleep(seconds)
    f1, t1 = collector.feed.frames, time.perf_counter()
    stop.set()
    summary = await run
    deltas = sum(s.deltas for s in summary.markets.values())
    lake_frames = duckdb.sql(f"SELECT count(*) FROM read_parquet('{lake}/frames/**/*.parquet')").fetchall()[
        0
    ][0]
    lake_deltas = duckdb.sql(f"SELECT count(*) FROM read_parquet('{lake}/deltas/**/*.parquet')").fetchall()[
        0
    ][0]
    with psycopg.connect(pg_url) as pg:
        pg_deltas = pg.execute("SELECT count(*) FROM orderbook_deltas").fetchone()[0]  # type: ignore[index]
    lost = (
        summary.ws.gaps + (summary.frames - lake_frames) + (lake_deltas - pg_deltas) + (deltas - lake_deltas)
    )
    return {
        "rate": (f1 - f0) / (t1 - t0),
        "frames": summary.frames,
        "deltas": deltas,
        "lost": lost,
        "pg_deltas": pg_deltas,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--markets", type=int, default=4)
    args = parser.parse_args()
    name = f"kalshi_rl_bench_{uuid.uuid4().hex[:8]}"
    base = PG_ADMIN.rsplit("/", 1)[0]
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    pg_url = f"{base}/{name}"
    proc, info = start_sim("--rate", "0", "--markets", str(args.markets))
    try:
        upgrade(create_db_engine(parse_database_url(pg_url)))
        bare = asyncio.run(bare_loop(str(info["ws_url"]), list(info["tickers"]), args.seconds, args.warmup))  # type: ignore[arg-type]
        with tempfile.TemporaryDirectory() as tmp:
            result = asyncio.run(collector_run(info, pg_url, Path(tmp) / "lake", args.seconds, args.warmup))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"bare websockets receive+parse : {bare:>10,.0f} msgs/s")
    print(
        f"collector, lake + PostgreSQL  : {result['rate']:>10,.0f} msgs/s  ({result['frames']:,} frames, {result['deltas']:,} deltas, {result['pg_deltas']:,} in PostgreSQL)"
    )
    print(f"ratio collector / bare        : {result['rate'] / bare:>10.2f}   (goal >= 0.40)")
    print(f"lost                          : {int(result['lost']):>10}   (goal 0)")
    print(f"sustained goal 50,000 msgs/s  : {'met' if result['rate'] >= 50_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
