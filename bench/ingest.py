"""Benchmark: collector ingest rate with both sinks vs a bare receive+parse loop, one run.

1. `kalshi-rl sim --rate 0` runs in its own process (flat out, paced only by TCP backpressure)
   with `--markets N` markets (events of at most 100 markets each, listed over REST).
2. Baseline: a bare `websockets` client subscribes to the same channels and markets on one
   connection and runs `parse_frame` on every frame: the ceiling for any Python consumer here.
3. The real collector (Parquet lake + PostgreSQL COPY) runs for the same time on one
   connection, given the N tickers (or, with `--via-series`, finding them itself as
   `collect --series KXSIM` does).
Prints sustained msgs/s of both, their ratio (goal >= 0.4), and lost messages (goal 0):
lost = sequence gaps seen + frames received but not in the lake + deltas not in PostgreSQL.
Goals: issue 2, >= 50,000 msgs/s sustained; issue 11, ratio >= 0.40 with `--markets 200`.
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
from kalshi_rl.kalshi.rest import KalshiRestClient
from kalshi_rl.kalshi.ws_client import WsConfig

SERIES = "KXSIM"
MAX_EVENT_MARKETS = 100
"""The local exchange's limit on one event's markets: more markets are more events."""
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


def sim_options(markets: int) -> list[str]:
    """``kalshi-rl sim`` options making ``markets`` markets: one event, plus events made at once."""
    per_event = min(markets, MAX_EVENT_MARKETS)
    events = -(-markets // per_event)
    return ["--markets", str(per_event), *[a for _ in range(events - 1) for a in ("--create-event-at", "0")]]


async def list_tickers(rest_url: str, markets: int) -> list[str]:
    """The first ``markets`` markets of the series, over REST (every page of the cursor)."""
    rest = KalshiRestClient(rest_url)
    try:
        for _ in range(100):
            listed = await rest.list_markets(series_ticker=SERIES, status="open")
            if len(listed) >= markets:
                return [m.ticker for m in listed[:markets]]
            await asyncio.sleep(0.1)  # the events made at the start are not all there yet
    finally:
        await rest.aclose()
    raise RuntimeError(f"the local exchange lists {len(listed)} markets, not {markets}")


async def collector_run(
    info: dict[str, object],
    tickers: list[str],
    pg_url: str,
    lake: Path,
    seconds: float,
    warmup: float,
    via_series: bool,
) -> dict[str, float]:
    config = CollectorConfig(
        ws=WsConfig(
            url=str(info["ws_url"]), market_tickers=() if via_series else tuple(tickers), channels=CHANNELS
        ),
        rest_url=str(info["rest_url"]),
        lake_dir=lake,
        database_url=pg_url,
        write=WriteQueueConfig(),  # the spec's defaults: batch 100, flush 1.0 s
        series=(SERIES,) if via_series else (),
        rest_tokens_per_s=100_000.0,  # a local exchange: no need to pace the metadata requests
    )
    collector = Collector(config)
    await collector.prepare()
    if via_series and set(collector.books) != set(tickers):  # the same markets as the bare loop
        raise SystemExit(f"--via-series needs --markets a multiple of {MAX_EVENT_MARKETS} (or below it)")
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
        "markets": len(summary.markets),
        "subscribed": len(collector.ws.subscribed_markets()) if collector.ws else 0,
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
    parser.add_argument("--markets", type=int, default=4, help="markets on the one connection (e.g. 200)")
    parser.add_argument(
        "--via-series", action="store_true", help="the collector finds the markets itself (collect --series)"
    )
    args = parser.parse_args()
    name = f"kalshi_rl_bench_{uuid.uuid4().hex[:8]}"
    base = PG_ADMIN.rsplit("/", 1)[0]
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    pg_url = f"{base}/{name}"
    proc, info = start_sim("--rate", "0", *sim_options(args.markets))
    try:
        upgrade(create_db_engine(parse_database_url(pg_url)))
        tickers = asyncio.run(list_tickers(str(info["rest_url"]), args.markets))
        bare = asyncio.run(bare_loop(str(info["ws_url"]), tickers, args.seconds, args.warmup))
        with tempfile.TemporaryDirectory() as tmp:
            result = asyncio.run(
                collector_run(
                    info, tickers, pg_url, Path(tmp) / "lake", args.seconds, args.warmup, args.via_series
                )
            )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(
        f"markets on one connection     : {len(tickers):>10}   (collector: {int(result['markets'])} recorded, "
        f"{int(result['subscribed'])} subscribed{', found by discovery' if args.via_series else ''})"
    )
    print(f"bare websockets receive+parse : {bare:>10,.0f} msgs/s")
    print(
        f"collector, lake + PostgreSQL  : {result['rate']:>10,.0f} msgs/s  ({result['frames']:,} frames, {result['deltas']:,} deltas, {result['pg_deltas']:,} in PostgreSQL)"
    )
    print(f"ratio collector / bare        : {result['rate'] / bare:>10.2f}   (goal >= 0.40)")
    print(f"lost                          : {int(result['lost']):>10}   (goal 0)")
    print(f"sustained goal 50,000 msgs/s  : {'met' if result['rate'] >= 50_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
