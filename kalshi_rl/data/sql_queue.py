"""``SqlWriteQueue`` and ``ActionWriteQueue``: batched, non-blocking inserts into the registry DB.

The actor and the paper client enqueue dicts and never await the database. A background task
inserts them in batches (``batch_size`` rows or every ``flush_interval_s``) in a worker thread.
If the database is unavailable the rows stay queued, in order, and are retried; the failure is
visible in ``stats``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.exc import SQLAlchemyError

from kalshi_rl.data.storage.postgres_sink import SinkStats
from kalshi_rl.data.storage.schema import trading_actions

logger = logging.getLogger(__name__)


class SqlWriteQueue:
    """Batches rows for one table and inserts them off the event loop."""

    def __init__(
        self,
        engine: Engine,
        table: Table,
        batch_size: int = 100,
        flush_interval_s: float = 1.0,
        retry_interval_s: float = 2.0,
    ) -> None:
        if batch_size < 1 or flush_interval_s <= 0:
            raise ValueError("batch_size must be >= 1 and flush_interval_s > 0")
        self.engine = engine
        self.table = table
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.retry_interval_s = retry_interval_s
        self.stats = SinkStats()
        self._pending: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._lock = asyncio.Lock()

    def enqueue(self, row: dict[str, Any]) -> None:
        """Queue one row (never blocks)."""
        self._pending.append(row)
        self.stats.backlog_rows = len(self._pending)
        if len(self._pending) >= self.batch_size:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"sql-queue-{self.table.name}")

    async def _run(self) -> None:
        while not self._closing:
            interval = self.flush_interval_s if self.stats.healthy else self.retry_interval_s
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> int:
        """Insert everything queued now; return rows written (0 on failure: they stay queued)."""
        async with self._lock:
            if not self._pending:
                return 0
            batch = list(self._pending)
            try:
                await asyncio.to_thread(self._insert, batch)
            except SQLAlchemyError as exc:
                self.stats.healthy = False
                self.stats.failures += 1
                self.stats.last_error = str(exc).splitlines()[0]
                logger.warning(
                    "insert into %s failed (%s); %d rows kept",
                    self.table.name,
                    self.stats.last_error,
                    len(batch),
                )
                return 0
            for _ in batch:
                self._pending.popleft()
            self.stats.healthy = True
            self.stats.backlog_rows = len(self._pending)
            self.stats.rows_written[self.table.name] = self.stats.rows_written.get(self.table.name, 0) + len(
                batch
            )
            return len(batch)

    def _insert(self, batch: list[dict[str, Any]]) -> None:
        with self.engine.begin() as connection:
            connection.execute(self.table.insert(), batch)

    async def close(self) -> None:
        """Stop the background task and write what is left (reporting anything unwritten)."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()
        if self._pending:
            logger.error(
                "%d %s rows could not be written: %s",
                len(self._pending),
                self.table.name,
                self.stats.last_error,
            )

    @property
    def depth(self) -> int:
        return len(self._pending)


class ActionWriteQueue(SqlWriteQueue):
    """The actor's action log (spec §2.2: batch_size 50, flush_interval 2.0 s)."""

    def __init__(self, engine: Engine, batch_size: int = 50, flush_interval_s: float = 2.0) -> None:
        super().__init__(engine, trading_actions, batch_size, flush_interval_s)

    def enqueue_action(self, action: dict[str, Any]) -> None:
        self.enqueue(action)
