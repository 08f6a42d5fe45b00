"""Per-partition journals: Arrow IPC streams that a failed write never leaves unreadable.

A journal is an Arrow IPC stream: the schema message, then one record-batch message per
append. An append is serialised in memory, then written unbuffered (a loop over short
writes), so after a SIGKILL every complete append is on disk. If the write fails (ENOSPC,
EIO) the file is cut back to the end of the last complete append (shrinking a file needs no
free space): an append happens entirely or not at all, and a retry appends it exactly once.
If even the cut fails, the journal is *sealed*: nothing more is appended to it, and
finalising it keeps its whole batches and drops the torn tail.

Finalising turns a journal into a zstd Parquet file: temp file, fsync, rename, fsync of the
directory, and only then is the journal deleted. If that fails (the disk is full again), the
temp file is deleted and the journal kept, to be finalised later in the session or by
``recover_journals`` when the next collector starts.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import time
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

logger = logging.getLogger(__name__)

JOURNAL_DIR = "_journal"
LOCK_NAME = "LOCK"  # held (flock) by the live session that owns a journal directory


class Journal:
    """One partition's journal file (thread-confined: one writer)."""

    __slots__ = ("_file", "final_path", "finalize_failures", "opened_at", "path", "rows", "size_bytes")

    def __init__(self, path: Path, final_path: Path, schema: pa.Schema) -> None:
        """Create the file and write the schema; on OSError no file is left behind."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.final_path = final_path
        self.opened_at = time.monotonic()
        self.rows = 0
        self.size_bytes = 0  # bytes of complete messages: where a failed append is cut back to
        self.finalize_failures = 0
        self._file: BinaryIO | None = open(path, "xb", buffering=0)  # noqa: SIM115 - closed in seal()
        try:
            self._write([schema.serialize()])
        except OSError:
            self.seal()
            path.unlink(missing_ok=True)
            raise

    @property
    def sealed(self) -> bool:
        """True once nothing more may be appended (finalising, or a failed cut-back)."""
        return self._file is None

    def append(self, data: pa.Table) -> None:
        """Append ``data`` entirely, or (raising OSError) not at all."""
        if self._file is None:
            raise ValueError(f"journal {self.path} is sealed; append to a new one")
        self._write([batch.serialize() for batch in data.to_batches()])
        self.rows += data.num_rows

    def _write(self, messages: list[pa.Buffer]) -> None:
        assert self._file is not None
        written = 0
        try:
            for message in messages:
                view = memoryview(message)
                done = 0
                while done < len(view):  # a short write is how a disk filling up shows first
                    n = self._file.write(view[done:])
                    if not n:
                        raise OSError(errno.EIO, f"a write to {self.path} made no progress")
                    done += n
                written += done
        except OSError:
            self._cut_back()
            raise
        self.size_bytes += written

    def _cut_back(self) -> None:
        """Remove the bytes of a failed append (after a short write they are a torn message)."""
        assert self._file is not None
        try:
            self._file.truncate(self.size_bytes)
            self._file.seek(self.size_bytes)
        except OSError as exc:
            logger.error(
                "journal %s: cannot cut a failed append back to %d bytes (%s); sealed, "
                "its %d whole rows are kept and the torn tail dropped when it is finalised",
                self.path,
                self.size_bytes,
                exc.strerror or exc,
                self.rows,
            )
            self.seal()

    def seal(self) -> None:
        """Close the file: the journal only waits to be finalised now (idempotent)."""
        if self._file is not None:
            file, self._file = self._file, None
            file.close()

    def finalize(self) -> Path:
        """Seal and turn the journal into its Parquet file; on OSError it is kept as it was."""
        self.seal()
        return finalize_journal(self.path, self.final_path)


def read_journal(journal: Path) -> pa.Table | None:
    """Every whole batch of a (possibly torn) journal; None if it holds no schema."""
    batches: list[pa.RecordBatch] = []
    try:
        with pa.ipc.open_stream(pa.memory_map(str(journal))) as reader:
            schema = reader.schema
            while True:
                try:
                    batches.append(reader.read_next_batch())
                except StopIteration:
                    break
                except (pa.ArrowInvalid, OSError):
                    logger.warning(
                        "journal %s ends in a partial batch; kept %d whole batches", journal, len(batches)
                    )
                    break
    except (pa.ArrowInvalid, OSError):
        return None  # not even a schema was written: nothing was accepted into it
    return pa.Table.from_batches(batches, schema)


def finalize_journal(journal: Path, final_path: Path) -> Path:
    """Turn a (possibly torn) journal into a Parquet file; return the file written.

    Idempotent: if a crash comes after the rename but before the journal is deleted, running
    it again rewrites the same rows to the same file.
    """
    table = read_journal(journal)
    if table is not None and table.num_rows:
        final_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = final_path.with_name(f".{final_path.name}.tmp")
        try:
            pq.write_table(table, tmp, compression="zstd")
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, final_path)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a half-written temp file would only hold the space
            raise
        _fsync_dir(final_path.parent)
    journal.unlink(missing_ok=True)
    return final_path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def recover_journals(root: Path) -> int:
    """Finalise journals of sessions that died or could not finish; return files written.

    Sessions whose lock is held (a live collector) are left alone. A journal that cannot be
    finalised (the disk is still full) is logged and kept for the next call.
    """
    base = root / JOURNAL_DIR
    if not base.is_dir():
        return 0
    recovered = 0
    for session_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        left: list[Path] = []
        try:
            with open(session_dir / LOCK_NAME, "a") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live collector owns it
                for journal in sorted(session_dir.rglob("*.arrows")):
                    final = root / journal.relative_to(session_dir).with_suffix(".parquet")
                    try:
                        finalize_journal(journal, final)
                        recovered += 1
                    except OSError as exc:
                        logger.error(
                            "cannot recover journal %s into %s (%s); kept for the next start",
                            journal,
                            final,
                            exc.strerror or exc,
                        )
                        left.append(journal)
                fcntl.flock(lock, fcntl.LOCK_UN)
        except OSError as exc:
            logger.error("cannot recover the journals in %s (%s)", session_dir, exc.strerror or exc)
            continue
        if not left:
            shutil.rmtree(session_dir, ignore_errors=True)
    if recovered:
        logger.info("recovered %d journal(s) left by an earlier collector", recovered)
    return recovered
