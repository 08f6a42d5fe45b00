"""``kalshi-rl lake prune --keep-days N``: delete the lake's partitions older than N days.

The spec asks for at least 7 days of retention, so a shorter ``keep_days`` is refused unless
forced. Dates are the partitions' UTC dates: with ``keep_days=N`` the days from ``today - N``
on are kept, and today is kept whatever N is. A partition a collector session still has a
journal in (a capture import writes old days) is never touched, and only the files listed
are deleted, so a file written meanwhile survives (its directory then stays).

A market's metadata (its ``markets`` rows: series, open and close times, fees; its
``lifecycle`` frames) is kept as long as any of its data is: a market recorded over more
than N days would otherwise lose what its remaining days are read with.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from kalshi_rl.core.errors import InvalidValueError
from kalshi_rl.data.lake.compact import recover_compactions
from kalshi_rl.data.lake.files import Partition, busy_partitions, fsync_dir, partitions
from kalshi_rl.data.lake.journal import recover_journals
from kalshi_rl.data.lake.lock import MaintenanceLock

__all__ = ["METADATA_TABLES", "MIN_KEEP_DAYS", "PruneReport", "check_keep_days", "prune_lake"]

logger = logging.getLogger(__name__)

MIN_KEEP_DAYS = 7
"""The spec's retention: "Data retention: 7 days minimum"."""
METADATA_TABLES = ("markets", "lifecycle")


@dataclass(frozen=True)
class Deleted:
    """One partition deleted (or, in a dry run, to be deleted)."""

    partition: Partition
    files: int
    bytes: int


@dataclass
class PruneReport:
    """What one ``prune_lake`` run did."""

    first_kept: date
    dry_run: bool
    deleted: list[Deleted] = field(default_factory=list)
    busy: list[Partition] = field(default_factory=list)
    """Old partitions left alone: a collector session has a journal in them."""
    kept_metadata: list[Partition] = field(default_factory=list)
    """Old metadata partitions kept: their market still has data in the lake."""

    @property
    def files(self) -> int:
        return sum(d.files for d in self.deleted)

    @property
    def bytes(self) -> int:
        return sum(d.bytes for d in self.deleted)


def check_keep_days(keep_days: int, force: bool) -> None:
    """Refuse a negative retention, and one under the spec's 7 days unless ``force``."""
    if keep_days < 0:
        raise InvalidValueError(f"--keep-days must be 0 or more, got {keep_days}")
    if keep_days < MIN_KEEP_DAYS and not force:
        raise InvalidValueError(
            f"--keep-days {keep_days} keeps less than the {MIN_KEEP_DAYS} days of data the spec "
            "asks for; add --force to prune anyway"
        )


def prune_lake(
    root: Path, keep_days: int, *, force: bool = False, dry_run: bool = False, today: date | None = None
) -> PruneReport:
    """Delete partitions dated before ``today - keep_days`` (UTC); see the module docstring.

    Holds the maintenance lock (StorageError if another compact or prune holds it). Unless
    ``dry_run``, first finalises dead collectors' journals and interrupted compactions.
    """
    check_keep_days(keep_days, force)
    today = today or datetime.now(UTC).date()
    report = PruneReport(first_kept=today - timedelta(days=keep_days), dry_run=dry_run)
    with MaintenanceLock(root, "lake prune"):
        if not dry_run:
            recover_journals(root)
            recover_compactions(root)
        busy = busy_partitions(root)
        every = partitions(root)
        days = {p: _day(p) for p in every}
        old = {p for p, day in days.items() if day is not None and day < report.first_kept}
        retained = {p.market for p in every if p.market is not None and (p not in old or p.relative in busy)}
        for partition in every:
            if partition not in old:
                continue
            if partition.relative in busy:
                report.busy.append(partition)
            elif partition.table in METADATA_TABLES and partition.market in retained:
                report.kept_metadata.append(partition)
            else:
                report.deleted.append(_delete(root, partition, dry_run))
    return report


def _day(partition: Partition) -> date | None:
    try:
        return date.fromisoformat(partition.date)
    except ValueError:
        return None  # not a partition the lake wrote: leave it


def _delete(root: Path, partition: Partition, dry_run: bool) -> Deleted:
    directory = root / partition.relative
    files = [directory / n for n in sorted(os.listdir(directory)) if not n.startswith(".")]
    files = [f for f in files if f.is_file()]
    size = sum(f.stat().st_size for f in files)
    if not dry_run:
        for file in files:
            file.unlink(missing_ok=True)
        parents = [directory, directory.parent] if partition.market is not None else [directory]
        for parent in parents:
            with contextlib.suppress(OSError):  # not empty: something was written meanwhile
                parent.rmdir()
        fsync_dir(root / partition.table)
        logger.info("lake: pruned %s (%d files, %d bytes)", partition, len(files), size)
    return Deleted(partition, len(files), size)
