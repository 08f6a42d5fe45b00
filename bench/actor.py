"""Benchmark: the actor's decision latency and hot-reload latency, on the real local exchange.

The local exchange runs in its own process, as an exchange would; the collector, paper client
and actor share this one, as in ``kalshi-rl paper``.

1. Record 15 s from the local exchange (real collector), train a tiny PPO model on it.
2. Paper-trade it (stochastic actions, so it places orders) with 100 ms ticks for 30 s, with
   the paper client's simulated network latency set to 0 so the figure is our own code path:
   tick -> observation -> policy -> order -> fill -> ack. Prints p50/p99 (goal p99 <= 1 ms).
3. While it trades, fine-tune and register a new version 5 times; for each, the time from the
   checkpoint file being written to the first tick the new model acts on (goal <= 1 s), and
   the ticks missed meanwhile (every grid tick is either decided or counted missed).
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from _sim import start_sim  # bench/ is the script's directory
from sqlalchemy import Engine

from kalshi_rl.agents.training import Trainer, TrainRequest
from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.replay.lake import lake_time_range, preload_lake
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.environments.contract import EnvConfig
from kalshi_rl.execution.fill_engine import FillConfig
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.trading.session import PaperSession, PaperSessionConfig

TINY = {"n_steps": 64, "batch_size": 64, "n_epochs": 1, "net_arch": [64, 64]}
ENV = EnvConfig(tick_ms=100, episode_ticks=50, fill=FillConfig(0.0, 0.0))


@dataclass
class Trained:
    """A model ``bench`` trained on a recording of the local exchange, and what made it."""

    engine: Engine
    trainer: Trainer
    data: Any  # the preloaded lake window
    tickers: tuple[str, ...]


def collector_config(info: dict[str, Any], lake: Path) -> CollectorConfig:
    tickers = tuple(str(t) for t in info["tickers"])
    return CollectorConfig(
        ws=WsConfig(url=str(info["ws_url"]), market_tickers=tickers),
        rest_url=str(info["rest_url"]),
        lake_dir=lake,
    )


async def record_and_train(root: Path, info: dict[str, Any], seconds: float = 15.0) -> Trained:
    """Record ``seconds`` of the exchange behind ``info`` into ``root``; train ``bench`` on it."""
    config = collector_config(info, root / "lake")
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    await Collector(config).run(stop)
    engine = open_database(None, root)
    trainer = Trainer(ModelRegistry(engine), root / "models")
    tickers = config.ws.market_tickers
    data = preload_lake(root / "lake", tickers, *lake_time_range(root / "lake", tickers))
    request = TrainRequest(timesteps=128, hyperparameters=TINY, env=ENV, name="bench")
    await asyncio.to_thread(trainer.train, request, data)
    return Trained(engine, trainer, data, tickers)


def paper_session(trained: Trained, config: CollectorConfig) -> PaperSession:
    """``kalshi-rl paper`` for model ``bench``: stochastic actions, no simulated latency."""
    return PaperSession(
        PaperSessionConfig(
            "bench",
            trained.tickers[0],
            config,
            Decimal(1_000_000),
            latency_ms=(0.0, 0.0),
            deterministic=False,
        ),
        trained.engine,
    )


async def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    proc, info = start_sim("--markets", "1", "--seed", "5", "--rate", "200")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            await _run(Path(tmp), info)
    finally:
        proc.terminate()
        proc.wait()


async def _run(root: Path, info: dict[str, Any]) -> None:
    trained = await record_and_train(root, info)
    session = paper_session(trained, collector_config(info, root / "lake"))
    stop = asyncio.Event()
    await session.prepare()
    run = asyncio.create_task(session.run(stop))
    await asyncio.sleep(30)
    actor = session.actor
    assert actor is not None
    orders = actor.metrics.latency_percentiles(orders_only=True)
    decisions = actor.metrics.latency_percentiles()
    print(
        f"decisions: {decisions['n']:,} ticks of 100 ms, {actor.metrics.orders:,} orders, "
        f"missed ticks {actor.metrics.missed_ticks}"
    )
    print(
        f"tick -> decision          : p50 {decisions['p50_us']:8,.0f} us   p99 {decisions['p99_us']:8,.0f} us"
    )
    print(
        f"tick -> order acknowledged: p50 {orders['p50_us']:8,.0f} us   p99 {orders['p99_us']:8,.0f} us"
        "   (goal p99 <= 1,000 us)"
    )
    own = actor.metrics.processing_percentiles()
    print(
        "  of which the actor's own work (observation -> policy -> order -> ack): "
        f"p50 {own['p50_us']:,.0f} us, p99 {own['p99_us']:,.0f} us"
    )

    missed_before = actor.metrics.missed_ticks
    reloads = []
    for i in range(5):
        fine = TrainRequest(
            timesteps=64, hyperparameters=TINY, env=ENV, name="bench", parent=f"bench@{i + 1}", seed=i
        )
        record = await asyncio.to_thread(trained.trainer.train, fine, trained.data)
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
    print(
        f"hot reloads: {len(reloads)}/5 picked up; checkpoint written -> new model acting: "
        f"median {np.median(reloads):.3f} s, max {max(reloads):.3f} s (goal <= 1 s); "
        f"ticks missed while training and reloading: {actor.metrics.missed_ticks - missed_before} "
        f"of {actor.metrics.ticks + actor.metrics.missed_ticks} grid ticks in the run"
    )


if __name__ == "__main__":
    asyncio.run(main())
