"""``LakeWriter``: append rows to the lake so that a crash never loses or corrupts a file.

Rows first go to a per-partition *journal*, an Arrow IPC stream appended with one unbuffered
write per flush: after a SIGKILL everything flushed is on disk and every complete batch in it
can be read back. A journal is *finalised* into a zstd Parquet file when it is old or big
enough (rotation) or at shutdown: the Parquet file is written to a temporary name, fsynced,
then renamed into its hive partition, so readers only ever see whole files::

    <root>/<table>/market_ticker=<T>/date=<YYYY-MM-DD>/part-<session>-<n>.parquet
    <root>/_journal/<session>/<table>/market_ticker=<T>/date=<YYYY-MM-DD>/part-<session>-<n>.arrows

Journals left by a process that died are finalised by ``recover_journals`` (the next collector
does it on start). A lock file marks the journals of a live session so they are left alone.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kalshi_rl.core.errors import StorageError
from kalshi_rl.data.lake.tables import TABLES, LakeTable

logger = logging.getLogger(__name__)

JOURNAL_DIR = "_journal"
_LOCK = "LOCK"


class _Journal:
    __slots__ = ("file", "final_path", "opened_at", "path", "rows", "writer")

    def __init__(self, path: Path, final_path: Path, schema: pa.Schema) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.final_path = final_path
        self.file: BinaryIO = open(path, "wb", buffering=0)  # noqa: SIM115 - closed in finish()
        self.writer = pa.ipc.new_stream(self.file, schema)
        self.opened_at = time.monotonic()
        self.rows = 0

    def append(self, table: pa.Table) -> None:
        self.writer.write_table(table)
        self.rows += table.num_rows

    @property
    def size_bytes(self) -> int:
        return self.file.tell()

    def finish(self) -> Path:
        self.writer.close()
        self.file.close()
        return finalize_journal(self.path, self.final_path)


def finalize_journal(journal: Path, final_path: Path) -> Path:
    """Turn a (possibly truncated) journal into a Parquet file; return the file written."""
    batches: list[pa.RecordBatch] = []
    schema: pa.Schema | None = None
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
        schema = None  # not even a schema was written: nothing was accepted into it
    if schema is not None and batches:
        final_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = final_path.with_name(f".{final_path.name}.tmp")
        pq.write_table(pa.Table.from_batches(batches, schema), tmp, compression="zstd")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final_path)
        _fsync_dir(final_path.parent)
    journal.unlink(missing_ok=True)
    return final_path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def partition_path(table: LakeTable, market: str | None, date: str) -> Path:
    if table.by_market:
        return Path(table.name) / f"market_ticker={market}" / f"date={date}"
    return Path(table.name) / f"date={date}"


def _split(table: LakeTable, data: pa.Table) -> list[tuple[str | None, str, pa.Table]]:
    """Split rows by (market, UTC date of receipt)."""
    dates = pc.strftime(data["ts_recv_ns"].cast(pa.timestamp("ns", "UTC")), format="%Y-%m-%d")
    markets = data["market_ticker"] if table.by_market else None
    first_date = dates[0].as_py()
    same_date = pc.all(pc.equal(dates, first_date)).as_py()
    if markets is None:
        if same_date:
            return [(None, first_date, data)]
        return [(None, d, data.filter(pc.equal(dates, d))) for d in pc.unique(dates).to_pylist()]
    first_market = markets[0].as_py()
    if same_date and pc.all(pc.equal(markets, first_market)).as_py():
        return [(first_market, first_date, data)]
    keyed = data.append_column("_date", dates)
    parts = []
    for key in keyed.group_by(["market_ticker", "_date"]).aggregate([]).to_pylist():
        mask = pc.and_(pc.equal(markets, key["market_ticker"]), pc.equal(dates, key["_date"]))
        parts.append((key["market_ticker"], key["_date"], data.filter(mask)))
    return parts


class LakeWriter:
    """Writes one collector session's rows into the lake (thread-confined: one caller)."""

    def __init__(
        self,
        root: Path,
        session_id: str,
        rotate_s: float = 300.0,
        rotate_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.root = root
        self.session_id = session_id
        self.rotate_s = rotate_s
        self.rotate_bytes = rotate_bytes
        self.rows_written: Counter[str] = Counter()
        self.files_written = 0
        self._journals: dict[tuple[str, str | None, str], _Journal] = {}
        self._parts = 0
        self._session_dir = root / JOURNAL_DIR / session_id
        try:
            self._session_dir.mkdir(parents=True, exist_ok=True)
            self._lock = open(self._session_dir / _LOCK, "w")  # noqa: SIM115 - held for the session
        except OSError as exc:
            raise StorageError(f"cannot write the lake at {root}: {exc.strerror}") from None
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def write(self, name: str, data: pa.Table) -> None:
        """Append ``data`` (rows of lake table ``name``) to its partitions' journals."""
        if data.num_rows == 0:
            return
        table = TABLES[name]
        for market, date, part in _split(table, data):
            journal = self._journals.get((name, market, date))
            if journal is None:
                journal = self._open_journal(table, market, date)
            journal.append(part)
            if journal.size_bytes >= self.rotate_bytes:
                self._finish((name, market, date))
        self.rows_written[name] += data.num_rows

    def _open_journal(self, table: LakeTable, market: str | None, date: str) -> _Journal:
        self._parts += 1
        stem = f"part-{self.session_id}-{self._parts:05d}"
        relative = partition_path(table, market, date)
        journal = _Journal(
            self._session_dir / relative / f"{stem}.arrows",
            self.root / relative / f"{stem}.parquet",
            table.schema,
        )
        self._journals[(table.name, market, date)] = journal
        return journal

    def _finish(self, key: tuple[str, str | None, str]) -> None:
        self._journals.pop(key).finish()
        self.files_written += 1

    def rotate(self, force: bool = False) -> int:
        """Finalise journals older than ``rotate_s`` (all of them with ``force``)."""
        now = time.monotonic()
        due = [k for k, j in self._journals.items() if force or now - j.opened_at >= self.rotate_s]
        for key in due:
            self._finish(key)
        return len(due)

    def close(self) -> None:
        """Finalise every journal and release the session."""
        self.rotate(force=True)
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()
        shutil.rmtree(self._session_dir, ignore_errors=True)


def recover_journals(root: Path) -> int:
    """Finalise journals of sessions that died (their lock is free); return files written."""
    base = root / JOURNAL_DIR
    if not base.is_dir():
        return 0
    recovered = 0
    for session_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        with open(session_dir / _LOCK, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live collector owns it
            for journal in sorted(session_dir.rglob("*.arrows")):
                relative = journal.relative_to(session_dir)
                finalize_journal(journal, root / relative.with_suffix(".parquet"))
                recovered += 1
            fcntl.flock(lock, fcntl.LOCK_UN)
        shutil.rmtree(session_dir, ignore_errors=True)
    if recovered:
        logger.info("recovered %d journal(s) left by an earlier collector", recovered)
    return recovered
