"""Where flushed rows go. A sink is written from its own worker thread, one batch at a time."""

from __future__ import annotations

import logging
import time
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from kalshi_rl.data.lake.writer import LakeWriter, PartitionKey
from kalshi_rl.data.storage.postgres_sink import SinkStats

logger = logging.getLogger(__name__)


class Sink(Protocol):
    name: str
    stats: SinkStats

    def write(self, tables: dict[str, pa.Table]) -> None: ...
    def close(self) -> None: ...


class LakeSink:
    """Writes every table to the Parquet lake; if the disk fails, keeps the rows and retries.

    Rows wait in a backlog per lake partition, in arrival order, and each partition's backlog
    goes in with one all-or-nothing journal append, so a retry after a failure (a full disk)
    writes every row exactly once. While the disk fails the sink reports itself down in
    ``stats`` (the live table shows it), retries every ``retry_interval_s``, and the backlog
    grows in memory; the feed and the books are never held up.
    """

    name = "lake"

    def __init__(self, writer: LakeWriter, retry_interval_s: float = 2.0) -> None:
        self.writer = writer
        self.stats = SinkStats()
        self.retry_interval_s = retry_interval_s
        self._backlog: dict[PartitionKey, list[pa.Table]] = {}
        self._next_attempt = 0.0

    def write(self, tables: dict[str, pa.Table]) -> None:
        for name, data in tables.items():
            for key, part in self.writer.split(name, data):
                self._backlog.setdefault(key, []).append(part)
                self.stats.backlog_rows += part.num_rows
        if time.monotonic() < self._next_attempt:
            return
        try:
            for key in list(self._backlog):
                parts = self._backlog[key]
                data = parts[0] if len(parts) == 1 else pa.concat_tables(parts)
                self.writer.append(key, data)  # all or nothing: on failure the rows stay here
                del self._backlog[key]
                self.stats.backlog_rows -= data.num_rows
                self.stats.rows_written[key[0]] = self.stats.rows_written.get(key[0], 0) + data.num_rows
            self.writer.rotate()
        except OSError as exc:
            self._failed(exc)
            return
        if not self.stats.healthy:
            logger.warning("lake writes resumed after %d failed attempt(s)", self.stats.failures)
        self.stats.healthy = True

    def _failed(self, exc: OSError, left: str = "") -> None:
        error = f"{type(exc).__name__}: {exc.strerror or exc}{left}"
        if self.stats.healthy or error != self.stats.last_error:  # once per outage, not per retry
            logger.error("lake write failed (%s); %d rows kept for retry", error, self.stats.backlog_rows)
        self.stats.healthy = False
        self.stats.failures += 1
        self.stats.last_error = error
        self._next_attempt = time.monotonic() + self.retry_interval_s

    def close(self) -> None:
        """Write the backlog and finalise every journal; say precisely what could not be."""
        self._next_attempt = 0.0
        self.write({})
        try:
            self.writer.close()
        except OSError as exc:
            left = len(self.writer.pending_journals)
            self._failed(exc, f"; {left} journal(s) left in {self.writer.session_dir} for the next start")
        if self._backlog:
            logger.error(
                "lake: %d rows NOT written (%s): %s",
                self.stats.backlog_rows,
                self.stats.last_error,
                "; ".join(_describe(key, parts) for key, parts in self._backlog.items()),
            )


def _describe(key: PartitionKey, parts: list[pa.Table]) -> str:
    """'deltas AAA-1 2026-04-20: 5 rows, seq 10..14' (the seq range where the table has one)."""
    name, market, date = key
    data = pa.concat_tables(parts)
    where = f"{name} {market} {date}" if market is not None else f"{name} {date}"
    text = f"{where}: {data.num_rows} rows"
    if "seq" in data.column_names:
        bounds = pc.min_max(data["seq"]).as_py()
        text += f", seq {bounds['min']}..{bounds['max']}"
    return text
