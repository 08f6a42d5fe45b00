"""``kalshi-rl lake compact``: merge the small files of finished partitions into big ones.

A collector writes a file per partition every few minutes, so a week of a busy series is
hundreds of thousands of small files: slow to list and to open, and poorly compressed. A
partition is *finished* when no collector session has a journal in it (``busy_partitions``);
its files are merged into files of at most about ``target_bytes`` each. Only the files listed
are merged and deleted, so a collector that writes a quiet market's partition again later
(a new journal after a rotation) adds a file beside the merged one, sorting after it, and a
later run merges the two.

Order: the rows of a partition are kept in the order a reader reads them, its files in name
order and each file's rows in order (``files.py``), which is the order they were written.
A compacted file is named after the first file it replaces, so it sorts where they did.

Each partition is replaced in steps that a crash can interrupt anywhere:

1. the outputs are written to hidden temporary files and fsynced;
2. an intent (``_compaction.json``: inputs, outputs, rows) is written, fsynced, renamed in;
3. each output is renamed to its final name, then the directory is fsynced;
4. each input is deleted, then the directory is fsynced;
5. the intent is deleted.

Readers resolve the intent (``readable_files``), so they see the inputs until every output is
in place and the outputs after, never both. The next run (``recover_compactions``) finishes
a partition whose outputs are all in place and rolls back any other: the inputs were only
deleted once every output was durable. A partition whose files are all compaction outputs is
left alone, so a second run changes nothing.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kalshi_rl.core.errors import StorageError
from kalshi_rl.data.lake.files import (
    INTENT_NAME,
    Intent,
    Partition,
    busy_partitions,
    fsync_dir,
    partitions,
    read_intent,
    readable_files,
)
from kalshi_rl.data.lake.journal import recover_journals
from kalshi_rl.data.lake.lock import MaintenanceLock
from kalshi_rl.data.lake.parquet_options import OutputWriter

__all__ = [
    "DEFAULT_TARGET_BYTES",
    "CompactionReport",
    "PartitionResult",
    "compact_lake",
    "recover_compactions",
]

logger = logging.getLogger(__name__)

DEFAULT_TARGET_BYTES = 128 * 1024 * 1024
_TEMP_SUFFIX = ".compacting"
_INTENT_TEMP = f".{INTENT_NAME}.tmp"
_OUTPUT = re.compile(r"^(?P<base>.+?)(?:\.c(?P<gen>\d{4})-\d{4})?\.parquet$")
_READ_BATCH_ROWS = 64 * 1024

StepHook = Callable[[str, str], None]
"""Called as ``hook(step, name)`` after each step: ``written`` (an output's temporary file),
``intent``, ``renamed`` (an output), ``removed`` (an input), ``done`` (the partition)."""


@dataclass(frozen=True)
class PartitionResult:
    """One partition compacted."""

    partition: Partition
    files_before: int
    files_after: int
    bytes_before: int
    bytes_after: int
    rows: int


@dataclass
class CompactionReport:
    """What one ``compact_lake`` run did."""

    compacted: list[PartitionResult] = field(default_factory=list)
    busy: list[Partition] = field(default_factory=list)
    """Partitions left alone: a collector session has a journal in them."""
    unchanged: int = 0
    """Finished partitions already compact (one file, or only compacted files)."""
    recovered: int = 0
    """Compactions interrupted by a crash, finished or rolled back first."""
    journals_recovered: int = 0
    """Journals of dead collector sessions finalised first."""

    @property
    def files_before(self) -> int:
        return sum(r.files_before for r in self.compacted)

    @property
    def files_after(self) -> int:
        return sum(r.files_after for r in self.compacted)

    @property
    def bytes_before(self) -> int:
        return sum(r.bytes_before for r in self.compacted)

    @property
    def bytes_after(self) -> int:
        return sum(r.bytes_after for r in self.compacted)


def compact_lake(
    root: Path,
    target_bytes: int = DEFAULT_TARGET_BYTES,
    *,
    tables: tuple[str, ...] | None = None,
    on_step: StepHook | None = None,
) -> CompactionReport:
    """Compact every finished partition of the lake at ``root`` (of ``tables``).

    Holds the maintenance lock (StorageError if another compact or prune holds it). First
    finalises the journals dead collectors left (as the next collector would) and finishes or
    rolls back compactions a crash interrupted.
    """
    if target_bytes <= 0:
        raise ValueError("target_bytes must be positive")
    report = CompactionReport()
    with MaintenanceLock(root, "lake compact"):
        report.journals_recovered = recover_journals(root)
        report.recovered = recover_compactions(root)
        busy = busy_partitions(root)
        for partition in partitions(root, tables):
            if partition.relative in busy:
                report.busy.append(partition)
                continue
            result = _compact_partition(root / partition.relative, partition, target_bytes, on_step)
            if result is None:
                report.unchanged += 1
            else:
                report.compacted.append(result)
    return report


def recover_compactions(root: Path) -> int:
    """Finish or roll back every compaction a crash interrupted; return how many.

    Call it only while holding the maintenance lock: a live compaction looks interrupted.
    """
    return sum(_recover(root / p.relative) for p in partitions(root))


def _recover(directory: Path) -> bool:
    """Finish (all outputs in place) or roll back one partition's interrupted compaction."""
    try:
        names = set(os.listdir(directory))
    except FileNotFoundError:
        return False
    leftovers = {n for n in names if n.endswith(_TEMP_SUFFIX) or n == _INTENT_TEMP}
    intent = read_intent(directory) if INTENT_NAME in names else None
    if intent is None and not leftovers:
        return False
    if intent is not None:
        finish = names.issuperset(intent.outputs)
        for name in intent.inputs if finish else intent.outputs:
            (directory / name).unlink(missing_ok=True)
        fsync_dir(directory)
        logger.warning(
            "lake: %s an interrupted compaction of %s",
            "finished" if finish else "rolled back",
            directory,
        )
    for name in leftovers:
        (directory / name).unlink(missing_ok=True)
    (directory / INTENT_NAME).unlink(missing_ok=True)
    fsync_dir(directory)
    return True


def _compact_partition(
    directory: Path, partition: Partition, target_bytes: int, hook: StepHook | None
) -> PartitionResult | None:
    files = readable_files(directory)
    if len(files) < 2 or all(_generation(f.name) for f in files):
        return None
    sizes = [f.stat().st_size for f in files]
    metadata = [pq.read_metadata(f) for f in files]
    rows = sum(m.num_rows for m in metadata)
    outputs = max(1, min(rows, math.ceil(sum(sizes) / target_bytes)))
    if outputs >= len(files):
        return None  # its files are already about the target size
    try:
        schema = pa.unify_schemas([m.schema.to_arrow_schema() for m in metadata])
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        logger.warning("lake: %s not compacted: its files' schemas conflict (%s)", partition, exc)
        return None
    gen = 1 + max(_generation(f.name) for f in files)
    base = _base(files[0].name)
    names = [f"{base}.c{gen:04d}-{k:04d}.parquet" for k in range(outputs)]
    intent = Intent(tuple(f.name for f in files), tuple(names), rows)
    step = hook or (lambda _step, _name: None)
    try:
        _write_outputs(directory, files, schema, names, rows, step)
        _commit(directory, intent, step)
    except BaseException:
        with contextlib.suppress(OSError, StorageError):
            _recover(directory)  # roll back (or, past the renames, finish) now
        raise
    return PartitionResult(
        partition,
        len(files),
        outputs,
        sum(sizes),
        sum((directory / n).stat().st_size for n in names),
        rows,
    )


def _generation(name: str) -> int:
    """The compaction generation of a file's name; 0 for a collector's file."""
    match = _OUTPUT.match(name)
    return int(match["gen"]) if match and match["gen"] else 0


def _base(name: str) -> str:
    match = _OUTPUT.match(name)
    return match["base"] if match else name.removesuffix(".parquet")


def _batches(files: list[Path], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Every row of ``files`` in order, as batches of ``schema`` (a missing column is null)."""
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=_READ_BATCH_ROWS, use_threads=False):
            if batch.schema.equals(schema):
                yield batch
                continue
            columns = [
                batch.column(f.name).cast(f.type)
                if f.name in batch.schema.names
                else pa.nulls(len(batch), f.type)
                for f in schema
            ]
            yield pa.RecordBatch.from_arrays(columns, schema=schema)


def _write_outputs(
    directory: Path, files: list[Path], schema: pa.Schema, names: list[str], rows: int, step: StepHook
) -> None:
    """Write the rows of ``files`` into ``len(names)`` temporary files of equal row counts."""
    per_file = math.ceil(rows / len(names))
    written = 0
    batches = _batches(files, schema)
    pending: pa.RecordBatch | None = None
    for name in names:
        temp = directory / f".{name}{_TEMP_SUFFIX}"
        quota = min(per_file, rows - written)
        with OutputWriter(temp, schema) as out:
            while quota:
                if pending is None:
                    pending = next(batches, None)
                    if pending is None:
                        break
                take = min(quota, pending.num_rows)
                out.write(pending.slice(0, take))
                pending = pending.slice(take) if take < pending.num_rows else None
                quota -= take
                written += take
        _fsync(temp)
        step("written", name)
    if written != rows or pending is not None or next(batches, None) is not None:
        raise StorageError(f"compacting {directory}: read {written} rows, the files' footers say {rows}")


def _commit(directory: Path, intent: Intent, step: StepHook) -> None:
    intent_temp = directory / _INTENT_TEMP
    intent_temp.write_text(intent.to_json())
    _fsync(intent_temp)
    os.replace(intent_temp, directory / INTENT_NAME)
    fsync_dir(directory)
    step("intent", INTENT_NAME)
    for name in intent.outputs:
        final = directory / name
        if final.exists():
            raise StorageError(f"compacting {directory}: {name} already exists")
        os.rename(directory / f".{name}{_TEMP_SUFFIX}", final)
        step("renamed", name)
    fsync_dir(directory)  # every output durable before any input goes
    for name in intent.inputs:
        (directory / name).unlink()
        step("removed", name)
    fsync_dir(directory)
    (directory / INTENT_NAME).unlink()
    fsync_dir(directory)
    step("done", directory.name)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
