"""``SqlWriteQueue``: batched, non-blocking writes to the registry database.

The actor and the paper client enqueue rows and never await the database. A background task
writes them in batches (``batch_size`` rows or every ``flush_interval_s``) in a worker thread,
one transaction per flush, tables in the order given (so a fill never lands before its order).
Tables with an upsert key are written with INSERT ... ON CONFLICT DO UPDATE (an order's row
follows its lifecycle); several updates of one row in a batch collapse to the last. If the
database is unavailable the rows stay queued, in order, and are retried; the failure is visible
in ``stats``. A row the database refuses for what it holds (a constraint, a value it cannot
store) would fail every retry and hold back every row behind it: when a batch fails that way it
is written again row by row, and each refused row is set aside, counted in ``stats.rejected``
and logged with the database's reason, while the rest are written.

``ActionWriteQueue`` (spec §2.2: batch 50, every 2 s) logs ``trading_actions``;
``OrderWriteQueue`` logs ``rl_orders`` (upserted by id) and then ``rl_fills``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError, StatementError

from kalshi_rl.core.aio import wait_event
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
            await wait_event(self._wake, interval)
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
                if not _refuses_a_row(exc):
                    self._unhealthy(exc, len(batch))
                    return 0
                return await asyncio.to_thread(self._write_one_by_one, batch)
            self._written(batch)
            return len(batch)

    def _written(self, rows: list[tuple[str, dict[str, Any]]]) -> None:
        for name, _row in rows:
            self._pending.popleft()
            self.stats.rows_written[name] = self.stats.rows_written.get(name, 0) + 1
        self.stats.healthy = True
        self.stats.backlog_rows = len(self._pending)

    def _unhealthy(self, exc: SQLAlchemyError, kept: int) -> None:
        self.stats.healthy = False
        self.stats.failures += 1
        self.stats.last_error = _first_line(exc)
        logger.warning("database write failed (%s); %d rows kept", self.stats.last_error, kept)

    def _write_one_by_one(self, batch: list[tuple[str, dict[str, Any]]]) -> int:
        """Write ``batch`` a row at a time, in order, setting aside the rows the database refuses."""
        written = 0
        for name, row in batch:
            try:
                self._write([(name, row)])
            except SQLAlchemyError as exc:
                if not _refuses_a_row(exc):
                    self._unhealthy(exc, len(self._pending))
                    return written
                self._pending.popleft()
                self.stats.rejected[name] = self.stats.rejected.get(name, 0) + 1
                self.stats.last_error = _first_line(exc)
                self.stats.backlog_rows = len(self._pending)
                logger.error(
                    "%s row refused by the database and set aside (%s): %r", name, _first_line(exc), row
                )
                continue
            self._written([(name, row)])
            written += 1
        return written

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


def _refuses_a_row(exc: SQLAlchemyError) -> bool:
    """Whether ``exc`` refuses what a row holds (a constraint, a value the column cannot store).

    Anything else -- the database unreachable, a missing table or column -- concerns every row
    alike: the rows stay queued for the retry, none is set aside.
    """
    if isinstance(exc, (IntegrityError, DataError)):
        return True
    return isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)  # bind/convert failed


def _first_line(exc: SQLAlchemyError) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


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
