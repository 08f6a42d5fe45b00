"""The session's lake (``sim_lake`` in tests/conftest.py): 12 s of two markets of the local
exchange, recorded in real time by the real collector over a real WebSocket.

Recorded in the background while the session collects its tests (tests/support/background.py):
``python -m tests.support.sim_lake DATA_DIR`` records ``DATA_DIR/lake`` and prints the tickers.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.ingest.write_queue import WriteQueueConfig
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.sim.exchange import SimConfig, SimExchange

SECONDS = 12.0
"""Enough for 40-tick episodes of 200 ms ticks on each market (what the trading tests use)."""


async def record(lake: Path, seconds: float, seed: int = 3) -> list[str]:
    """Record ``seconds`` of two markets into ``lake``; return their tickers."""
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


def main() -> None:
    data_dir = Path(sys.argv[1])
    print(json.dumps(asyncio.run(record(data_dir / "lake", SECONDS))))


if __name__ == "__main__":
    main()
