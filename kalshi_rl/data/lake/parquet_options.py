"""How compaction writes its Parquet files: the durable copy, so heavier settings than the
collector's (which must finalise a journal in a fraction of a second).

Measured on a recording of the local exchange (``bench/lake_bytes.py``): see that script for
the figures behind each choice.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["ROW_GROUP_BYTES", "ROW_GROUP_ROWS", "ZSTD_LEVEL", "OutputWriter"]

ZSTD_LEVEL = 9
ROW_GROUP_ROWS = 1024 * 1024
"""Rows per row group: big groups compress better; DuckDB still reads groups in parallel."""
ROW_GROUP_BYTES = 64 * 1024 * 1024
"""A row group is also cut at this many bytes of Arrow data (bounds memory on wide tables)."""


class OutputWriter:
    """Write record batches into one Parquet file, in row groups of ``ROW_GROUP_ROWS``."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.rows = 0
        self._writer = pq.ParquetWriter(
            path, schema, compression="zstd", compression_level=ZSTD_LEVEL, use_dictionary=True
        )
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._pending_bytes = 0

    def write(self, batch: pa.RecordBatch) -> None:
        """Add rows; they reach the file when a row group is full or at ``close``."""
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self._pending_bytes += batch.nbytes
        self.rows += batch.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS or self._pending_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            table = pa.Table.from_batches(self._pending, self.schema)
            self._writer.write_table(table, row_group_size=max(1, table.num_rows))
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0

    def close(self) -> None:
        """Write what is pending and the footer."""
        self._flush()
        self._writer.close()

    def __enter__(self) -> OutputWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._writer.close()
