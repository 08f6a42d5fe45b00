"""A small lake recorded from the real local exchange by the real collector (once per session)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kalshi_rl.data.collector import Collector, CollectorConfig
from kalshi_rl.data.write_queue import WriteQueueConfig
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.sim.exchange import SimConfig, SimExchange


async def record(lake: Path, seconds: float, seed: int = 3) -> list[str]:
    sim = SimExchange(SimConfig(markets=2, seed=seed, rate=400, record_ledger=False))
    await sim.start()
    try:
        collector = Collector(
            CollectorConfig(
                ws=WsConfig(url=sim.ws_url, market_tickers=tuple(sim.tickers)),
                rest_url=sim.rest_url,
                lake_dir=lake,
                write=WriteQueueConfig(flush_interval_s=0.2),
            )
        )
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        await collector.run(stop)
    finally:
        await sim.stop()
    return sim.tickers


@pytest.fixture(scope="session")
def sim_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """(data dir, tickers): about 12 s of two markets, enough for 100 ms ticks."""
    data_dir = tmp_path_factory.mktemp("simdata")
    tickers = asyncio.run(record(data_dir / "lake", 12.0))
    return data_dir, tickers
