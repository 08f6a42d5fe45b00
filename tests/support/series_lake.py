"""A lake holding several markets of one series, recorded from the local exchange.

Series KXSER: three events of one market each, closing 4, 6 and 8 s after the exchange starts
(so they close and are determined one after another while recording), and one market of
another series, KXOTHER, that a series' training must never pick up.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.ingest.write_queue import WriteQueueConfig
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.sim.config import SimConfig
from kalshi_rl.sim.exchange import SimExchange
from tests.support import background


async def record_series_lake(lake: Path, seconds: float = 10.0) -> tuple[list[str], str]:
    """Record the lake; return KXSER's markets in the order they close, and the KXOTHER market."""
    sim = SimExchange(
        SimConfig(markets=1, seed=5, rate=300, series="KXSER", market_duration_s=4, record_ledger=False)
    )
    await sim.start()
    try:
        sim.create_event(duration_s=6)
        sim.create_event(duration_s=8)
        other = sim.create_event(series="KXOTHER", duration_s=20).markets[0].ticker
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
    return [t for t in sim.tickers if t.startswith("KXSER-")], other


@pytest.fixture(scope="session")
def series_lake(pytestconfig: pytest.Config) -> tuple[Path, list[str], str]:
    """(data dir, KXSER's markets in the order they close, the KXOTHER market); import it into
    a test module to use it. Recorded once per test session, in the background from its start
    (``main``; tests/support/background.py)."""
    data_dir, (ours, other) = background.recorded(pytestconfig, "series_lake")
    return data_dir, ours, other


def main() -> None:
    """``python -m tests.support.series_lake DATA_DIR``: record ``DATA_DIR/lake``, print what it holds."""
    print(json.dumps(asyncio.run(record_series_lake(Path(sys.argv[1]) / "lake"))))


if __name__ == "__main__":
    main()
