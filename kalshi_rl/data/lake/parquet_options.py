"""How compaction writes its Parquet files: the durable copy, so heavier settings than the
collector's (which must finalise a journal in a fraction of a second).

Measured on a minute of 100 markets of the local exchange (``bench/lake_bytes.py``, deltas
table, bytes per delta with ~1,500 deltas per partition): the collector's files 83; merged
with plain zstd 22; zstd level 9 with delta-coded stream columns 16.6; with byte-stream-split
sizes and dictionary-coded prices 13.4; statistics only where readers filter 13.0; no Arrow
schema in the footer 12.2 (11.4 of column data, the rest each file's fixed ~1.2 KB). With
~16,000 deltas per partition: 10.2. zstd level 19 saved under 0.2 more for 3.5 times the time.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["ROW_GROUP_BYTES", "ROW_GROUP_ROWS", "ZSTD_LEVEL", "OutputWriter", "writer_options"]

ZSTD_LEVEL = 9
ROW_GROUP_ROWS = 1024 * 1024
"""Rows per row group: big groups compress better; DuckDB still reads groups in parallel."""
ROW_GROUP_BYTES = 64 * 1024 * 1024
"""A row group is also cut at this many bytes of Arrow data (bounds memory on wide tables)."""

DELTA_CODED = frozenset({"ts_recv_ns", "ts_exchange_ms", "seq"})
"""Integers that grow slowly through a partition: their differences take a few bits."""
SPLIT_CODED = frozenset({"delta_units", "size_after", "count_units"})
"""Sizes: their high bytes are mostly zero, which byte-stream-split lines up for zstd."""
WITH_STATISTICS = frozenset({"ts_recv_ns", "segment"})
"""Columns readers filter on (time windows, segments): min/max let DuckDB skip row groups."""


def writer_options(schema: pa.Schema) -> dict[str, object]:
    """``pq.ParquetWriter`` keyword arguments for a table of ``schema``."""
    integer = {f.name for f in schema if pa.types.is_integer(f.type)}
    encoding = dict.fromkeys(DELTA_CODED & integer, "DELTA_BINARY_PACKED")
    encoding |= dict.fromkeys(SPLIT_CODED & integer, "BYTE_STREAM_SPLIT")
    return {
        "compression": "zstd",
        "compression_level": ZSTD_LEVEL,
        "use_dictionary": [f.name for f in schema if f.name not in encoding],
        "column_encoding": encoding or None,
        "write_statistics": [f.name for f in schema if f.name in WITH_STATISTICS] or False,
        # No copy of the Arrow schema in the footer (~1 KB a file): the lake's types (integers,
        # strings, booleans, lists) read back the same from the Parquet types alone.
        "store_schema": False,
    }


class OutputWriter:
    """Write record batches into one Parquet file, in row groups of ``ROW_GROUP_ROWS``."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.rows = 0
        self._writer = pq.ParquetWriter(path, schema, **writer_options(schema))
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
