"""``SqlWriteQueue``: batched, non-blocking writes to the registry database.

The actor and the paper client enqueue rows and never await the database. A background task
writes them in batches (``batch_size`` rows or every ``flush_interval_s``) in a worker thread,
one transaction per flush, tables in the order given (so a fill never lands before its order).
Tables with an upsert key are written with INSERT ... ON CONFLICT DO UPDATE (an order's row
follows its lifecycle); several updates of one row in a batch collapse to the last. If the
database is unavailable the rows stay queued, in order, and are retried; the failure is visible
in ``stats``.

``ActionWriteQueue`` (spec §2.2: batch 50, every 2 s) logs ``trading_actions``;
``OrderWriteQueue`` logs ``rl_orders`` (upserted by id) and then ``rl_fills``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from kalshi_rl.data.storage.postgres_sink import SinkStats
from kalshi_rl.data.storage.schema import rl_fills, rl_orders, trading_actions

logger = logging.getLogger(__name__)


class SqlWriteQueue:
    """Batches rows for one or more tables and writes them off the event loop."""

    def __init__(
        self,
        engine: Engine,
        tables: list[tuple[Table, str | None]],
        batch_size: int = 100,
        flush_interval_s: float = 1.0,
        retry_interval_s: float = 2.0,
    ) -> None:
        if batch_size < 1 or flush_interval_s <= 0:
            raise ValueError("batch_size must be >= 1 and flush_interval_s > 0")
        self.engine = engine
        self.tables = {table.name: (table, key) for table, key in tables}
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.retry_interval_s = retry_interval_s
        self.stats = SinkStats()
        self._pending: deque[tuple[str, dict[str, Any]]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._lock = asyncio.Lock()

    def enqueue(self, table: str, row: dict[str, Any]) -> None:
        """Queue one row for ``table`` (never blocks)."""
        if table not in self.tables:
            raise KeyError(f"{table} is not written by this queue")
        self._pending.append((table, row))
        self.stats.backlog_rows = len(self._pending)
        if len(self._pending) >= self.batch_size:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sql-write-queue")

    async def _run(self) -> None:
        while not self._closing:
            interval = self.flush_interval_s if self.stats.healthy else self.retry_interval_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> int:
        """Write everything queued now; return rows written (0 on failure: they stay queued)."""
        async with self._lock:
            if not self._pending:
                return 0
            batch = list(self._pending)
            try:
                await asyncio.to_thread(self._write, batch)
            except SQLAlchemyError as exc:
                self.stats.healthy = False
                self.stats.failures += 1
                self.stats.last_error = str(exc).splitlines()[0]
                logger.warning("database write failed (%s); %d rows kept", self.stats.last_error, len(batch))
                return 0
            for _ in batch:
                self._pending.popleft()
            self.stats.healthy = True
            self.stats.backlog_rows = len(self._pending)
            for name, _row in batch:
                self.stats.rows_written[name] = self.stats.rows_written.get(name, 0) + 1
            return len(batch)

    def _write(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        by_table: dict[str, list[dict[str, Any]]] = {name: [] for name in self.tables}
        for name, row in batch:
            by_table[name].append(row)
        dialect = self.engine.dialect.name
        with self.engine.begin() as connection:
            for name, rows in by_table.items():
                if not rows:
                    continue
                table, key = self.tables[name]
                if key is None:
                    connection.execute(table.insert(), rows)
                    continue
                latest = list({row[key]: row for row in rows}.values())  # last update of each row wins
                insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
                for row in latest:
                    columns = {c: row[c] for c in row if c != key}
                    connection.execute(
                        insert.values(**row).on_conflict_do_update(index_elements=[key], set_=columns)
                    )

    async def close(self) -> None:
        """Stop the background task and write what is left (reporting anything unwritten)."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()
        if self._pending:
            logger.error("%d rows could not be written: %s", len(self._pending), self.stats.last_error)

    @property
    def depth(self) -> int:
        return len(self._pending)


class ActionWriteQueue(SqlWriteQueue):
    """The actor's action log (spec §2.2: batch_size 50, flush_interval 2.0 s)."""

    def __init__(self, engine: Engine, batch_size: int = 50, flush_interval_s: float = 2.0) -> None:
        super().__init__(engine, [(trading_actions, None)], batch_size, flush_interval_s)

    def enqueue_action(self, action: dict[str, Any]) -> None:
        self.enqueue(trading_actions.name, action)


class OrderWriteQueue(SqlWriteQueue):
    """Paper orders (upserted as they change) and their fills, in that order."""

    def __init__(self, engine: Engine, batch_size: int = 50, flush_interval_s: float = 1.0) -> None:
        super().__init__(engine, [(rl_orders, "id"), (rl_fills, None)], batch_size, flush_interval_s)

    def enqueue_order(self, order: dict[str, Any]) -> None:
        self.enqueue(rl_orders.name, order)

    def enqueue_fill(self, fill: dict[str, Any]) -> None:
        self.enqueue(rl_fills.name, fill)
