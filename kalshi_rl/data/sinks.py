"""Where flushed rows go. A sink is written from its own worker thread, one batch at a time."""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Protocol

import pyarrow as pa

from kalshi_rl.data.lake.writer import LakeWriter
from kalshi_rl.data.storage.postgres_sink import SinkStats

logger = logging.getLogger(__name__)


class Sink(Protocol):
    name: str
    stats: SinkStats

    def write(self, tables: dict[str, pa.Table]) -> None: ...
    def close(self) -> None: ...


class LakeSink:
    """Writes every table to the Parquet lake; keeps and retries batches if the disk fails."""

    name = "lake"

    def __init__(self, writer: LakeWriter, retry_interval_s: float = 2.0) -> None:
        self.writer = writer
        self.stats = SinkStats()
        self._backlog: deque[dict[str, pa.Table]] = deque()
        self._retry_interval_s = retry_interval_s
        self._next_attempt = 0.0

    def write(self, tables: dict[str, pa.Table]) -> None:
        if any(t.num_rows for t in tables.values()):
            self._backlog.append(tables)
            self.stats.backlog_rows += sum(t.num_rows for t in tables.values())
        if time.monotonic() < self._next_attempt:
            return
        try:
            while self._backlog:
                batch = self._backlog[0]
                for name, data in batch.items():
                    self.writer.write(name, data)
                    batch = {k: v for k, v in batch.items() if k != name}
                    self._backlog[0] = batch  # a retry must not write a table twice
                    self.stats.backlog_rows -= data.num_rows
                    self.stats.rows_written[name] = self.stats.rows_written.get(name, 0) + data.num_rows
                self._backlog.popleft()
            self.writer.rotate()
            self.stats.healthy = True
        except OSError as exc:
            self.stats.healthy = False
            self.stats.failures += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc.strerror or exc}"
            self._next_attempt = time.monotonic() + self._retry_interval_s
            logger.error(
                "lake write failed (%s); %d rows kept for retry",
                self.stats.last_error,
                self.stats.backlog_rows,
            )

    def close(self) -> None:
        self._next_attempt = 0.0
        self.write({})
        self.writer.close()
