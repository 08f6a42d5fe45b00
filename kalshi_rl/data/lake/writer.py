"""``LakeWriter``: append rows to the lake so that neither a crash nor a full disk loses,
doubles or corrupts a row.

Rows first go to a per-partition *journal* (``journal.py``), an Arrow IPC stream appended with
one unbuffered write per flush: after a SIGKILL everything flushed is on disk and every
complete batch in it can be read back. An append to a partition is all or nothing, so a
caller that retries a failed append (``LakeSink``) writes each row exactly once. A journal is
*finalised* into a zstd Parquet file when it is old or big enough (rotation) or at shutdown:
the Parquet file is written to a temporary name, fsynced, then renamed into its hive
partition, so readers only ever see whole files::

    <root>/<table>/market_ticker=<T>/date=<YYYY-MM-DD>/part-<session>-<n>.parquet
    <root>/_journal/<session>/<table>/market_ticker=<T>/date=<YYYY-MM-DD>/part-<session>-<n>.arrows

A journal that cannot be finalised (ENOSPC) stays on disk and is retried on the next
rotation; at shutdown it is left in the session's journal directory. Journals left by a
process that died or by a shutdown on a full disk are finalised by ``recover_journals`` (the
next collector does it on start). A lock file marks the journals of a live session so they
are left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import shutil
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from kalshi_rl.core.errors import StorageError
from kalshi_rl.data.lake.journal import JOURNAL_DIR, LOCK_NAME, Journal, recover_journals
from kalshi_rl.data.lake.tables import TABLES, LakeTable

__all__ = ["JOURNAL_DIR", "LakeWriter", "PartitionKey", "partition_path", "recover_journals"]

logger = logging.getLogger(__name__)

PartitionKey = tuple[str, str | None, str]
"""(lake table, market ticker or None for unpartitioned tables, UTC date ``YYYY-MM-DD``)."""


def partition_path(table: LakeTable, market: str | None, date: str) -> Path:
    """The hive partition directory of ``table``'s rows for ``market`` on ``date``."""
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
        self._journals: dict[PartitionKey, Journal] = {}
        self._sealed: list[Journal] = []  # waiting to be finalised (after a failure: retried)
        self._parts = 0
        self.session_dir = root / JOURNAL_DIR / session_id
        try:
            self.session_dir.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.session_dir / LOCK_NAME, "w")  # noqa: SIM115 - held for the session
        except OSError as exc:
            raise StorageError(f"cannot write the lake at {root}: {exc.strerror}") from None
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)

    @property
    def pending_journals(self) -> list[Path]:
        """Journals of this session not finalised yet (open, or waiting after a failure)."""
        return [j.path for j in self._journals.values()] + [j.path for j in self._sealed]

    def split(self, name: str, data: pa.Table) -> list[tuple[PartitionKey, pa.Table]]:
        """Split rows of lake table ``name`` by partition, ready for ``append``."""
        if data.num_rows == 0:
            return []
        return [((name, market, date), part) for market, date, part in _split(TABLES[name], data)]

    def write(self, name: str, data: pa.Table) -> None:
        """Append ``data`` (rows of lake table ``name``) to its partitions' journals.

        Each partition is appended atomically, but if one fails the partitions before it stay
        written: a caller that retries must use ``split`` and ``append`` (as ``LakeSink`` does).
        """
        for key, part in self.split(name, data):
            self.append(key, part)

    def append(self, key: PartitionKey, data: pa.Table) -> None:
        """Append one partition's rows: all of them, or (raising OSError) none."""
        journal = self._journals.get(key)
        if journal is None:
            journal = self._open_journal(key)
        try:
            journal.append(data)
        except OSError:
            if journal.sealed:  # its torn tail could not be cut: the retry goes to a new file
                self._seal(key)
            raise
        self.rows_written[key[0]] += data.num_rows
        if journal.size_bytes >= self.rotate_bytes:
            self._seal(key)
            # The rows are safe in the journal; if it cannot be finalised now, rotate() retries
            # it and reports the error.
            with contextlib.suppress(OSError):
                self._finalize_sealed()

    def _open_journal(self, key: PartitionKey) -> Journal:
        name, market, date = key
        table = TABLES[name]
        self._parts += 1
        stem = f"part-{self.session_id}-{self._parts:05d}"
        relative = partition_path(table, market, date)
        journal = Journal(
            self.session_dir / relative / f"{stem}.arrows",
            self.root / relative / f"{stem}.parquet",
            table.schema,
        )
        self._journals[key] = journal
        return journal

    def _seal(self, key: PartitionKey) -> None:
        journal = self._journals.pop(key)
        journal.seal()
        self._sealed.append(journal)

    def _finalize_sealed(self, keep_going: bool = False) -> int:
        """Finalise sealed journals in order; return how many. Raise the first OSError (after
        trying them all with ``keep_going``); a journal stays tracked until it is finalised."""
        done = 0
        error: OSError | None = None
        for journal in list(self._sealed):
            try:
                journal.finalize()
            except OSError as exc:
                journal.finalize_failures += 1
                logger.log(
                    logging.ERROR if journal.finalize_failures == 1 else logging.DEBUG,
                    "lake: cannot finalise %s (%d rows) into %s (%s); the journal is kept",
                    journal.path,
                    journal.rows,
                    journal.final_path,
                    exc.strerror or exc,
                )
                error = error or exc
                if keep_going:
                    continue
                break
            self._sealed.remove(journal)
            self._remove_empty_dirs(journal.path.parent)
            done += 1
            self.files_written += 1
        if error is not None:
            raise error
        return done

    def _remove_empty_dirs(self, directory: Path) -> None:
        """Remove a finalised journal's partition directories as far up as they are empty: a
        session of a rolling series journals thousands of market partitions, and leaving their
        empty directories to ``close`` made it take seconds per thousand."""
        while directory != self.session_dir and self.session_dir in directory.parents:
            try:
                directory.rmdir()
            except OSError:  # not empty: another journal of the partition or table is open
                return
            directory = directory.parent

    def rotate(self, force: bool = False) -> int:
        """Finalise journals older than ``rotate_s`` (all of them with ``force``), and any
        whose finalisation failed before; return the files written. Raises the first OSError;
        a journal that failed is kept and retried on the next call."""
        now = time.monotonic()
        for key in [k for k, j in self._journals.items() if force or now - j.opened_at >= self.rotate_s]:
            self._seal(key)
        return self._finalize_sealed(keep_going=force)

    def close(self) -> None:
        """Finalise every journal and release the session.

        If some cannot be finalised (the disk is full), they are left in ``session_dir`` for
        ``recover_journals`` (the next collector start), each one logged, and the first error
        is raised once the session is released.
        """
        try:
            self.rotate(force=True)
        except OSError:
            for journal in self._sealed:
                logger.error(
                    "lake: journal %s (%d rows) left for the next start, which writes %s",
                    journal.path,
                    journal.rows,
                    journal.final_path,
                )
            raise
        else:
            shutil.rmtree(self.session_dir, ignore_errors=True)
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
