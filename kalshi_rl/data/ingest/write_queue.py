"""``OrderbookWriteQueue``: the collector's non-blocking write path (spec §2.2, §3.2).

The feed enqueues row tuples (a list append: it never awaits a sink). A background task
flushes when ``batch_size`` rows are pending or every ``flush_interval_s``: it converts the rows
to Arrow off the event loop and hands the same tables to every sink, each in its own worker
thread, so a slow or failed PostgreSQL never delays the lake or the feed. Under load a flush
takes everything pending, so batches grow with the rate instead of the queue.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa

from kalshi_rl.core.aio import wait_event
from kalshi_rl.data.ingest.sinks import Sink
from kalshi_rl.data.lake.tables import TABLES, rows_to_table

logger = logging.getLogger(__name__)

Row = tuple[object, ...]


@dataclass(frozen=True)
class WriteQueueConfig:
    batch_size: int = 100
    sample_rate: int = 1  # keep 1 of N deltas (1 = keep all; replay needs 1 for exact books)
    flush_interval_s: float = 1.0

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.sample_rate < 1 or self.flush_interval_s <= 0:
            raise ValueError(f"invalid write queue settings: {self}")


class OrderbookWriteQueue:
    """Batches lake rows and flushes them to every sink in the background."""

    def __init__(self, sinks: list[Sink], config: WriteQueueConfig | None = None) -> None:
        self.config = config or WriteQueueConfig()
        self.sinks = sinks
        self.pending: dict[str, list[Row]] = {name: [] for name in TABLES}
        self.pending_rows = 0
        self.enqueued = 0
        self.sampled_out = 0
        self._delta_counter: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._executors = {sink.name: ThreadPoolExecutor(1, f"sink-{sink.name}") for sink in sinks}
        self._inflight: dict[str, list[tuple[Future[None], int]]] = {s.name: [] for s in sinks}
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False

    # -- producer side (synchronous, on the event loop) -------------------------------------

    def enqueue(self, table: str, row: Row) -> None:
        self.pending[table].append(row)
        self.pending_rows += 1
        self.enqueued += 1
        if self.pending_rows >= self.config.batch_size:
            self._wake.set()

    def keep_delta(self, market_ticker: str) -> bool:
        """Apply ``sample_rate``: return whether this market's next delta is stored."""
        if self.config.sample_rate == 1:
            return True
        count = self._delta_counter.get(market_ticker, 0)
        self._delta_counter[market_ticker] = count + 1
        if count % self.config.sample_rate == 0:
            return True
        self.sampled_out += 1
        return False

    def forget_market(self, market_ticker: str) -> None:
        """Drop what sampling remembers of a market no longer recorded."""
        self._delta_counter.pop(market_ticker, None)

    # -- flushing ---------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="orderbook-write-queue")

    async def _run(self) -> None:
        while not self._closing:
            await wait_event(self._wake, self.config.flush_interval_s)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Hand everything pending to the sinks (without waiting for them to finish)."""
        pending, self.pending = self.pending, {name: [] for name in TABLES}
        rows = self.pending_rows
        self.pending_rows = 0
        tables = await asyncio.to_thread(_build_tables, pending) if rows else {}
        for sink in self.sinks:
            inflight = [(f, n) for f, n in self._inflight[sink.name] if not f.done()]
            for future, _ in self._inflight[sink.name]:
                if future.done() and future.exception() is not None:
                    logger.error("sink %s crashed: %r", sink.name, future.exception())
            inflight.append((self._executors[sink.name].submit(sink.write, tables), rows))
            self._inflight[sink.name] = inflight

    def depth(self) -> int:
        """Rows accepted but not yet handed to every sink."""
        waiting = max((sum(n for f, n in v if not f.done()) for v in self._inflight.values()), default=0)
        return self.pending_rows + waiting

    async def close(self) -> None:
        """Flush everything, wait for every sink, and close them (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()
        for sink in self.sinks:
            executor = self._executors[sink.name]
            await asyncio.wrap_future(executor.submit(sink.close))
            executor.shutdown(wait=True)


def _build_tables(pending: dict[str, list[Row]]) -> dict[str, pa.Table]:
    return {name: rows_to_table(TABLES[name], rows) for name, rows in pending.items() if rows}
