"""The session's lake (``sim_lake`` in tests/conftest.py): 12 s of two markets of the local
exchange, recorded in real time by the real collector over a real WebSocket.

Recording takes 12 s of wall time whatever the machine does, so the session starts it in a
background process before collecting the tests (``RecordingInBackground``): collection (about
12 s of imports for the whole suite) and the first tests overlap it, and the fixture waits only
for what is left. Run as ``python -m tests.support.sim_lake DATA_DIR``, it records
``DATA_DIR/lake`` and prints the tickers as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
from kalshi_rl.data.ingest.write_queue import WriteQueueConfig
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.sim.exchange import SimConfig, SimExchange

REPO = Path(__file__).resolve().parents[2]
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


class RecordingInBackground:
    """``python -m tests.support.sim_lake DATA_DIR`` running beside the test session."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._tickers: list[str] | None = None
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.sim_lake", str(data_dir)],
            cwd=REPO,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self, timeout_s: float = 120.0) -> tuple[Path, list[str]]:
        """Wait for the recording to end; ``(data dir, tickers)`` (the test fails if it failed)."""
        if self._tickers is None:
            out, err = self._proc.communicate(timeout=timeout_s)
            if self._proc.returncode != 0:
                pytest.fail(f"recording the session's lake failed (exit {self._proc.returncode}):\n{err}")
            self._tickers = json.loads(out)
        return self.data_dir, list(self._tickers)

    def cancel(self) -> None:
        """Stop a recording no test will read."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.communicate()


def main() -> None:
    data_dir = Path(sys.argv[1])
    print(json.dumps(asyncio.run(record(data_dir / "lake", SECONDS))))


if __name__ == "__main__":
    main()
