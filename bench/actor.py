"""Benchmark: the actor's decision latency and hot-reload latency, on the real local exchange.

The local exchange runs in its own process, as an exchange would; the collector, paper client
and actor share this one, as in ``kalshi-rl paper``.

1. Record 15 s from the local exchange (real collector), train a tiny PPO model on it.
2. Paper-trade it (stochastic actions, so it places orders) with 100 ms ticks for 30 s, with
   the paper client's simulated network latency set to 0 so the figure is our own code path:
   tick -> observation -> policy -> order -> fill -> ack. Prints p50/p99 (goal p99 <= 1 ms).
3. While it trades, fine-tune and register a new version 5 times; for each, the time from the
   checkpoint file being written to the first tick the new model acts on (goal <= 1 s).
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
from _sim import start_sim  # bench/ is the script's directory

from kalshi_rl.agents.training import Trainer, TrainRequest
from kalshi_rl.data.collector import Collector, CollectorConfig
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.replay import lake_time_range, preload_lake
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.environments.contract import EnvConfig
from kalshi_rl.execution.fill_engine import FillConfig
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.trading.session import PaperSession, PaperSessionConfig

TINY = {"n_steps": 64, "batch_size": 64, "n_epochs": 1, "net_arch": [64, 64]}


async def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    root = Path(tempfile.mkdtemp())
    proc, info = start_sim("--markets", "1", "--seed", "5", "--rate", "200")
    tickers = tuple(str(t) for t in info["tickers"])  # type: ignore[attr-defined]
    collector = CollectorConfig(
        ws=WsConfig(url=str(info["ws_url"]), market_tickers=tickers),
        rest_url=str(info["rest_url"]),
        lake_dir=root / "lake",
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(15, stop.set)
    await Collector(collector).run(stop)
    engine = open_database(None, root)
    registry = ModelRegistry(engine)
    trainer = Trainer(registry, root / "models")
    data = preload_lake(root / "lake", tickers, *lake_time_range(root / "lake", tickers))
    env = EnvConfig(tick_ms=100, episode_ticks=50, fill=FillConfig(0.0, 0.0))
    request = TrainRequest(timesteps=128, hyperparameters=TINY, env=env, name="bench")
    await asyncio.to_thread(trainer.train, request, data)

    session = PaperSession(
        PaperSessionConfig(
            "bench", tickers[0], collector, Decimal(1_000_000), latency_ms=(0.0, 0.0), deterministic=False
        ),
        engine,
    )
    stop = asyncio.Event()
    await session.prepare()
    run = asyncio.create_task(session.run(stop))
    await asyncio.sleep(30)
    actor = session.actor
    assert actor is not None
    orders = actor.metrics.latency_percentiles(orders_only=True)
    decisions = actor.metrics.latency_percentiles()
    print(
        f"decisions: {decisions['n']:,} ticks of 100 ms, {actor.metrics.orders:,} orders, missed ticks {actor.metrics.missed_ticks}"
    )
    print(
        f"tick -> decision          : p50 {decisions['p50_us']:8,.0f} us   p99 {decisions['p99_us']:8,.0f} us"
    )
    print(
        f"tick -> order acknowledged: p50 {orders['p50_us']:8,.0f} us   p99 {orders['p99_us']:8,.0f} us   (goal p99 <= 1,000 us)"
    )
    own = actor.metrics.processing_percentiles()
    print(
        f"  of which the actor's own work (observation -> policy -> order -> ack): p50 {own['p50_us']:,.0f} us, p99 {own['p99_us']:,.0f} us"
    )

    reloads = []
    for i in range(5):
        fine = TrainRequest(
            timesteps=64, hyperparameters=TINY, env=env, name="bench", parent=f"bench@{i + 1}", seed=i
        )
        record = await asyncio.to_thread(trainer.train, fine, data)
        written_ns = Path(record.checkpoint_path).stat().st_mtime_ns
        deadline = time.monotonic() + 10
        while (
            not any(label == record.label for label, _ in actor.metrics.switches or [])
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.01)
        acted = [tick for label, tick in actor.metrics.switches or [] if label == record.label]
        if acted:
            reloads.append((acted[0] - written_ns) / 1e9)
    stop.set()
    await run
    proc.terminate()
    proc.wait()
    print(
        f"hot reloads: {len(reloads)}/5 picked up; checkpoint written -> new model acting: "
        f"median {np.median(reloads):.3f} s, max {max(reloads):.3f} s (goal <= 1 s); missed ticks {actor.metrics.missed_ticks}"
    )


if __name__ == "__main__":
    asyncio.run(main())
