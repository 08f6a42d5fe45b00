"""Benchmark: a day of a 15-minute and a 1-minute series recorded by one `collect --series`, one run.

1. The local exchange runs in this process with two rolling series, KXBTC15M (a market every
   15 simulated minutes: 96 a day) and KXBTC1M (every minute: 1,440 a day), time compressed
   --speed times (300: a simulated day in 288 s, a 1-minute market open 0.2 s). Each market
   is created --open-delay seconds before it opens, as Kalshi lists its next markets ahead.
2. One `kalshi-rl collect --series KXBTC15M --series KXBTC1M --duration D --json` process
   (lake only; --rotate-seconds compressed with the clock: collect's default 300 s, 1 s at
   x300) is started, nothing else is done to it, and its resident memory is read from
   /proc/PID/status every 50 ms (its open files every 0.5 s).
3. The day starts at the first 15-minute roll-over after --warmup seconds (the collector is up
   and connected by then); its markets are the next 96 and 1,440 the exchange made.
   The collector runs until the day's last market has settled and been released.
4. The lake is read with the code of `kalshi-rl inspect data --series`.

Prints, per simulated hour: markets, markets recorded from a snapshot before their open to
their settled frame, lowest coverage (share of open to close with the book known) and the
collector's peak resident memory and open files; then the goals (issue 11): every market recorded open to
settle, coverage >= 99.9 % for each, 0 manual interventions (the one command ran to its end
with exit 0), memory flat (the last hour's peak within 10 % of the first hour's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from kalshi_rl.data.lake.reader import LakeReader
from kalshi_rl.data.lake.series_summary import SeriesMarket, series_markets
from kalshi_rl.sim.config import SeriesSpec, SimConfig
from kalshi_rl.sim.exchange import SimExchange
from kalshi_rl.sim.faults import FaultConfig

SERIES = (("KXBTC15M", 15), ("KXBTC1M", 1))
"""Series ticker and minutes between two of its markets."""
GOAL_COVERAGE = 0.999
GOAL_RSS_GROWTH = 0.10
SETTLE_GRACE_S = 5.0
"""The collector releases a settled market this long after it settled (DiscoveryConfig default)."""
SAMPLE_S = 0.05


@dataclass
class Hour:
    """One simulated hour: the markets that opened in it and the collector's memory."""

    markets: int = 0
    recorded: int = 0
    covered: int = 0
    lowest: float | None = None
    rss_kb: list[int] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)


def rss_kb(pid: int) -> int | None:
    """The process's resident set size in kB (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def open_fds(pid: int) -> int | None:
    """Open file descriptors of the process (the lake keeps one per partition being written)."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def percent(share: float | None) -> str:
    """A share as a percentage rounded down (a market with a hole never reads 100.00 %)."""
    return "-" if share is None else f"{math.floor(share * 10000) / 100:.2f}%"


def recorded_open_to_settle(m: SeriesMarket | None) -> bool:
    """A snapshot taken before the market opened and its settled frame are in the lake."""
    return (
        m is not None
        and m.first_ns is not None
        and m.open_time_ms is not None
        and m.first_ns <= m.open_time_ms * 1_000_000
        and m.settled_ns is not None
    )


async def run(args: argparse.Namespace) -> int:
    roll_1m_ms = round(60_000 / args.speed)  # the 15-minute series rolls 15 times slower, in step
    speed = 60_000 / roll_1m_ms
    specs = tuple(SeriesSpec(t, roll_1m_ms * minutes / 1000) for t, minutes in SERIES)
    sim = SimExchange(
        SimConfig(
            rolling=specs,
            open_delay_s=args.open_delay,
            rate=args.rate,
            seed=args.seed,
            record_ledger=False,  # a long run: only the exchange's actions (created, opened, ...)
            faults=FaultConfig(drop_every=args.drop_every),
        )
    )
    await sim.start()
    assert sim.lifecycle.roller is not None
    start_ms = sim.lifecycle.roller.series[0].start_ms
    roll_15m_ms = 15 * roll_1m_ms
    first = math.ceil((time.time() * 1000 + args.warmup * 1000 - start_ms) / roll_15m_ms)
    day_start_ms = start_ms + first * roll_15m_ms
    hour_ms = 60 * roll_1m_ms
    day_ms = round(args.hours * hour_ms)
    tail_s = args.open_delay + roll_15m_ms / 1000 + sim.config.settlement_delay_s + SETTLE_GRACE_S + 3.0
    duration_s = (day_start_ms + day_ms) / 1000 - time.time() + tail_s

    data = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="bench-series-"))
    exe = str(Path(sys.executable).parent / "kalshi-rl")
    command = [exe, "collect", *[a for t, _ in SERIES for a in ("--series", t)]]
    command += ["--ws-url", sim.ws_url, "--rest-url", sim.rest_url, "--data-dir", str(data)]
    rotate_s = args.rotate if args.rotate else max(1.0, 300 / speed)  # collect's 300 s, compressed
    command += ["--rotate-seconds", f"{rotate_s:g}", "--duration", f"{duration_s:.1f}", "--json"]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # lake only
    data.mkdir(parents=True, exist_ok=True)
    print(f"collector: {' '.join(command[1:])}", flush=True)
    with (data / "collect.json").open("w") as out, (data / "collect.err").open("w") as err:
        proc = await asyncio.create_subprocess_exec(*command, stdout=out, stderr=err, env=env)

    samples: list[tuple[float, int]] = []
    fd_samples: list[tuple[float, int]] = []
    connected_ms: float | None = None
    t_begin = time.time()
    while proc.returncode is None:
        kb = rss_kb(proc.pid)
        now = time.time()
        if kb is not None:
            samples.append((now * 1000, kb))
        if len(samples) % 10 == 0 and (fds := open_fds(proc.pid)) is not None:
            fd_samples.append((now * 1000, fds))
        if connected_ms is None and sim.sessions:
            connected_ms = now * 1000
        await asyncio.sleep(SAMPLE_S)
    await proc.wait()
    wall_s = time.time() - t_begin
    stderr = (data / "collect.err").read_text()
    children = os.times()  # the collector, reaped, is this process's only child
    cpu = children.children_user + children.children_system
    await sim.stop()

    created = sim.ledger.actions("created")
    day: dict[str, list[str]] = {}
    for ticker, minutes in SERIES:
        made = [a.target for a in created if a.target and a.target.startswith(ticker + "-")]
        count = round(args.hours * 60 / minutes)
        offset = first * 15 // minutes  # markets this series made before the day started
        day[ticker] = made[offset : offset + count]
        if len(day[ticker]) < count:
            print(f"the exchange made {len(made) - offset} markets of {ticker} in the day, not {count}")

    reader = LakeReader(data / "lake")
    hours = [Hour() for _ in range(math.ceil(args.hours))]
    per_series: dict[str, tuple[int, int, int, float | None]] = {}
    for ticker, minutes in SERIES:
        lake = {m.market_ticker: m for m in series_markets(reader, ticker)}
        recorded = covered = 0
        lowest: float | None = None
        for number, market in enumerate(day[ticker]):
            hour = hours[number * minutes // 60]
            m = lake.get(market)
            ok = recorded_open_to_settle(m)
            coverage = m.coverage if m is not None and m.coverage is not None else 0.0
            hour.markets += 1
            hour.recorded += ok
            hour.covered += coverage >= GOAL_COVERAGE
            hour.lowest = coverage if hour.lowest is None else min(hour.lowest, coverage)
            recorded += ok
            covered += coverage >= GOAL_COVERAGE
            lowest = coverage if lowest is None else min(lowest, coverage)
        per_series[ticker] = (len(day[ticker]), recorded, covered, lowest)
    for at_ms, kb in samples:
        if day_start_ms <= at_ms < day_start_ms + day_ms:
            hours[int((at_ms - day_start_ms) // hour_ms)].rss_kb.append(kb)
    for at_ms, fds in fd_samples:
        if day_start_ms <= at_ms < day_start_ms + day_ms:
            hours[int((at_ms - day_start_ms) // hour_ms)].fds.append(fds)

    lake_bytes = sum(p.stat().st_size for p in (data / "lake").rglob("*.parquet"))
    lake_files = sum(1 for _ in (data / "lake").rglob("*.parquet"))
    summary: dict[str, object] = {}
    with contextlib.suppress(OSError, ValueError):
        summary = json.loads((data / "collect.json").read_text())

    print(
        f"\nbench/series.py: {args.hours:g} simulated hours in {day_ms / 1000:.0f} s (x{speed:g}), "
        f"markets created {args.open_delay:g} s before their open, {args.rate:g} model events/s, "
        f"lake files rotated every {rotate_s:g} s, "
        + (f"connection dropped every {args.drop_every} messages" if args.drop_every else "no fault injected")
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores (shared with other work: figures are noisy), "
        f"Python {platform.python_version()}"
    )
    print(
        f"\n{'hour':>4} {'markets':>8} {'open→settle':>12} {'≥99.9%':>7} {'lowest cov.':>11} {'peak RSS':>9} {'open fds':>8}"
    )
    for i, h in enumerate(hours):
        peak = f"{max(h.rss_kb) / 1024:.1f} MB" if h.rss_kb else "-"
        files = f"{max(h.fds):,}" if h.fds else "-"
        print(
            f"{i:>4} {h.markets:>8,} {h.recorded:>12,} {h.covered:>7,} {percent(h.lowest):>11} {peak:>9} {files:>8}"
        )
    print()
    for ticker, (n, rec, cov, low) in per_series.items():
        print(
            f"{ticker:<9} {n:>5,} markets: {rec:,} recorded open to settle, "
            f"{cov:,} with coverage >= 99.9 %, lowest {percent(low)}"
        )

    total = sum(n for n, _, _, _ in per_series.values())
    all_recorded = sum(r for _, r, _, _ in per_series.values())
    all_covered = sum(c for _, _, c, _ in per_series.values())
    expected = sum(round(args.hours * 60 / minutes) for _, minutes in SERIES)
    ran_to_end = proc.returncode == 0
    interventions = 0 if ran_to_end else 1
    first_peak = max(hours[0].rss_kb) if hours[0].rss_kb else None
    last_peak = max(hours[-1].rss_kb) if hours[-1].rss_kb else None
    growth = None
    memory = "-"
    if first_peak and last_peak:
        growth = last_peak / first_peak - 1
        memory = f"{last_peak / 1024:.1f} vs {first_peak / 1024:.1f} MB ({growth:+.1%})"
    finished = summary.get("finished", {}) if isinstance(summary, dict) else {}
    print(
        f"collector: exit {proc.returncode} after {wall_s:.0f} s (--duration {duration_s:.0f}), "
        f"{cpu:.0f} CPU s ({cpu / wall_s:.0%} of a core), connected "
        f"{'-' if connected_ms is None else f'{(day_start_ms - connected_ms) / 1000:.1f} s before the day'}, "
        f"{len(finished) if isinstance(finished, dict) else '?'} markets finished in its summary; "
        f"lake {lake_files:,} files, {lake_bytes / 1e6:.1f} MB (not compacted)"
    )
    if stderr.strip():
        print("collector stderr (last lines):\n  " + "\n  ".join(stderr.strip().splitlines()[-5:]))

    goals = [
        (
            f"markets recorded open to settle: {all_recorded:,} / {expected:,} (goal: all)",
            all_recorded == expected == total,
        ),
        (
            f"markets with coverage >= 99.9 %: {all_covered:,} / {expected:,} (goal: all)",
            all_covered == expected == total,
        ),
        (
            f"manual interventions: {interventions} (goal 0: one command ran to its end, exit 0)",
            interventions == 0,
        ),
        (
            f"peak RSS, last hour vs first: {memory} (goal: within 10 %)",
            growth is not None and abs(growth) <= GOAL_RSS_GROWTH,
        ),
    ]
    print()
    for text, met in goals:
        print(f"{'MET  ' if met else 'UNMET'} {text}")
    if args.data_dir:
        print(f"lake kept at {data}")
    else:
        shutil.rmtree(data, ignore_errors=True)
    return 0 if all(met for _, met in goals) else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    parser.add_argument(
        "--speed", type=float, default=300.0, help="simulated seconds per second (default 300)"
    )
    parser.add_argument(
        "--open-delay", type=float, default=1.0, help="seconds from a market's creation to its open"
    )
    parser.add_argument("--rate", type=float, default=200.0, help="model events per second, whole exchange")
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds for the collector to start")
    parser.add_argument("--rotate", type=float, help="collect --rotate-seconds (default: 300 s compressed)")
    parser.add_argument("--drop-every", type=int, default=0, help="drop each connection after N messages")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", help="keep the lake here (default: a temporary directory)")
    parser.add_argument("--quick", action="store_true", help="2 simulated hours (about a minute)")
    args = parser.parse_args()
    if args.quick:
        args.hours = 2.0
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
